// Test objects in the local stack's Kubernetes: EC2-like nodes that kwok runs, pods of each kind
// a drain must tell apart, and PodDisruptionBudgets. No controller manager runs there, so a PDB's
// status is whatever a test sets with `setPdbStatus`, and controllers never create or remove pods.
import { randomBytes } from 'node:crypto';
import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  PolicyV1Api,
  setHeaderOptions,
  type V1Node,
  type V1Taint,
  type V1OwnerReference,
  type V1Pod,
  type V1PodDisruptionBudget,
} from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { stackVar } from './stack-env.js';

export interface KubeClients {
  kubeconfig: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  policy: PolicyV1Api;
  coordination: CoordinationV1Api;
}

function clients(file: string): KubeClients {
  const kubeconfig = new KubeConfig();
  kubeconfig.loadFromFile(file);
  return {
    kubeconfig,
    core: kubeconfig.makeApiClient(CoreV1Api),
    apps: kubeconfig.makeApiClient(AppsV1Api),
    policy: kubeconfig.makeApiClient(PolicyV1Api),
    coordination: kubeconfig.makeApiClient(CoordinationV1Api),
  };
}

/** The administrator (system:masters): sets up and inspects what tests need. */
export const adminClients = (): KubeClients => clients(stackVar('KUBECONFIG'));
/** The service's identity: exactly the permissions of deploy/rbac/clusterrole.yaml. */
export const serviceClients = (): KubeClients => clients(stackVar('SERVICE_KUBECONFIG'));

/** Request options for a strategic-merge patch (client-node sends JSON Patch unless told). */
export const strategicMerge = () => setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
export const mergePatch = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The HTTP status of a failed API call, or undefined for any other error. */
export function apiStatus(error: unknown): number | undefined {
  return error instanceof ApiException ? error.code : undefined;
}

/** Resolves with the HTTP status the call failed with; fails the test if it succeeded. */
export async function expectStatus(call: Promise<unknown>): Promise<number> {
  try {
    await call;
  } catch (error) {
    const status = apiStatus(error);
    if (status !== undefined) return status;
    throw error;
  }
  throw new Error('the API call succeeded, but a failure was expected');
}

/** Polls `check` until it returns a value other than undefined/false, or fails after the deadline. */
export async function until<T>(
  description: string,
  check: () => Promise<T | undefined | false>,
  { timeoutMs = 20_000, intervalMs = 200 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(intervalMs);
  }
  const cause = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting until ${description}${cause}`);
}

/** Test objects live here, but for a test's `ownNamespace()`; this one is never deleted. */
export const testNamespace = 'tnth-test';
/** kwok runs the nodes annotated so (dev/k8s/kwok.yaml). */
export const kwokAnnotation = { 'kwok.x-k8s.io/node': 'fake' } as const;
const runLabel = 'tnth.dev/test-run';
const pauseImage = 'registry.k8s.io/pause:3.10';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
/** An EC2 instance id: `i-` and 17 hex digits. */
export const instanceId = () => `i-0${hex(8)}`;

export interface NodeOptions {
  /** The node's name and hostname label; default a random EC2 private DNS name. */
  name?: string;
  zone?: string;
  instanceType?: string;
  instanceId?: string;
  /** False leaves the node without a kubelet: never Ready, its pods never start or finish. */
  kwok?: boolean;
  labels?: Record<string, string>;
  unschedulable?: boolean;
  /** Taints from registration, as a kubelet's --register-with-taints or the cloud provider set them. */
  taints?: V1Taint[];
}

export interface PodOptions {
  /** Seconds kwok waits, once the pod is deleted or evicted, before it disappears. */
  gracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Default the fixture's `tnth-test`; else one of `ownNamespace()`. */
  namespace?: string;
}

/**
 * The objects of one test, with names unique to it and a label that `cleanup()` deletes by.
 * Create one per test (`beforeEach`) and call `cleanup()` in `afterEach`.
 */
export class KubeFixture {
  readonly run = hex(4);
  readonly namespace = testNamespace;
  private readonly nodeNames: string[] = [];
  private readonly namespaceNames: string[] = [];
  private counter = 0;

  constructor(readonly kube: KubeClients = adminClients()) {}

  /** A name unique to this fixture: `<base>-<run>-<n>`. */
  name(base: string): string {
    this.counter += 1;
    return `${base}-${this.run}-${this.counter}`;
  }

  private labels(extra: Record<string, string> = {}): Record<string, string> {
    return { [runLabel]: this.run, ...extra };
  }

  async ensureNamespace(): Promise<void> {
    try {
      await this.kube.core.createNamespace({ body: { metadata: { name: this.namespace } } });
    } catch (error) {
      if (apiStatus(error) !== 409) throw error;
    }
  }

  /**
   * A namespace of this test's own, for a test that deletes it. No namespace controller runs: once
   * deleted it stays Terminating, its pods with it, until `cleanup()` plays the controller's part.
   */
  async ownNamespace(labels: Record<string, string> = {}): Promise<string> {
    const name = this.name(testNamespace);
    await this.kube.core.createNamespace({ body: { metadata: { name, labels: this.labels(labels) } } });
    this.namespaceNames.push(name);
    return name;
  }

  /**
   * The namespace controller's last step, once it has deleted the namespace's content: empty
   * `spec.finalizers`, and the API server removes a namespace that is being deleted.
   */
  async finalizeNamespace(name: string): Promise<void> {
    const namespace = await this.kube.core.readNamespace({ name });
    await this.kube.core.replaceNamespaceFinalize({ name, body: { ...namespace, spec: { finalizers: [] } } });
  }

  /** A node named and labelled as EC2 names an instance's node, for example `ip-10-0-1-23.ec2.internal`. */
  async node(options: NodeOptions = {}): Promise<V1Node> {
    const zone = options.zone ?? 'us-east-1a';
    const region = zone.slice(0, -1);
    const id = options.instanceId ?? instanceId();
    const [a, b, c] = randomBytes(3);
    const ip = `10.${a}.${b}.${Math.max(c!, 1)}`;
    const dnsSuffix = region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`;
    const name = options.name ?? `ip-${ip.replaceAll('.', '-')}.${dnsSuffix}`;
    const node: V1Node = {
      metadata: {
        name,
        labels: this.labels({
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'topology.kubernetes.io/zone': zone,
          'topology.kubernetes.io/region': region,
          'node.kubernetes.io/instance-type': options.instanceType ?? 'm5.large',
          ...options.labels,
        }),
        annotations: options.kwok === false ? {} : { ...kwokAnnotation },
      },
      spec: { providerID: `aws:///${zone}/${id}`, unschedulable: options.unschedulable, taints: options.taints },
      // A node may carry its status from creation; kwok keeps these addresses.
      status: {
        addresses: [
          { type: 'InternalIP', address: ip },
          { type: 'Hostname', address: name },
          { type: 'InternalDNS', address: name },
        ],
      },
    };
    const created = await this.kube.core.createNode({ body: node });
    this.nodeNames.push(name);
    if (options.kwok !== false) this.untaintWhenReady(name);
    return created;
  }

  /** Nodes still carrying the API server's `not-ready` taint, and the one loop that watches them. */
  private readonly notReadyTainted = new Set<string>();
  private lifecycleLoop: Promise<void> | undefined;
  private stopping = false;

  /**
   * The node lifecycle controller's part, which the stack lacks (it runs no controller manager): the
   * API server taints each new node `node.kubernetes.io/not-ready` (TaintNodesByCondition), and in a
   * cluster the controller removes the taint within seconds of the node's Ready. A launch waits for
   * it. One loop per fixture lists its nodes (not one read per node), until each is untainted.
   */
  private untaintWhenReady(name: string): void {
    this.notReadyTainted.add(name);
    this.lifecycleLoop ??= this.removeNotReadyTaints()
      .catch(() => this.notReadyTainted.clear())
      .finally(() => {
        this.lifecycleLoop = undefined;
        // A node created as the loop ended.
        const [next] = this.notReadyTainted;
        if (next !== undefined && !this.stopping) this.untaintWhenReady(next);
      });
  }

  private async removeNotReadyTaints(): Promise<void> {
    const notReady = 'node.kubernetes.io/not-ready';
    const deadline = Date.now() + 120_000;
    while (this.notReadyTainted.size > 0 && !this.stopping && Date.now() < deadline) {
      const { items } = await this.kube.core.listNode({ labelSelector: `${runLabel}=${this.run}` });
      const listed = new Set(items.map((n) => n.metadata?.name ?? ''));
      for (const name of this.notReadyTainted) if (!listed.has(name)) this.notReadyTainted.delete(name);
      for (const node of items) {
        const name = node.metadata?.name ?? '';
        if (!this.notReadyTainted.has(name)) continue;
        if (!node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
        const taints = node.spec?.taints ?? [];
        if (taints.some((t) => t.key === notReady)) {
          const body = {
            metadata: { resourceVersion: node.metadata?.resourceVersion },
            spec: { taints: taints.filter((t) => t.key !== notReady) },
          };
          // A conflict (another writer) or a node gone: the next list looks again.
          const patched = await this.kube.core.patchNode({ name, body }, mergePatch()).then(
            () => true,
            (error: unknown) => (apiStatus(error) === 404 ? true : false),
          );
          if (!patched) continue;
        }
        this.notReadyTainted.delete(name);
      }
      if (this.notReadyTainted.size > 0) await sleep(250);
    }
    // Nodes kwok never made Ready keep the taint, as a cluster would.
    this.notReadyTainted.clear();
  }

  /** Resolves once kwok reports the node Ready. */
  async nodeReady(name: string, timeoutMs = 20_000): Promise<V1Node> {
    return until(
      `node ${name} is Ready`,
      async () => {
        const node = await this.kube.core.readNode({ name });
        return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && node;
      },
      { timeoutMs },
    );
  }

  private podBody(node: string, base: string, options: PodOptions, extra: Partial<V1Pod['metadata']> = {}): V1Pod {
    return {
      metadata: {
        name: this.name(base),
        namespace: options.namespace ?? this.namespace,
        labels: this.labels({ app: base, ...options.labels }),
        annotations: options.annotations,
        ...extra,
      },
      spec: {
        nodeName: node,
        terminationGracePeriodSeconds: options.gracePeriodSeconds ?? 30,
        containers: [{ name: 'main', image: pauseImage }],
      },
    };
  }

  private async createPod(body: V1Pod): Promise<V1Pod> {
    return this.kube.core.createNamespacedPod({ namespace: body.metadata!.namespace!, body });
  }

  /** A pod with no owner: a drain must refuse it unless forced. */
  async barePod(node: string, options: PodOptions = {}): Promise<V1Pod> {
    return this.createPod(this.podBody(node, 'bare', options));
  }

  /** A pod controlled by a ReplicaSet that exists (no controller runs, so it never adds pods). */
  async replicaSetPod(node: string, options: PodOptions = {}): Promise<V1Pod> {
    const labels = this.labels({ app: this.name('rs') });
    const namespace = options.namespace ?? this.namespace;
    const replicaSet = await this.kube.apps.createNamespacedReplicaSet({
      namespace,
      body: {
        metadata: { name: labels.app, namespace, labels },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'main', image: pauseImage }] } },
        },
      },
    });
    const owner = controllerRef('apps/v1', 'ReplicaSet', replicaSet.metadata!);
    return this.createPod(
      this.podBody(node, 'rs', { ...options, labels: { ...labels, ...options.labels } }, { ownerReferences: [owner] }),
    );
  }

  /** A pod controlled by a DaemonSet that exists: a drain skips it when ignoring DaemonSets. */
  async daemonSetPod(node: string, options: PodOptions = {}): Promise<V1Pod> {
    const labels = this.labels({ app: this.name('ds') });
    const namespace = options.namespace ?? this.namespace;
    const daemonSet = await this.kube.apps.createNamespacedDaemonSet({
      namespace,
      body: {
        metadata: { name: labels.app, namespace, labels },
        spec: {
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'main', image: pauseImage }] } },
        },
      },
    });
    const owner = controllerRef('apps/v1', 'DaemonSet', daemonSet.metadata!);
    const body = this.podBody(
      node,
      'ds',
      { ...options, labels: { ...labels, ...options.labels } },
      {
        ownerReferences: [owner],
      },
    );
    // What the DaemonSet controller adds: its pods stay on cordoned and unhealthy nodes.
    body.spec!.tolerations = [
      { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
      { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
    ];
    return this.createPod(body);
  }

  /** A pod with an emptyDir volume: its data dies with the node, so a drain needs DELETE_LOCAL_DATA. */
  async emptyDirPod(node: string, options: PodOptions = {}): Promise<V1Pod> {
    const body = this.podBody(node, 'emptydir', options);
    body.spec!.volumes = [{ name: 'scratch', emptyDir: {} }];
    body.spec!.containers[0]!.volumeMounts = [{ name: 'scratch', mountPath: '/scratch' }];
    return this.createPod(body);
  }

  /**
   * A mirror pod: the API's copy of a static pod the kubelet runs from a file. The annotation marks
   * it; a drain skips it, since deleting the copy does not stop the pod.
   */
  async mirrorPod(node: string, options: PodOptions = {}): Promise<V1Pod> {
    const nodeObject = await this.kube.core.readNode({ name: node });
    const owner: V1OwnerReference = { ...controllerRef('v1', 'Node', nodeObject.metadata!), blockOwnerDeletion: false };
    const annotations = {
      'kubernetes.io/config.mirror': hex(16),
      'kubernetes.io/config.source': 'file',
      'kubernetes.io/config.hash': hex(16),
      ...options.annotations,
    };
    return this.createPod(this.podBody(node, 'mirror', { ...options, annotations }, { ownerReferences: [owner] }));
  }

  /** Resolves once kwok reports the pod Running (evictions of Pending pods skip PDBs). */
  async podRunning(name: string, timeoutMs = 20_000, namespace = this.namespace): Promise<V1Pod> {
    return until(
      `pod ${name} is Running`,
      async () => {
        const pod = await this.kube.core.readNamespacedPod({ name, namespace });
        return pod.status?.phase === 'Running' && pod;
      },
      { timeoutMs },
    );
  }

  /** Resolves once the pod is gone from the API. */
  async podGone(name: string, timeoutMs = 20_000, namespace = this.namespace): Promise<void> {
    await until(
      `pod ${name} is gone`,
      async () => {
        try {
          await this.kube.core.readNamespacedPod({ name, namespace });
          return false;
        } catch (error) {
          if (apiStatus(error) === 404) return true;
          throw error;
        }
      },
      { timeoutMs },
    );
  }

  /** A PodDisruptionBudget over pods with these labels; its status starts blocking every eviction. */
  async pdb(
    matchLabels: Record<string, string>,
    spec: { minAvailable?: number | string; maxUnavailable?: number | string } = { minAvailable: 1 },
  ): Promise<V1PodDisruptionBudget> {
    const created = await this.kube.policy.createNamespacedPodDisruptionBudget({
      namespace: this.namespace,
      body: {
        metadata: { name: this.name('pdb'), namespace: this.namespace, labels: this.labels() },
        spec: { ...spec, selector: { matchLabels } },
      },
    });
    return this.setPdbStatus(created.metadata!.name!, { disruptionsAllowed: 0 });
  }

  /**
   * Sets what the disruption controller would compute (none runs here). `disruptionsAllowed: 0`
   * makes evictions of the PDB's pods fail with 429; each allowed eviction lowers it by one.
   */
  async setPdbStatus(
    name: string,
    status: { disruptionsAllowed: number; currentHealthy?: number; desiredHealthy?: number; expectedPods?: number },
  ): Promise<V1PodDisruptionBudget> {
    const pdb = await this.kube.policy.readNamespacedPodDisruptionBudget({ name, namespace: this.namespace });
    const healthy = status.currentHealthy ?? 1;
    return this.kube.policy.patchNamespacedPodDisruptionBudgetStatus(
      {
        name,
        namespace: this.namespace,
        body: {
          status: {
            // The API server refuses evictions against a status older than the spec.
            observedGeneration: pdb.metadata!.generation,
            disruptionsAllowed: status.disruptionsAllowed,
            currentHealthy: healthy,
            desiredHealthy: status.desiredHealthy ?? healthy - status.disruptionsAllowed,
            expectedPods: status.expectedPods ?? healthy,
            disruptedPods: null,
          },
        },
      },
      mergePatch(),
    );
  }

  /** What the namespace controller would do: delete its content, then the namespace, then finalize it. */
  private async removeNamespace(namespace: string): Promise<void> {
    const { core, apps } = this.kube;
    await Promise.all([
      core.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 }),
      apps.deleteCollectionNamespacedDaemonSet({ namespace }),
      apps.deleteCollectionNamespacedReplicaSet({ namespace }),
    ]).catch(ignoreNotFound);
    await core.deleteNamespace({ name: namespace }).catch(ignoreNotFound);
    await this.finalizeNamespace(namespace).catch(ignoreNotFound);
  }

  /** Deletes everything this fixture made, at once (no grace period), and the leases kwok made. */
  async cleanup(): Promise<void> {
    this.stopping = true;
    await this.lifecycleLoop;
    this.notReadyTainted.clear();
    this.stopping = false;
    const labelSelector = `${runLabel}=${this.run}`;
    const namespace = this.namespace;
    const { core, apps, policy, coordination } = this.kube;
    await Promise.all([
      core.deleteCollectionNamespacedPod({ namespace, labelSelector, gracePeriodSeconds: 0 }),
      apps.deleteCollectionNamespacedDaemonSet({ namespace, labelSelector }),
      apps.deleteCollectionNamespacedReplicaSet({ namespace, labelSelector }),
      policy.deleteCollectionNamespacedPodDisruptionBudget({ namespace, labelSelector }),
    ]);
    await Promise.all(this.namespaceNames.map((name) => this.removeNamespace(name)));
    await core.deleteCollectionNode({ labelSelector });
    // Without a garbage collector the node leases outlive their nodes.
    await Promise.all(
      this.nodeNames.map((name) =>
        coordination.deleteNamespacedLease({ name, namespace: 'kube-node-lease' }).catch((error: unknown) => {
          if (apiStatus(error) !== 404) throw error;
        }),
      ),
    );
  }
}

const ignoreNotFound = (error: unknown) => {
  if (apiStatus(error) !== 404) throw error;
};

function controllerRef(apiVersion: string, kind: string, metadata: { name?: string; uid?: string }): V1OwnerReference {
  return { apiVersion, kind, name: metadata.name!, uid: metadata.uid!, controller: true, blockOwnerDeletion: true };
}
