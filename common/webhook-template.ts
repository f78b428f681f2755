import type { NotificationData } from './notification.js';

/** NTH's default webhook body (a Slack-compatible message). */
export const defaultWebhookTemplate =
  '{"text":"[NTH][Instance Interruption] EventID: {{ .EventID }} - Kind: {{ .Kind }} - Instance: {{ .InstanceID }} - Node: {{ .NodeName }} - Description: {{ .Description }} - Start Time: {{ .StartTime }}"}';

const variable = /\{\{-?\s*\.([A-Za-z]+)\s*-?\}\}/g;
const anyAction = /\{\{.*?\}\}/gs;

const knownVariables: ReadonlySet<string> = new Set<keyof NotificationData>([
  'EventID',
  'Kind',
  'Monitor',
  'Description',
  'State',
  'AutoScalingGroupName',
  'NodeName',
  'NodeLabels',
  'Pods',
  'InstanceID',
  'ProviderID',
  'InstanceType',
  'IsManaged',
  'StartTime',
  'EndTime',
  'NodeProcessed',
  'InProgress',
]);

/**
 * Checks a webhook template at start: it may use NTH's variables as `{{ .Name }}`. Go template
 * actions beyond that (`range`, `if`, pipelines) are not supported and are refused by name, rather
 * than sent half-rendered.
 */
export function templateProblems(template: string): string[] {
  const problems: string[] = [];
  for (const action of template.match(anyAction) ?? []) {
    const match = /^\{\{-?\s*\.([A-Za-z]+)\s*-?\}\}$/.exec(action);
    if (!match) problems.push(`unsupported template action ${action}: only {{ .Variable }} is supported`);
    else if (!knownVariables.has(match[1]!)) problems.push(`unknown template variable .${match[1]} in ${action}`);
  }
  return problems;
}

/** Go's fmt of a value inside text (maps as map[k:v], slices as [a b]), as NTH's templates print them. */
function goText(value: NotificationData[keyof NotificationData]): string {
  if (Array.isArray(value)) return `[${value.join(' ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => a.localeCompare(b));
    return `map[${entries.map(([k, v]) => `${k}:${v}`).join(' ')}]`;
  }
  return String(value);
}

/** Substitutes the variables; inside a JSON template, values are escaped to stay valid JSON. */
export function renderTemplate(template: string, data: NotificationData): string {
  const json = template.trimStart().startsWith('{') || template.trimStart().startsWith('[');
  return template.replace(variable, (_action, name: string) => {
    const text = goText(data[name as keyof NotificationData]);
    return json ? JSON.stringify(text).slice(1, -1) : text;
  });
}
