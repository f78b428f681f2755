// The demo's PodDisruptionBudget: one of the ReplicaSet's pods may be down at a time, so a drain
// evicts a node's pods one by one, each once the one before has a Ready replacement elsewhere.
//
// A cluster's controller manager is what makes such a budget work: its disruption controller writes
// the status the eviction API decides by (disruptionsAllowed), and the ReplicaSet controller, with the
// scheduler, replaces an evicted pod. docker compose's Kubernetes runs them; the local stack runs none.
// Where no controller writes the budget's status, the demo plays both for its own pods while it runs,
// computing what the disruption controller would.
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiException, type CoreV1Api, type PolicyV1Api, type V1Pod } from '@kubernetes/client-node';

/** The budget lets this many of the pods be down at once. */
const maxUnavailable = 1;
/** A disruption controller writes a new budget's status within a second or so; none wrote it by then: none runs. */
const controllerWaitMs = 3_000;
/** How often the stand-in looks: a Ready replacement allows the next eviction within this. */
const tickMs = 500;

export interface BudgetOptions {
  namespace: string;
  name: string;
  /** The ReplicaSet's pod labels, the budget's selector. */
  labels: Record<string, string>;
  /** The ReplicaSet's replicas: the pods the budget expects. */
  replicas: number;
  /** The demo's nodes (label selector): replacements go to the schedulable one with the fewest pods. */
  nodeSelector: string;
  /** Creates one of the ReplicaSet's pods on the node and returns its name. */
  createPod: (node: string) => Promise<string>;
  log: (message: string) => void;
}

export interface Budget {
  /** Ends the stand-in, if one runs, and waits until it has. */
  stop(): Promise<void>;
}

export async function createBudget(
  kube: { core: CoreV1Api; policy: PolicyV1Api },
  options: BudgetOptions,
): Promise<Budget> {
  const { namespace, name, labels, log } = options;
  await kube.policy.createNamespacedPodDisruptionBudget({
    namespace,
    body: {
      metadata: { name, namespace, labels },
      spec: { maxUnavailable, selector: { matchLabels: labels } },
    },
  });
  const deadline = Date.now() + controllerWaitMs;
  while (Date.now() < deadline) {
    const pdb = await kube.policy.readNamespacedPodDisruptionBudget({ name, namespace });
    if (pdb.status?.observedGeneration !== undefined) {
      log(
        `budget ${name}: at most ${maxUnavailable} of ${options.replicas} pods down, kept by the cluster's controllers`,
      );
      return { stop: async () => {} };
    }
    await sleep(200);
  }
  log(
    `budget ${name}: at most ${maxUnavailable} of ${options.replicas} pods down; no controller manager runs here, ` +
      'so the demo writes its status and replaces evicted pods',
  );
  return standIn(kube, options);
}

async function standIn(kube: { core: CoreV1Api; policy: PolicyV1Api }, options: BudgetOptions): Promise<Budget> {
  const { namespace, name, replicas, log } = options;
  const labelSelector = Object.entries(options.labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
  let shown = '';
  let lastError = '';

  async function tick(): Promise<void> {
    const pods = (await kube.core.listNamespacedPod({ namespace, labelSelector })).items;
    const live = pods.filter((pod) => !pod.metadata?.deletionTimestamp);
    // The ReplicaSet controller and the scheduler: the missing pods, on schedulable nodes.
    if (live.length < replicas) {
      const nodes = (await kube.core.listNode({ labelSelector: options.nodeSelector })).items
        .filter((node) => !node.spec?.unschedulable)
        .map((node) => node.metadata!.name!);
      for (let i = live.length; i < replicas && nodes.length > 0; i++) {
        const load = (node: string) => live.filter((pod) => pod.spec?.nodeName === node).length;
        const node = nodes.reduce((best, next) => (load(next) < load(best) ? next : best));
        const pod = await options.createPod(node);
        live.push({ metadata: { name: pod }, spec: { nodeName: node, containers: [] } });
        log(`replica set ${name}: ${pod} started on ${node} in place of an evicted pod`);
      }
    }
    // The disruption controller. An eviction the API server granted is in disruptedPods until its
    // pod is seen deleting: the pod counts as down from the grant on, not only once it terminates.
    const pdb = await kube.policy.readNamespacedPodDisruptionBudget({ name, namespace });
    const liveNames = new Set(live.map((pod) => pod.metadata!.name!));
    const disruptedPods = Object.fromEntries(
      Object.entries(pdb.status?.disruptedPods ?? {}).filter(([pod]) => liveNames.has(pod)),
    );
    const currentHealthy = live.filter((pod) => ready(pod) && !(pod.metadata!.name! in disruptedPods)).length;
    const desiredHealthy = replicas - maxUnavailable;
    const status = {
      observedGeneration: pdb.metadata!.generation,
      disruptionsAllowed: Math.max(0, currentHealthy - desiredHealthy),
      currentHealthy,
      desiredHealthy,
      expectedPods: replicas,
      disruptedPods,
    };
    if (JSON.stringify(status) === JSON.stringify(pick(pdb.status, status))) return;
    // With the resourceVersion read: an eviction granted meanwhile makes this a conflict, tried again.
    await kube.policy.replaceNamespacedPodDisruptionBudgetStatus({ name, namespace, body: { ...pdb, status } });
    const allowed = status.disruptionsAllowed;
    const line = `budget ${name}: ${allowed} eviction${allowed === 1 ? '' : 's'} allowed, ${currentHealthy} of ${replicas} pods Ready`;
    if (line !== shown) log((shown = line));
  }

  const stopping = new AbortController();
  await tick();
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      await sleep(tickMs, undefined, { signal: stopping.signal }).catch(() => undefined);
      if (stopping.signal.aborted) break;
      try {
        await tick();
      } catch (error) {
        if (error instanceof ApiException && error.code === 409) continue;
        const message = error instanceof Error ? error.message : String(error);
        if (message !== lastError) log(`budget ${name}: ${(lastError = message)}`);
      }
    }
  })();
  return {
    async stop() {
      stopping.abort();
      await loop;
    },
  };
}

function ready(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** The fields of `status` that `like` has, in its order, so the two compare as JSON. */
function pick(status: object | undefined, like: object): object {
  const from = (status ?? {}) as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(like).map((key) => [key, from[key] ?? (key === 'disruptedPods' ? {} : undefined)]),
  );
}
