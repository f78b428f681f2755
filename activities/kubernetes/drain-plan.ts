// Which pods a drain evicts, which it leaves and which stop it: kubectl's rules (k8s.io/kubectl
// pkg/drain filters.go), in its order, with `--force` as NTH sets it (pods without a controller go).
import type { V1Pod } from '@kubernetes/client-node';
import type { DrainSettings } from '../../common/settings.js';

/** kubectl's --skip-wait-for-delete-timeout as tnth defaults it; see the README. */
export const defaultSkipWaitForDeleteSeconds = 60;

/** tnth's own pods on a node: the worker running the drain, and its release's other replicas. */
export interface OwnPods {
  podName?: string | undefined;
  namespace?: string | undefined;
  /** The node this worker runs on. */
  nodeName?: string | undefined;
  /** The release's pod labels (OWN_PODS_SELECTOR, `key=value,...`). */
  labels?: Record<string, string> | undefined;
}

export interface DrainPlan {
  /** In eviction order: finished pods, then the rest, then tnth's replicas, then this worker's own pod. */
  evict: V1Pod[];
  /** Left on the node on purpose, each with why. */
  skipped: string[];
  /** Pods being deleted longer than the skip-wait timeout allows: no longer waited for. */
  notWaitedFor: string[];
  /** Pods no drain may evict under these settings, each with why: the attempt fails at once. */
  undrainable: string[];
}

export const podName = (pod: V1Pod) => `${pod.metadata?.namespace}/${pod.metadata?.name}`;
const isMirror = (pod: V1Pod) => pod.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined;
const controllerOf = (pod: V1Pod) => pod.metadata?.ownerReferences?.find((o) => o.controller === true);
const hasLocalData = (pod: V1Pod) => pod.spec?.volumes?.some((v) => v.emptyDir !== undefined) ?? false;
export const isFinished = (pod: V1Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

/**
 * Whether a drain waits for a pod already being deleted. kubectl's rule: not once its
 * deletionTimestamp (the moment its grace period ends) is more than the timeout in the past, for a
 * kubelet that has not finished it by then is not going to. A kubelet known to be gone (the instance
 * stopped or terminated) finishes nothing: no pod of its is waited for.
 */
export function waitsFor(pod: V1Pod, settings: DrainSettings, kubeletGone: boolean, now = Date.now()): boolean {
  const deleting = pod.metadata?.deletionTimestamp;
  if (deleting === undefined) return true;
  if (kubeletGone) return false;
  const timeoutSeconds = settings.skipWaitForDeleteTimeoutSeconds ?? defaultSkipWaitForDeleteSeconds;
  return timeoutSeconds === 0 || now - new Date(deleting).getTime() <= timeoutSeconds * 1000;
}

export function ownRank(pod: V1Pod, own: OwnPods): 0 | 1 | 2 {
  const { name, namespace, labels = {} } = pod.metadata ?? {};
  if (own.namespace === undefined || namespace !== own.namespace) return 0;
  if (own.podName !== undefined && name === own.podName) return 2;
  const selector = Object.entries(own.labels ?? {});
  return selector.length > 0 && selector.every(([k, v]) => labels[k] === v) ? 1 : 0;
}

/**
 * The plan for one round. `daemonSetExists` answers for a pod's controlling DaemonSet: kubectl
 * evicts the pods of one that is gone (orphaned by `kubectl delete ds --cascade=orphan`).
 */
export async function planDrain(
  pods: V1Pod[],
  settings: DrainSettings,
  options: { own?: OwnPods; kubeletGone?: boolean; daemonSetExists(namespace: string, name: string): Promise<boolean> },
): Promise<DrainPlan> {
  const plan: DrainPlan = { evict: [], skipped: [], notWaitedFor: [], undrainable: [] };
  for (const pod of pods) {
    const name = podName(pod);
    if (!waitsFor(pod, settings, options.kubeletGone ?? false)) {
      plan.notWaitedFor.push(name);
      continue;
    }
    const finished = isFinished(pod);
    const controller = controllerOf(pod);
    if (controller?.kind === 'DaemonSet' && !finished) {
      if (await options.daemonSetExists(pod.metadata?.namespace ?? '', controller.name)) {
        if (settings.ignoreDaemonSets) plan.skipped.push(`${name} (DaemonSet)`);
        else plan.undrainable.push(`${name} is managed by a DaemonSet (IGNORE_DAEMON_SETS=false)`);
        continue;
      }
      // Its DaemonSet is gone: an orphan nothing recreates here, evicted like any other pod.
    }
    if (isMirror(pod)) {
      plan.skipped.push(`${name} (mirror pod)`);
      continue;
    }
    if (hasLocalData(pod) && !finished && !settings.deleteLocalData) {
      plan.undrainable.push(`${name} has emptyDir data (DELETE_LOCAL_DATA=false)`);
      continue;
    }
    plan.evict.push(pod);
  }
  // Finished pods cost nothing to remove and no budget counts them; tnth's own go last, this
  // worker's pod the very last, so the drain has handed over all else before its worker stops.
  const rank = (pod: V1Pod) => (isFinished(pod) ? -1 : ownRank(pod, options.own ?? {}));
  plan.evict.sort((a, b) => rank(a) - rank(b));
  return plan;
}
