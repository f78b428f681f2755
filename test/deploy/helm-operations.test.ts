// What an operator expects of the chart beyond rendering: values checked by a schema, placement that
// survives one node or zone, pods that roll on a rotated Secret and not on a chart bump, a digest, a
// warning without an IAM role, and the alert rules.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type KubernetesObject, type V1Deployment } from '@kubernetes/client-node';
import { parse, parseAllDocuments } from 'yaml';
import { uniqueName } from '../helpers/aws.js';
import { stackVar } from '../helpers/stack-env.js';
import { configVariables } from './service-env.js';
import { chart, fullValues, helm, namespace, queueUrl, render } from './helm.js';
import { installTimeoutMs, root } from './tools.js';

const required = ['--set', 'clusterName=prod-a', '--set', `aws.queueURL=${queueUrl}`];
const schema = JSON.parse(readFileSync(join(chart, 'values.schema.json'), 'utf8')) as {
  properties: { config: { properties: Record<string, { oneOf?: { type: string }[]; enum?: string[] }> } };
};
const values = parse(readFileSync(join(chart, 'values.yaml'), 'utf8')) as { config: Record<string, string> };
/** Set by the chart from its own values (or the downward API), not through `config`. */
const chartManaged = [
  'CLUSTER_NAME',
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_TASK_QUEUE',
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CA_FILE',
  'TEMPORAL_TLS_CERT_FILE',
  'TEMPORAL_TLS_KEY_FILE',
  'TEMPORAL_TLS_SERVER_NAME',
  'TEMPORAL_API_KEY',
  'WEBHOOK_URL',
  'WEBHOOK_HEADERS',
  'QUEUE_URL',
  'AWS_REGION',
  'AWS_ENDPOINT_URL',
  'ENABLE_PROMETHEUS_SERVER',
  'PROMETHEUS_SERVER_PORT',
  'ENABLE_PROBES_SERVER',
  'PROBES_SERVER_PORT',
  'POD_NAME',
  'POD_NAMESPACE',
  'NODE_NAME',
  'OWN_PODS_SELECTOR',
];

const deployments = (objects: KubernetesObject[]) =>
  Object.fromEntries(
    (objects.filter((o) => o.kind === 'Deployment') as V1Deployment[]).map((d) => [
      d.metadata!.labels!['app.kubernetes.io/component']!,
      d,
    ]),
  ) as Record<'worker' | 'starter', V1Deployment>;
const podSpec = (d: V1Deployment) => d.spec!.template.spec!;

describe('deploy/helm/tnth: what an operator expects of the chart', function () {
  this.timeout(installTimeoutMs);

  describe('values.schema.json', () => {
    it('passes `helm lint --strict` and renders with the full values file', async () => {
      await helm(['lint', '--strict', chart, '-f', fullValues]);
      const rendered = await helm(['template', 'full', chart, '--namespace', namespace, '-f', fullValues]);
      const kinds = parseAllDocuments(rendered).map((d) => (d.toJS() as KubernetesObject).kind);
      assert.ok(kinds.includes('PrometheusRule') && kinds.includes('ServiceMonitor'), kinds.join(', '));
    });

    const refused: [what: string, sets: string[], message: RegExp][] = [
      ['a misspelled config key', ['config.TAINT_NODES=true'], /\/config.*additional properties 'TAINT_NODES'/],
      ['a word for a number', ['config.DRAIN_MAX_ATTEMPTS=abc'], /\/config\/DRAIN_MAX_ATTEMPTS/],
      ['a word for a boolean', ['config.TAINT_NODE=yes'], /\/config\/TAINT_NODE/],
      ['an empty SHUTDOWN_GRACE_PERIOD', ['config.SHUTDOWN_GRACE_PERIOD='], /\/config\/SHUTDOWN_GRACE_PERIOD/],
      ['a value outside an enum', ['config.TAINT_EFFECT=NoWay'], /\/config\/TAINT_EFFECT/],
      ['a secret in config', ['config.WEBHOOK_URL=https://hooks.example.com'], /additional properties 'WEBHOOK_URL'/],
      ['a string for the replicas', ['worker.replicas=two'], /\/worker\/replicas/],
      ['a misspelled top-level value', ['workers.replicas=3'], /additional properties 'workers'/],
      ['the old one-Secret value', ['secrets.existingSecret=tnth'], /additional properties 'existingSecret'/],
      ['a digest that is not sha256', ['image.digest=latest'], /\/image\/digest/],
      ['an IAM role ARN of the wrong shape', ['worker.serviceAccount.roleArn=tnth-role'], /roleArn/],
      ['an unknown anti-affinity mode', ['placement.podAntiAffinity=sometimes'], /podAntiAffinity/],
    ];
    for (const [what, sets, message] of refused) {
      it(`refuses ${what}, naming the value`, async () => {
        await assert.rejects(render(sets), (error: Error) => {
          assert.match(error.message, /values don't meet the specifications of the schema/);
          assert.match(error.message, message);
          return true;
        });
      });
    }

    it("takes each config setting the service reads, as a string or as YAML's own boolean or number", async () => {
      const settable = [...configVariables()].filter((name) => !chartManaged.includes(name)).sort();
      assert.deepEqual(Object.keys(schema.properties.config.properties).sort(), settable, 'schema keys');
      assert.deepEqual(Object.keys(values.config).sort(), settable, "values.yaml's config keys");
      const rendered = deployments(await render(['config.TAINT_NODE=true', 'config.DRAIN_MAX_ATTEMPTS=5']));
      const env = (name: string) => podSpec(rendered.worker).containers[0]!.env!.find((e) => e.name === name)?.value;
      assert.equal(env('TAINT_NODE'), 'true');
      assert.equal(env('DRAIN_MAX_ATTEMPTS'), '5');
    });
  });

  it("documents every value in the chart's README (a value, or the object holding it)", () => {
    const readme = readFileSync(join(chart, 'README.md'), 'utf8');
    const documented = new Set([...readme.matchAll(/^\| `([^`]+)` +\|/gm)].map((m) => m[1]!));
    const leaves = (node: unknown, path: string[]): string[][] =>
      node !== null && typeof node === 'object' && !Array.isArray(node) && Object.keys(node).length > 0
        ? Object.entries(node).flatMap(([key, value]) => leaves(value, [...path, key]))
        : [path];
    const all = leaves(parse(readFileSync(join(chart, 'values.yaml'), 'utf8')), []);
    const missing = all
      .filter((path) => !path.some((_, i) => documented.has(path.slice(0, i + 1).join('.'))))
      .map((path) => path.join('.'));
    assert.deepEqual(missing, [], 'values the README does not document');
    for (const name of documented)
      assert.ok(
        all.some((path) => path.join('.').startsWith(name)),
        `the README documents ${name}, which is no value`,
      );
  });

  it('types each config setting as common/config.ts parses it: booleans as booleans, integers as integers', () => {
    const source = readFileSync(join(root, 'common/config.ts'), 'utf8');
    const body = source.slice(source.indexOf('const schema = z.object({'));
    const kinds = new Map<string, 'boolean' | 'integer'>();
    for (const [, name, rest] of body.matchAll(/^ {2}([A-Z][A-Z0-9_]*): (.*)$/gm)) {
      if (/^bool\(/.test(rest!)) kinds.set(name!, 'boolean');
      else if (/(^|, )int\(/.test(rest!)) kinds.set(name!, 'integer');
    }
    assert.ok(kinds.size > 20, `read ${kinds.size} typed settings from common/config.ts`);
    for (const [name, kind] of kinds) {
      const property = schema.properties.config.properties[name];
      if (!property) continue; // set by the chart itself (ports, switches of its own)
      const types = (property.oneOf ?? []).map((o) => o.type);
      assert.ok(types.includes(kind), `config.${name}: ${kind} in the schema (has ${types.join(', ') || 'none'})`);
    }
  });

  describe('placement', () => {
    it('runs on Linux nodes at system-cluster-critical, each process spread over nodes and zones by default', async () => {
      const rendered = deployments(await render());
      for (const [component, d] of Object.entries(rendered)) {
        const pod = podSpec(d);
        assert.equal(pod.priorityClassName, 'system-cluster-critical');
        assert.equal(pod.nodeSelector?.['kubernetes.io/os'], 'linux');
        const [term] = pod.affinity!.podAntiAffinity!.preferredDuringSchedulingIgnoredDuringExecution!;
        assert.equal(term!.podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
        assert.equal(term!.podAffinityTerm.labelSelector!.matchLabels!['app.kubernetes.io/component'], component);
        const [spread] = pod.topologySpreadConstraints!;
        assert.equal(spread!.topologyKey, 'topology.kubernetes.io/zone');
        assert.equal(spread!.whenUnsatisfiable, 'ScheduleAnyway', 'a one-zone cluster still runs every replica');
        assert.equal(spread!.labelSelector!.matchLabels!['app.kubernetes.io/component'], component);
        for (const selector of [term!.podAffinityTerm.labelSelector!.matchLabels!, spread!.labelSelector!.matchLabels!])
          for (const [key, value] of Object.entries(selector))
            assert.equal(d.spec!.template.metadata!.labels![key], value, 'the selectors pick its own pods');
      }
    });

    it("lets a process's own affinity and spread replace the defaults, and turns each default off", async () => {
      const own = deployments(
        await render(['worker.affinity.podAffinity.x=1', 'starter.topologySpreadConstraints=null']),
      );
      assert.deepEqual(podSpec(own.worker).affinity, { podAffinity: { x: 1 } });
      assert.ok(podSpec(own.starter).affinity?.podAntiAffinity, 'the starter keeps the default');
      const off = deployments(
        await render([
          'placement.priorityClassName=',
          'placement.podAntiAffinity=none',
          'placement.spreadOverZones=false',
          'placement.nodeSelector=null',
        ]),
      );
      for (const d of Object.values(off)) {
        const pod = podSpec(d);
        assert.equal(pod.priorityClassName, undefined);
        assert.equal(pod.affinity, undefined);
        assert.equal(pod.topologySpreadConstraints, undefined);
        assert.equal(pod.nodeSelector, undefined);
      }
      const required = deployments(await render(['placement.podAntiAffinity=required', 'nodeSelector.pool=system']));
      const pod = podSpec(required.worker);
      assert.ok(pod.affinity!.podAntiAffinity!.requiredDuringSchedulingIgnoredDuringExecution);
      assert.deepEqual(pod.nodeSelector, { 'kubernetes.io/os': 'linux', pool: 'system' });
    });
  });

  describe('images and rollouts', () => {
    it('pulls a fully qualified image by default, and pins it by digest when given one', async () => {
      const digest = `sha256:${'ab'.repeat(32)}`;
      const plain = deployments(await render());
      const image = podSpec(plain.worker).containers[0]!.image!;
      assert.match(image, /^[a-z0-9.-]+\.[a-z]+\/[a-z0-9/-]+:[0-9.]+$/, 'registry/repository:tag, never a bare name');
      const pinned = deployments(await render([`image.digest=${digest}`]));
      for (const d of Object.values(pinned)) assert.equal(podSpec(d).containers[0]!.image, `${image}@${digest}`);
    });

    it('renders the same pod templates for another chart version (no restart on a chart bump)', async () => {
      const copy = mkdtempSync(join(tmpdir(), 'tnth-chart-'));
      try {
        cpSync(chart, copy, { recursive: true });
        const chartYaml = join(copy, 'Chart.yaml');
        writeFileSync(
          chartYaml,
          readFileSync(chartYaml, 'utf8')
            .replace(/^version: .*$/m, 'version: 9.9.9')
            .replace(/^appVersion: .*$/m, "appVersion: '9.9.9'"),
        );
        const args = (dir: string) => [
          'template',
          'same',
          dir,
          '--namespace',
          namespace,
          ...required,
          '--set',
          'image.tag=0.1.0',
        ];
        const templates = (text: string) =>
          parseAllDocuments(text)
            .map((d) => d.toJS() as V1Deployment)
            .filter((o) => o?.kind === 'Deployment')
            .map((d) => d.spec!.template);
        const before = templates(await helm(args(chart)));
        const after = templates(await helm(args(copy)));
        assert.equal(before.length, 2);
        assert.deepEqual(after, before);
      } finally {
        rmSync(copy, { recursive: true, force: true });
      }
    });

    it("rolls a process's pods when a Secret it reads is rotated, and not when it is not (helm on the stack's API server)", async () => {
      const kubeconfig = new KubeConfig();
      kubeconfig.loadFromFile(stackVar('KUBECONFIG'));
      const core = kubeconfig.makeApiClient(CoreV1Api);
      const name = uniqueName('tnth-hooks');
      const put = async (url: string) => {
        const body = { metadata: { name, namespace }, stringData: { url } };
        try {
          await core.replaceNamespacedSecret({ name, namespace, body });
        } catch {
          await core.createNamespacedSecret({ namespace, body });
        }
      };
      const checksums = async () => {
        // --dry-run=server lets `lookup` read the Secret, as `helm upgrade` does.
        const text = await runHelmWithCluster([
          'template',
          'rotation',
          chart,
          '--namespace',
          namespace,
          ...required,
          '--dry-run=server',
          '--set',
          `secrets.webhookURL.name=${name}`,
          '--set',
          'secrets.webhookURL.key=url',
        ]);
        const rendered = deployments(parseAllDocuments(text).map((d) => d.toJS() as KubernetesObject));
        return {
          worker: rendered.worker.spec!.template.metadata!.annotations!['checksum/secrets'],
          starter: rendered.starter.spec!.template.metadata!.annotations!['checksum/secrets'],
        };
      };
      try {
        await put('https://hooks.example.com/one');
        const first = await checksums();
        assert.deepEqual(await checksums(), first, 'nothing changed, nothing rolls');
        await put('https://hooks.example.com/two');
        const rotated = await checksums();
        assert.notEqual(rotated.worker, first.worker, 'the worker reads the webhook: it rolls');
        assert.equal(rotated.starter, first.starter, 'the starter does not read it: it stays');
      } finally {
        await core.deleteNamespacedSecret({ name, namespace }).catch(() => undefined);
      }
    });
  });

  describe('NOTES.txt', () => {
    it('warns, per process, when no IAM role is set, and names the policy file', async () => {
      const notes = async (sets: string[]) => {
        const out = await runHelmWithCluster([
          'install',
          'notes',
          chart,
          '--namespace',
          namespace,
          '--dry-run=client',
          ...required,
          ...sets.flatMap((s) => ['--set', s]),
        ]);
        return out.slice(out.indexOf('NOTES:'));
      };
      const none = await notes([]);
      assert.match(none, /WARNING: no IAM role for the worker/);
      assert.match(none, /WARNING: no IAM role for the starter/);
      assert.match(none, /deploy\/iam\/worker-policy\.json/);
      const both = await notes([
        'worker.serviceAccount.roleArn=arn:aws:iam::123456789012:role/w',
        'starter.serviceAccount.roleArn=arn:aws:iam::123456789012:role/s',
      ]);
      assert.doesNotMatch(both, /WARNING/);
      assert.match(both, /arn:aws:iam::123456789012:role\/w/);
    });
  });

  describe('PrometheusRule', () => {
    it('is off by default; on, it has the alerts the README documents, the DLQ one only with a queue name', async () => {
      assert.ok(!(await render()).some((o) => o.kind === 'PrometheusRule'));
      type Rule = KubernetesObject & { spec: { groups: { rules: { alert: string; expr: string }[] }[] } };
      const alerts = async (sets: string[]) => {
        const rule = (await render(['prometheusRule.enabled=true', ...sets])).find(
          (o) => o.kind === 'PrometheusRule',
        ) as Rule;
        return rule.spec.groups.flatMap((g) => g.rules);
      };
      const base = await alerts([]);
      assert.deepEqual(
        base.map((r) => r.alert),
        [
          'TnthDrainBlocked',
          'TnthLifecycleHookExpiring',
          'TnthLifecycleActionLost',
          'TnthHeartbeatLoopLeak',
          'TnthStarterCannotReachTemporal',
        ],
      );
      for (const rule of base)
        assert.match(rule.expr, /job="chart-[0-9a-f]+-tnth-metrics"/, `${rule.alert} selects the release`);
      const readme = readFileSync(join(root, 'deploy/README.md'), 'utf8');
      const withQueue = await alerts(['prometheusRule.deadLetterQueue.queueName=tnth-dlq']);
      const dlq = withQueue.find((r) => r.alert === 'TnthDeadLetterMessages');
      assert.match(dlq!.expr, /dimension_QueueName="tnth-dlq"/);
      for (const rule of withQueue) assert.ok(readme.includes(rule.alert), `deploy/README.md documents ${rule.alert}`);
    });
  });
});

/** helm with the stack's administrator kubeconfig, for what reads the cluster (lookup, install --dry-run). */
async function runHelmWithCluster(args: string[]): Promise<string> {
  return helm([...args, '--kubeconfig', stackVar('KUBECONFIG')]);
}
