import { goText, goTime } from './go-format.js';
import type { NodeMetadata, NotificationData } from './notification.js';

/** NTH's default webhook body (a Slack-compatible message), `webhookTemplateDefault` in its `pkg/config`. */
export const defaultWebhookTemplate =
  '{"text":"[NTH][Instance Interruption] EventID: {{ .EventID }} - Kind: {{ .Kind }} - Instance: {{ .InstanceID }} - Node: {{ .NodeName }} - Description: {{ .Description }} - Start Time: {{ .StartTime }}"}';

type Variable = keyof NotificationData | keyof NodeMetadata;

/** Every field of NTH's template data (`webhook.combinedDrainData`), each filled by tnth. */
const knownVariables: readonly Variable[] = [
  // monitor.InterruptionEvent
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
  // ec2metadata.NodeMetadata
  'AccountId',
  'InstanceLifeCycle',
  'PublicHostname',
  'PublicIP',
  'LocalHostname',
  'LocalIP',
  'AvailabilityZone',
  'Region',
];

/** `time.Time` fields: Go prints them as `2026-12-01 23:15:10 +0000 UTC`. */
const timeVariables: ReadonlySet<string> = new Set<Variable>(['StartTime', 'EndTime']);

/** `{{ .Name }}` with Go's trim markers: `{{- ` eats the space before it, ` -}}` the space after it. */
const variableAction = /(\s*)\{\{(-\s)?\s*\.([A-Za-z0-9_]+)\s*?(?:\s-\}\}\s*|\s*\}\})/g;
const anyAction = /\{\{.*?\}\}/gs;
const singleAction = /^\{\{(?:-\s)?\s*\.([A-Za-z0-9_]+)\s*(?:\s-)?\}\}$/;

/** Levenshtein distance, case-insensitive: how far a misspelt variable is from a known one. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, i) => i);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[y.length]!;
}

/** The supported variable nearest to `name` (Go's field names are case-sensitive: `.InstanceId` is not `.InstanceID`). */
export function nearestVariable(name: string): string {
  const lower = name.toLowerCase();
  // A part of a name (`.Zone`, `.IP`) points at the variable that contains it, before spelling does.
  const containing = knownVariables.filter((v) => v.toLowerCase().includes(lower) || lower.includes(v.toLowerCase()));
  const candidates = containing.length > 0 ? containing : knownVariables;
  return [...candidates].sort((a, b) => distance(name, a) - distance(name, b))[0]!;
}

/**
 * Checks a webhook template at start: it may use NTH's variables as `{{ .Name }}`. Go template
 * actions beyond that (`range`, `if`, pipelines, sprig functions) are not supported and are refused
 * by name, rather than sent half-rendered; an unknown variable is refused naming the nearest one.
 */
export function templateProblems(template: string): string[] {
  const problems: string[] = [];
  for (const action of template.match(anyAction) ?? []) {
    const match = singleAction.exec(action);
    if (!match) problems.push(`unsupported template action ${action}: only {{ .Variable }} is supported`);
    else if (!knownVariables.includes(match[1] as Variable)) {
      problems.push(
        `unknown template variable .${match[1]} in ${action}: the nearest supported one is .${nearestVariable(match[1]!)}`,
      );
    }
  }
  return problems;
}

/** A variable's value as NTH's template prints it; a field tnth has no value for is Go's zero value. */
function goValue(data: NotificationData, name: Variable): string {
  const value = data[name];
  if (timeVariables.has(name)) return typeof value === 'string' && value !== '' ? goTime(value) : '';
  return goText(value);
}

/**
 * Substitutes the variables as Go's text/template does. Inside a JSON template, values are escaped to
 * stay valid JSON: NTH inserts them raw, so a value with a quote or a newline (its descriptions end in
 * " \n") makes its body invalid JSON, which a strict JSON parser refuses. Otherwise the body is NTH's
 * byte for byte.
 */
export function renderTemplate(template: string, data: NotificationData): string {
  const json = template.trimStart().startsWith('{') || template.trimStart().startsWith('[');
  return template.replace(variableAction, (_action, before: string, trimBefore: string | undefined, name: string) => {
    const text = goValue(data, name as Variable);
    return `${trimBefore ? '' : before}${json ? JSON.stringify(text).slice(1, -1) : text}`;
  });
}
