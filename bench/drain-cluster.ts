// The drain bench's objects in the stack's Kubernetes: a namespace of its own (so the eviction
// webhook touches nothing else), kwok nodes full of ReplicaSet pods, and their removal.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminClients, apiStatus, KubeFixture, mergePatch, until, type KubeClients } from '../test/helpers/kube.js';

/**
 * kwok deletes an evicted pod when its grace period ends (dev/k8s/kwok.yaml), so the drains wait
 * about this long for each pod. 1 s rather than 0: the smallest wait a real container gives.
 */
export const podGraceSeconds = 1;
const pauseImage = 'registry.k8s.io/pause:3.10';
/** Pod creations in flight at once while filling a node: the API server, not the bench, sets the pace. */
const createConcurrency = 16;

const ignore404 = (error: unknown) => {
  if (apiStatus(error) !== 404) throw error;
};

/** Runs `task` over `items`, `limit` at a time. */
export async function inPool<T>(items: T[], limit: number, task: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export class BenchCluster {
  readonly run = randomBytes(4).toString('hex');
  readonly namespace = `tnth-bench-drain-${this.run}`;
  /** The webhook's namespaceSelector matches this label, which only the bench's namespace carries. */
  readonly namespaceLabels = { 'tnth.dev/bench': `drain-${this.run}` };
  /** The pod capacity kwok gave the first node, before the bench raised it (if it had to). */
  kwokPodCapacity: string | undefined;
  private readonly nodes: KubeFixture;
  private readonly nodeNames: string[] = [];

  constructor(private readonly kube: KubeClients = adminClients()) {
    this.nodes = new KubeFixture(kube);
  }

  async createNamespace(): Promise<void> {
    await this.kube.core.createNamespace({
      body: { metadata: { name: this.namespace, labels: this.namespaceLabels } },
    });
  }

  /** A Ready kwok node, cordoned, running `pods` pods of one ReplicaSet. */
  async filledNode(pods: number): Promise<string> {
    const name = this.nodes.name(`rs`);
    const node = (await this.nodes.node({ labels: this.namespaceLabels })).metadata!.name!;
    this.nodeNames.push(node);
    const ready = await this.nodes.nodeReady(node);
    this.kwokPodCapacity ??= ready.status?.allocatable?.pods;
    if (Number(ready.status?.allocatable?.pods ?? 0) < pods) {
      // kwok keeps a node's capacity once set; a kubelet would refuse pods past it.
      const capacity = { pods: String(pods) };
      await this.kube.core.patchNodeStatus(
        { name: node, body: { status: { capacity, allocatable: capacity } } },
        mergePatch(),
      );
    }
    // Cordoned before either drain starts, so kubectl's cordon finds nothing to do, as tnth's drain.
    await this.kube.core.patchNode({ name: node, body: { spec: { unschedulable: true } } }, mergePatch());

    const labels = { app: name, ...this.namespaceLabels };
    const replicaSet = await this.kube.apps.createNamespacedReplicaSet({
      namespace: this.namespace,
      body: {
        metadata: { name, namespace: this.namespace, labels },
        spec: {
          replicas: pods,
          selector: { matchLabels: labels },
          template: { metadata: { labels }, spec: { containers: [{ name: 'main', image: pauseImage }] } },
        },
      },
    });
    const owner = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      name,
      uid: replicaSet.metadata!.uid!,
      controller: true,
      blockOwnerDeletion: true,
    };
    const indexes = Array.from({ length: pods }, (_, i) => i);
    await inPool(indexes, createConcurrency, (i) =>
      this.kube.core.createNamespacedPod({
        namespace: this.namespace,
        body: {
          metadata: { name: `${name}-${i}`, namespace: this.namespace, labels, ownerReferences: [owner] },
          spec: {
            nodeName: node,
            terminationGracePeriodSeconds: podGraceSeconds,
            containers: [{ name: 'main', image: pauseImage }],
          },
        },
      }),
    );
    await until(
      `${pods} pods run on ${node}`,
      async () => (await this.pods(node)).filter((p) => p.status?.phase === 'Running').length === pods,
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    return node;
  }

  /** The bench's pods still on the node, terminating ones included. */
  async pods(node: string) {
    const { items } = await this.kube.core.listNamespacedPod({
      namespace: this.namespace,
      fieldSelector: `spec.nodeName=${node}`,
    });
    return items;
  }

  /**
   * Removes the nodes, the pods and ReplicaSets, and the namespace. No controller manager runs on
   * the stack: the bench deletes what the garbage collector would, and finalizes the namespace
   * itself (the namespace controller would), or it would stay Terminating for ever.
   */
  async cleanup(): Promise<void> {
    const { core, apps, coordination } = this.kube;
    const namespace = this.namespace;
    const labelSelector = Object.entries(this.namespaceLabels)
      .map(([key, value]) => `${key}=${value}`)
      .join(',');
    await core.deleteCollectionNode({ labelSelector });
    await Promise.all(
      this.nodeNames.map((name) =>
        coordination.deleteNamespacedLease({ name, namespace: 'kube-node-lease' }).catch(ignore404),
      ),
    );
    // The namespace first: once it is terminating, nothing new can be created in it.
    await core.deleteNamespace({ name: namespace }).catch(ignore404);
    await core.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 }).catch(ignore404);
    await apps.deleteCollectionNamespacedReplicaSet({ namespace }).catch(ignore404);
    for (let tries = 0; tries < 20; tries++) {
      try {
        const terminating = await core.readNamespace({ name: namespace });
        await core.replaceNamespaceFinalize({ name: namespace, body: { ...terminating, spec: { finalizers: [] } } });
      } catch (error) {
        if (apiStatus(error) === 404) return;
        // A conflict: the namespace changed between the read and the finalize.
        if (apiStatus(error) !== 409) throw error;
      }
      await sleep(250);
    }
    throw new Error(`namespace ${namespace} is still there after finalizing it`);
  }
}
