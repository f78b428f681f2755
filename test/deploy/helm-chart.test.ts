import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  KubeConfig,
  type KubernetesObject,
  type V1ClusterRole,
  type V1ClusterRoleBinding,
  type V1Deployment,
  type V1EnvVar,
  type V1PodDisruptionBudget,
  type V1Service,
  type V1ServiceAccount,
} from '@kubernetes/client-node';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../common/config.js';
import { loadStarterConfig } from '../../starter/config.js';
import { stackVar } from '../helpers/stack-env.js';
import { parseDockerfile } from './dockerfile.js';
import { configVariables, unknownVariables } from './service-env.js';
import { chart, dryRunCreate, ensureMonitoringCrds, fullValues, helm, namespace, queueUrl, render } from './helm.js';
import { installTimeoutMs, root } from './tools.js';

const values = parse(readFileSync(join(chart, 'values.yaml'), 'utf8')) as { config: Record<string, string> };
/** Not chart values: set through extraEnv when needed (a VPC endpoint), or by the image itself. */
const leftToExtraEnv = ['AWS_ENDPOINT_URL', 'WORKFLOW_BUNDLE_PATH'];
const secretVariables = ['WEBHOOK_URL', 'WEBHOOK_HEADERS', 'TEMPORAL_API_KEY'];

const ofKind = <T extends KubernetesObject>(objects: KubernetesObject[], kind: string) =>
  objects.filter((o) => o.kind === kind) as T[];
const deployment = (objects: KubernetesObject[], component: string) => {
  const found = ofKind<V1Deployment>(objects, 'Deployment').find(
    (d) => d.metadata?.labels?.['app.kubernetes.io/component'] === component,
  );
  assert.ok(found, `a ${component} Deployment`);
  return found;
};
const container = (d: V1Deployment) => d.spec!.template.spec!.containers[0]!;
/** A container's plain `value` environment, as the process sees it (secret references left out). */
const plainEnv = (d: V1Deployment): Record<string, string> =>
  Object.fromEntries((container(d).env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
const envVar = (d: V1Deployment, name: string): V1EnvVar | undefined => container(d).env?.find((e) => e.name === name);

describe('deploy/helm/tnth: the Helm chart, rendered by `helm template`', function () {
  this.timeout(installTimeoutMs);
  let objects: KubernetesObject[];

  before(async () => {
    objects = await render();
  });

  it('passes `helm lint --strict`', async () => {
    await helm(['lint', '--strict', chart, '--set', `aws.queueURL=${queueUrl}`, '--set', 'clusterName=prod-a']);
  });

  it("renders worker and starter Deployments, a ServiceAccount each, the worker's ClusterRole and binding, PDBs and a metrics Service", () => {
    const kinds = objects.map((o) => o.kind).sort();
    assert.deepEqual(kinds, [
      'ClusterRole',
      'ClusterRoleBinding',
      'Deployment',
      'Deployment',
      'PodDisruptionBudget',
      'PodDisruptionBudget',
      'Service',
      'ServiceAccount',
      'ServiceAccount',
    ]);
    assert.deepEqual(container(deployment(objects, 'worker')).args, ['worker']);
    assert.deepEqual(container(deployment(objects, 'starter')).args, ['starter']);
    for (const o of objects.filter((o) => !o.kind!.startsWith('Cluster')))
      assert.equal(o.metadata?.namespace, namespace);
  });

  it('refuses to render without aws.queueURL, naming the value', async () => {
    await assert.rejects(render([], { queue: false }), /aws\.queueURL is required/);
  });

  it('refuses to render without clusterName, and gives both processes the one it has', async () => {
    await assert.rejects(render(['clusterName=']), /clusterName is required/);
    for (const component of ['worker', 'starter'])
      assert.equal(plainEnv(deployment(objects, component)).CLUSTER_NAME, 'prod-a');
  });

  it("grants the rules of deploy/rbac/clusterrole.yaml, no more, to the worker's ServiceAccount, and the starter none", () => {
    const reference = parse(readFileSync(join(root, 'deploy/rbac/clusterrole.yaml'), 'utf8')) as V1ClusterRole;
    const [role] = ofKind<V1ClusterRole>(objects, 'ClusterRole');
    assert.deepEqual(role!.rules, reference.rules);
    const [binding] = ofKind<V1ClusterRoleBinding>(objects, 'ClusterRoleBinding');
    const accounts = ofKind<V1ServiceAccount>(objects, 'ServiceAccount');
    const account = (component: string) =>
      accounts.find((a) => a.metadata?.labels?.['app.kubernetes.io/component'] === component)!;
    assert.deepEqual(binding!.roleRef, {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: role!.metadata!.name,
    });
    assert.deepEqual(binding!.subjects, [
      { kind: 'ServiceAccount', name: account('worker').metadata!.name, namespace },
    ]);
    for (const component of ['worker', 'starter'])
      assert.equal(
        deployment(objects, component).spec!.template.spec!.serviceAccountName,
        account(component).metadata!.name,
      );
    assert.notEqual(account('worker').metadata!.name, account('starter').metadata!.name);
    assert.equal(account('starter').automountServiceAccountToken, false, 'the starter calls no Kubernetes API');
    assert.equal(deployment(objects, 'starter').spec!.template.spec!.automountServiceAccountToken, false);
  });

  it("gives both processes an environment the service accepts, with the service's own defaults", () => {
    // Through JSON: an empty value and an absent one both mean unset.
    const settings = (env: Record<string, string>) => JSON.parse(JSON.stringify(loadConfig(env))) as unknown;
    assert.deepEqual(
      settings({ ...values.config, CLUSTER_NAME: 'prod-a' }),
      settings({ CLUSTER_NAME: 'prod-a' }),
      "values.yaml's config holds the service's defaults",
    );
    const worker = plainEnv(deployment(objects, 'worker'));
    const starter = plainEnv(deployment(objects, 'starter'));
    assert.doesNotThrow(() => loadConfig(worker));
    assert.doesNotThrow(() => loadStarterConfig(starter));
    assert.deepEqual(unknownVariables(worker), [], 'variables no process reads');
    assert.deepEqual(unknownVariables(starter), [], 'variables no process reads');
    assert.equal(worker.TEMPORAL_TASK_QUEUE, starter.TEMPORAL_TASK_QUEUE, 'worker and starter share the task queue');
    assert.equal(starter.QUEUE_URL, queueUrl);
    assert.equal(worker.QUEUE_URL, undefined, 'the worker polls no queue');
    for (const drainSetting of ['DRAIN_DEADLINE', 'WEBHOOK_PROXY', 'TAINT_NODE', 'MAX_CONCURRENT_ACTIVITIES'])
      assert.equal(starter[drainSetting], undefined, `the starter does not read ${drainSetting}`);
    assert.equal(worker.STARTER_POLLERS, undefined, 'the worker does not read STARTER_POLLERS');
  });

  it('can set every variable the service reads: by `config`, by a chart value or from the Secret', async () => {
    const everything = await render([
      'aws.region=us-east-1',
      'temporal.taskQueue=tnth-blue',
      'config.CLUSTER_TAG_KEY=team',
      'temporal.tls.enabled=true',
      'temporal.tls.serverName=temporal.example.com',
      'temporal.tls.secretName=temporal-tls',
      'temporal.tls.clientCertificate=true',
      'temporal.tls.serverCA=true',
      'secrets.webhookURL.name=tnth',
      'secrets.webhookHeaders.name=tnth',
      'secrets.temporalAPIKey.name=tnth',
      'config.WEBHOOK_TEMPLATE=x',
      'config.WEBHOOK_TEMPLATE_FILE=/etc/tnth/webhook/template',
      'config.WEBHOOK_PROXY=http://proxy:3128',
      'config.KUBERNETES_EVENTS_EXTRA_ANNOTATIONS=a=b',
      'config.LIFECYCLE_HOOK_NAMES=tnth-drain',
      'config.DRAIN_BUDGET_PER_GROUP=10%',
      'config.DRAIN_BUDGET=5',
      'config.WORKFLOW_CACHE_SIZE=500',
    ]);
    const names = new Set(
      ['worker', 'starter'].flatMap((c) => (container(deployment(everything, c)).env ?? []).map((e) => e.name)),
    );
    const missing = [...configVariables()].filter((name) => !names.has(name) && !leftToExtraEnv.includes(name));
    assert.deepEqual(missing, [], 'variables of common/config.ts the chart cannot set');
    for (const name of Object.keys(values.config)) assert.ok(configVariables().has(name), `config.${name} is read`);
  });

  it('passes WEBHOOK_URL and WEBHOOK_HEADERS to the worker only, TEMPORAL_API_KEY to both, each by a required reference to its own key', async () => {
    const rendered = await render([
      'secrets.webhookURL.name=hooks',
      'secrets.webhookURL.key=slack-url',
      'secrets.webhookHeaders.name=hooks',
      'secrets.temporalAPIKey.name=temporal',
    ]);
    const expected: Record<string, Record<string, { name: string; key: string } | undefined>> = {
      worker: {
        WEBHOOK_URL: { name: 'hooks', key: 'slack-url' },
        WEBHOOK_HEADERS: { name: 'hooks', key: 'WEBHOOK_HEADERS' },
        TEMPORAL_API_KEY: { name: 'temporal', key: 'TEMPORAL_API_KEY' },
      },
      starter: {
        WEBHOOK_URL: undefined,
        WEBHOOK_HEADERS: undefined,
        TEMPORAL_API_KEY: { name: 'temporal', key: 'TEMPORAL_API_KEY' },
      },
    };
    for (const [component, refs] of Object.entries(expected)) {
      const d = deployment(rendered, component);
      for (const [name, ref] of Object.entries(refs)) {
        // No `optional`: a misnamed key keeps the pod from starting instead of turning the setting off.
        assert.deepEqual(envVar(d, name)?.valueFrom?.secretKeyRef, ref, `${component} ${name}`);
        assert.equal(envVar(d, name)?.value, undefined);
      }
    }
    const none = deployment(objects, 'worker');
    for (const name of secretVariables) assert.equal(envVar(none, name), undefined, 'no Secret, no reference');
    await assert.rejects(render(['secrets.webhookURL.name=hooks', 'secrets.webhookURL.key=']), /secrets/);
  });

  it('gives Kubernetes a termination grace period longer than SHUTDOWN_GRACE_PERIOD', async () => {
    for (const [rendered, grace] of [
      [objects, Number(values.config.SHUTDOWN_GRACE_PERIOD)],
      [await render(['config.SHUTDOWN_GRACE_PERIOD=120']), 120],
    ] as const) {
      for (const component of ['worker', 'starter']) {
        const d = deployment(rendered, component);
        assert.equal(plainEnv(d).SHUTDOWN_GRACE_PERIOD, String(grace));
        assert.ok(d.spec!.template.spec!.terminationGracePeriodSeconds! > grace, `${component}: above ${grace} s`);
      }
    }
  });

  it('probes worker and starter on /healthz and /readyz of their probes servers, and serves metrics on the port the env names', () => {
    for (const component of ['worker', 'starter']) {
      const d = deployment(objects, component);
      const env = plainEnv(d);
      const port = (name: string) => container(d).ports!.find((p) => p.name === name)!.containerPort;
      assert.equal(env.ENABLE_PROMETHEUS_SERVER, 'true');
      assert.equal(port('metrics'), Number(env.PROMETHEUS_SERVER_PORT));
      assert.equal(env.ENABLE_PROBES_SERVER, 'true');
      assert.equal(port('probes'), Number(env.PROBES_SERVER_PORT));
    }
    for (const component of ['worker', 'starter']) {
      const probed = container(deployment(objects, component));
      assert.deepEqual(probed.startupProbe?.httpGet, { path: '/healthz', port: 'probes' });
      assert.deepEqual(probed.livenessProbe?.httpGet, { path: '/healthz', port: 'probes' });
      assert.deepEqual(probed.readinessProbe?.httpGet, { path: '/readyz', port: 'probes' });
    }
  });

  it("runs as the image's non-root user with a read-only root filesystem, RuntimeDefault seccomp, no privilege escalation and no capabilities", () => {
    const runtime = parseDockerfile(join(root, 'Dockerfile')).stages.find((s) => s.name === 'runtime')!;
    const imageUser = runtime.instructions.findLast((i) => i.op === 'USER')!.args;
    for (const component of ['worker', 'starter']) {
      const d = deployment(objects, component);
      const pod = d.spec!.template.spec!;
      assert.equal(pod.securityContext?.runAsNonRoot, true);
      assert.ok((pod.securityContext?.runAsUser ?? 0) > 0);
      assert.equal(
        `${pod.securityContext?.runAsUser}:${pod.securityContext?.runAsGroup}`,
        imageUser,
        'USER in the image',
      );
      assert.deepEqual(pod.securityContext?.seccompProfile, { type: 'RuntimeDefault' });
      const security = container(d).securityContext!;
      assert.equal(security.readOnlyRootFilesystem, true);
      assert.equal(security.allowPrivilegeEscalation, false);
      assert.deepEqual(security.capabilities?.drop, ['ALL']);
      const tmp = container(d).volumeMounts?.find((m) => m.mountPath === '/tmp');
      assert.ok(tmp && pod.volumes?.some((v) => v.name === tmp.name && v.emptyDir), 'a writable /tmp');
    }
  });

  it("annotates each process's ServiceAccount with its own IRSA role when given one, and not otherwise", async () => {
    const roles = {
      worker: 'arn:aws:iam::123456789012:role/tnth-worker',
      starter: 'arn:aws:iam::123456789012:role/tnth-starter',
    };
    const rendered = await render(Object.entries(roles).map(([c, arn]) => `${c}.serviceAccount.roleArn=${arn}`));
    for (const [component, arn] of Object.entries(roles)) {
      const account = ofKind<V1ServiceAccount>(rendered, 'ServiceAccount').find(
        (a) => a.metadata?.labels?.['app.kubernetes.io/component'] === component,
      );
      assert.equal(account!.metadata?.annotations?.['eks.amazonaws.com/role-arn'], arn);
    }
    for (const plain of ofKind<V1ServiceAccount>(objects, 'ServiceAccount'))
      assert.equal(plain.metadata?.annotations, undefined);
  });

  it('sets replicas per Deployment; each PDB selects its own pods and always allows an eviction', async () => {
    const rendered = await render(['worker.replicas=3', 'starter.replicas=1']);
    assert.equal(deployment(rendered, 'worker').spec!.replicas, 3);
    assert.equal(deployment(rendered, 'starter').spec!.replicas, 1);
    for (const component of ['worker', 'starter']) {
      const labels = deployment(rendered, component).spec!.template.metadata!.labels!;
      const pdb = ofKind<V1PodDisruptionBudget>(rendered, 'PodDisruptionBudget').find(
        (p) => p.metadata?.labels?.['app.kubernetes.io/component'] === component,
      )!;
      for (const [key, value] of Object.entries(pdb.spec!.selector!.matchLabels!)) assert.equal(labels[key], value);
      assert.equal(pdb.spec!.minAvailable, undefined);
      assert.ok(Number(pdb.spec!.maxUnavailable) >= 1, 'a budget that allows no eviction would block node drains');
    }
  });

  it("selects both Deployments' metrics ports with the Service, and scrapes it with the optional ServiceMonitor", async () => {
    const [service] = ofKind<V1Service>(objects, 'Service');
    for (const component of ['worker', 'starter']) {
      const labels = deployment(objects, component).spec!.template.metadata!.labels!;
      for (const [key, value] of Object.entries(service!.spec!.selector!)) assert.equal(labels[key], value);
    }
    assert.deepEqual(
      service!.spec!.ports!.map((p) => [p.name, p.targetPort]),
      [['metrics', 'metrics']],
    );
    const rendered = await render(['serviceMonitor.enabled=true', 'serviceMonitor.labels.release=prometheus']);
    type ServiceMonitor = KubernetesObject & {
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] };
    };
    const [monitor] = ofKind<ServiceMonitor>(rendered, 'ServiceMonitor');
    assert.equal(monitor!.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(monitor!.metadata?.labels?.release, 'prometheus');
    for (const [key, value] of Object.entries(monitor!.spec.selector.matchLabels))
      assert.equal(service!.metadata?.labels?.[key], value);
    assert.deepEqual(
      monitor!.spec.endpoints.map((e) => e.port),
      ['metrics'],
    );
  });

  it("is accepted by a real kube-apiserver (server-side dry run on the local stack's), defaults and the full values file", async () => {
    const kubeconfig = new KubeConfig();
    kubeconfig.loadFromFile(stackVar('KUBECONFIG'));
    await ensureMonitoringCrds(kubeconfig);
    const full = await helm(['template', 'full', chart, '--namespace', namespace, '-f', fullValues]);
    const rendered = [
      ...objects,
      ...parseAllDocuments(full)
        .map((d) => d.toJS() as KubernetesObject | null)
        .filter((o): o is KubernetesObject => !!o),
    ];
    assert.deepEqual([...new Set(rendered.map((o) => o.kind))].sort(), [
      'ClusterRole',
      'ClusterRoleBinding',
      'Deployment',
      'PodDisruptionBudget',
      'PrometheusRule',
      'Service',
      'ServiceAccount',
      'ServiceMonitor',
    ]);
    for (const object of rendered) await dryRunCreate(kubeconfig, object);
  });
});
