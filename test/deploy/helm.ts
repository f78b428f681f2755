// The chart as Helm renders it, and a server-side dry run of what it renders: what the chart's tests
// share.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { waitFor } from '../helpers/aws.js';
import { deployTools, root, runTool } from './tools.js';

export const chart = join(root, 'deploy/helm/tnth');
/** Every value set (deploy/helm/tnth/ci/full-values.yaml). */
export const fullValues = join(chart, 'ci/full-values.yaml');
export const queueUrl = 'https://sqs.us-east-1.amazonaws.com/123456789012/tnth-interruptions';
/** The stack's ServiceAccount namespace: it exists there, so a dry run can place objects in it. */
export const namespace = 'tnth';
const release = `chart-${randomBytes(3).toString('hex')}`;

export async function helm(args: string[]): Promise<string> {
  return runTool((await deployTools()).helm, args);
}

/** `helm template` of the chart with aws.queueURL and `sets` (`--set` each). */
export async function render(sets: string[] = [], { queue = true } = {}): Promise<KubernetesObject[]> {
  const args = ['template', release, chart, '--namespace', namespace];
  for (const set of ['clusterName=prod-a', ...(queue ? [`aws.queueURL=${queueUrl}`] : []), ...sets])
    args.push('--set', set);
  // Parsed as written: a typed loader (client-node's loadAllYaml) would drop misspelled fields unseen.
  const documents = parseAllDocuments(await helm(args));
  for (const document of documents) assert.deepEqual(document.errors, [], 'helm template printed valid YAML');
  return documents.map((d) => d.toJS() as KubernetesObject | null).filter((o): o is KubernetesObject => !!o);
}

/** The chart's alert rules (its PrometheusRule's spec.groups), the DLQ rule included, with `sets`. */
export async function chartAlertGroups(sets: string[] = []): Promise<unknown[]> {
  const objects = await render([
    'prometheusRule.enabled=true',
    'prometheusRule.deadLetterQueue.queueName=tnth-dlq',
    ...sets,
  ]);
  const rule = objects.find((o) => o.kind === 'PrometheusRule') as KubernetesObject & { spec: { groups: unknown[] } };
  assert.ok(rule, 'a PrometheusRule');
  return rule.spec.groups;
}

/** The API path that creates `object` (the kinds this chart renders, and the pods of its Deployments). */
function createPath(object: KubernetesObject): string {
  const plural: Record<string, string> = {
    Deployment: 'deployments',
    Pod: 'pods',
    PodDisruptionBudget: 'poddisruptionbudgets',
    Service: 'services',
    ServiceAccount: 'serviceaccounts',
    ClusterRole: 'clusterroles',
    ClusterRoleBinding: 'clusterrolebindings',
    PrometheusRule: 'prometheusrules',
    ServiceMonitor: 'servicemonitors',
    CustomResourceDefinition: 'customresourcedefinitions',
  };
  const resource = plural[object.kind!];
  assert.ok(resource, `no API path known for ${object.kind}`);
  const group = object.apiVersion!.includes('/') ? `/apis/${object.apiVersion}` : `/api/${object.apiVersion}`;
  const scope = object.metadata?.namespace ? `/namespaces/${object.metadata.namespace}` : '';
  return `${group}${scope}/${resource}`;
}

export interface DryRun {
  status: number;
  body: string;
  /** The messages of the response's `Warning` headers (admission warnings, deprecations), one each. */
  warnings: string[];
}

/** POSTs the object as written with dryRun=All and fieldValidation=Strict: validated, admitted, not stored. */
export async function dryRun(kubeconfig: KubeConfig, object: KubernetesObject): Promise<DryRun> {
  return send(kubeconfig, 'POST', `${createPath(object)}?dryRun=All&fieldValidation=Strict`, object);
}

/** One request to the API server with the body as written (a typed client drops fields it does not know). */
async function send(kubeconfig: KubeConfig, method: string, path: string, body?: unknown): Promise<DryRun> {
  const server = new URL(kubeconfig.getCurrentCluster()!.server);
  const options: RequestOptions = {
    host: server.hostname,
    port: server.port,
    method,
    path,
    headers: { 'content-type': 'application/json' },
  };
  await kubeconfig.applyToHTTPSOptions(options);
  return new Promise<DryRun>((resolve, reject) => {
    const req = request(options, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, warnings: warnings(res.rawHeaders) }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/**
 * The Prometheus Operator's CRDs for the chart's PrometheusRule and ServiceMonitor, v0.93.0 as
 * published in prometheus-operator/prometheus-operator `example/prometheus-operator-crd/`, kept
 * verbatim in test/fixtures/crds. Created once on the shared API server (additive: nothing else uses
 * the group) and awaited until Established, so the dry runs validate against the real schemas.
 */
export async function ensureMonitoringCrds(kubeconfig: KubeConfig): Promise<void> {
  for (const kind of ['prometheusrules', 'servicemonitors']) {
    const crd = parse(
      readFileSync(join(import.meta.dirname, `../fixtures/crds/monitoring.coreos.com_${kind}.yaml`), 'utf8'),
    ) as KubernetesObject & { metadata: { name: string } };
    const name = crd.metadata.name;
    const created = await send(kubeconfig, 'POST', createPath(crd), crd);
    assert.ok([201, 409].includes(created.status), `creating CRD ${name}: ${created.body}`);
    await waitFor(
      `CRD ${name} Established`,
      async () => {
        const read = await send(kubeconfig, 'GET', `${createPath(crd)}/${name}`);
        const status = (JSON.parse(read.body) as { status?: { conditions?: { type: string; status: string }[] } })
          .status;
        return status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  }
}

/** Asserts the dry run created the object. */
export async function dryRunCreate(kubeconfig: KubeConfig, object: KubernetesObject): Promise<DryRun> {
  const result = await dryRun(kubeconfig, object);
  assert.equal(result.status, 201, `${object.kind} ${object.metadata?.name}: ${result.body}`);
  return result;
}

/**
 * Each `Warning: 299 - "<message>"` header's message. Read from the raw headers: Node joins repeated
 * headers with commas, and the messages hold commas of their own.
 */
function warnings(rawHeaders: string[]): string[] {
  const messages: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'warning') continue;
    const value = rawHeaders[i + 1]!;
    const quoted = /^\d{3} \S+ "((?:[^"\\]|\\.)*)"/.exec(value);
    messages.push(quoted ? quoted[1]!.replaceAll('\\"', '"').replaceAll('\\\\', '\\') : value);
  }
  return messages;
}
