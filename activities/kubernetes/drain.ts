import type { V1Pod } from '@kubernetes/client-node';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { failureTypes } from '../../common/failures.js';
import type { DrainSettings } from '../../common/settings.js';
import { describeKubeError, hasCause, httpCode, kubeFailure, retryAfterSeconds, type KubeClients } from './client.js';

export interface DrainInput {
  nodeName: string;
  settings: DrainSettings;
  /** Epoch ms after which this attempt gives up (the grace period, or a Spot notice's end). */
  deadlineEpochMs: number;
}

export interface DrainProgress {
  podsLeft: string[];
  /** Pods this attempt has evicted so far; a retry of the attempt (another worker) carries them on. */
  evicted?: string[];
  /** Pods whose eviction a PodDisruptionBudget refused (429) in the last round. */
  blockedByBudget: string[];
  /**
   * Pods whose eviction the API server refused otherwise in the last round, with its words (a pod
   * under two budgets, an admission policy, a webhook): each is tried again next round, and no
   * refusal stops the evictions of the other pods.
   */
  refused?: string[];
}

export interface DrainResult {
  /** Pods evicted by this attempt, `namespace/name`. */
  evicted: string[];
  skipped: string[];
}

const podName = (pod: V1Pod) => `${pod.metadata?.namespace}/${pod.metadata?.name}`;
const isMirror = (pod: V1Pod) => pod.metadata?.annotations?.['kubernetes.io/config.mirror'] !== undefined;
const isDaemonSetPod = (pod: V1Pod) => pod.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet') ?? false;
const hasLocalData = (pod: V1Pod) => pod.spec?.volumes?.some((v) => v.emptyDir !== undefined) ?? false;
const isFinished = (pod: V1Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';

/** Which pods a drain evicts and which it leaves, with the reason, as `kubectl drain` decides. */
export function classifyPods(pods: V1Pod[], settings: DrainSettings) {
  const evict: V1Pod[] = [];
  const skipped: string[] = [];
  const undrainable: string[] = [];
  for (const pod of pods) {
    if (isMirror(pod)) skipped.push(`${podName(pod)} (mirror pod)`);
    else if (isDaemonSetPod(pod)) {
      if (settings.ignoreDaemonSets) skipped.push(`${podName(pod)} (DaemonSet)`);
      else undrainable.push(`${podName(pod)} is managed by a DaemonSet (IGNORE_DAEMON_SETS=false)`);
    } else if (isFinished(pod)) skipped.push(`${podName(pod)} (finished)`);
    else if (hasLocalData(pod) && !settings.deleteLocalData) {
      undrainable.push(`${podName(pod)} has emptyDir data (DELETE_LOCAL_DATA=false)`);
    } else evict.push(pod);
  }
  return { evict, skipped, undrainable };
}

export interface DrainOptions {
  pollMs?: number;
  onDrain?: (outcome: 'succeeded' | 'failed') => void;
}

export function createDrainActivities({ core }: KubeClients, { pollMs = 1_000, onDrain }: DrainOptions = {}) {
  return {
    /**
     * Evicts every pod of the node that a drain should move and waits until they are gone. Safe to
     * run again after a crash: it starts from what the API server shows. Heartbeats the pods left so
     * the Web UI shows progress; a PDB's 429 is retried until the deadline.
     */
    async drainNode(input: DrainInput): Promise<DrainResult> {
      try {
        const result = await drain(input);
        onDrain?.('succeeded');
        return result;
      } catch (error) {
        onDrain?.('failed');
        throw error;
      }
    },
  };

  async function drain(input: DrainInput): Promise<DrainResult> {
    const ctx = Context.current();
    const { nodeName, settings } = input;
    // A retry of this attempt (a worker shut down or lost) carries on from its last report.
    const resumed = ctx.info.heartbeatDetails as DrainProgress | undefined;
    const evicted = new Set<string>(resumed?.evicted ?? []);
    for (let round = 0; ; round++) {
      const { items } = await core
        .listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` })
        .catch((error: unknown) => {
          throw kubeFailure(`listing the pods of node ${nodeName}`, error);
        });
      const plan = classifyPods(items, settings);
      if (plan.undrainable.length > 0) {
        throw ApplicationFailure.create({
          type: failureTypes.undrainable,
          message: `cannot drain node ${nodeName}: ${plan.undrainable.join('; ')}`,
          nonRetryable: true,
        });
      }
      if (plan.evict.length === 0) return { evicted: [...evicted], skipped: plan.skipped };
      const blockedByBudget: string[] = [];
      const refused: string[] = [];
      const report = (): DrainProgress => ({
        podsLeft: plan.evict.map(podName),
        evicted: [...evicted],
        blockedByBudget,
        refused,
      });
      let throttledMs = 0;
      for (const pod of plan.evict.filter((p) => p.metadata?.deletionTimestamp === undefined)) {
        const outcome = await evict(core, pod, settings.podTerminationGracePeriodSeconds, ctx.cancellationSignal);
        if (outcome === 'blocked') blockedByBudget.push(podName(pod));
        else if (outcome === 'evicted') evicted.add(podName(pod));
        else if ('refused' in outcome) refused.push(`${podName(pod)}: ${outcome.refused}`);
        else {
          // API Priority and Fairness sheds load: no budget said no, the server asks us to wait.
          throttledMs = outcome.retryAfterMs;
          break;
        }
        // After each eviction, not each round: a round of slow evictions outlasts the heartbeat timeout.
        ctx.heartbeat(report());
      }
      const progress = report();
      ctx.heartbeat(progress);
      if (Date.now() >= input.deadlineEpochMs) {
        throw ApplicationFailure.create({
          type: failureTypes.drainTimeout,
          message:
            `draining node ${nodeName} did not finish in time; pods left: ${progress.podsLeft.join(', ')}` +
            (blockedByBudget.length
              ? `; evictions refused by a PodDisruptionBudget: ${blockedByBudget.join(', ')}`
              : '') +
            (refused.length ? `; evictions refused: ${refused.join('; ')}` : ''),
          details: [progress],
        });
      }
      // Refused evictions are retried with a growing pause, a throttled round after the server's
      // Retry-After; deleted pods are polled.
      const refusals = blockedByBudget.length + refused.length;
      const backoff = refusals > 0 ? Math.min(pollMs * 2 ** Math.min(round, 3), 5 * pollMs) : pollMs;
      const pause = Math.max(backoff, throttledMs);
      await ctx.sleep(Math.min(pause, Math.max(input.deadlineEpochMs - Date.now(), 0) + 1));
    }
  }
}

async function evict(
  core: KubeClients['core'],
  pod: V1Pod,
  gracePeriodSeconds: number,
  signal: AbortSignal,
): Promise<'evicted' | 'blocked' | { refused: string } | { retryAfterMs: number }> {
  const name = pod.metadata?.name ?? '';
  const namespace = pod.metadata?.namespace ?? 'default';
  try {
    await core.createNamespacedPodEviction({
      name,
      namespace,
      body: {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name, namespace },
        ...(gracePeriodSeconds >= 0 ? { deleteOptions: { gracePeriodSeconds } } : {}),
      },
    });
    return 'evicted';
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    const code = httpCode(error);
    // A budget's refusal names it among the causes; any other 429 is API Priority and Fairness.
    if (code === 429 && hasCause(error, 'DisruptionBudget')) return 'blocked';
    if (code === 429) return { retryAfterMs: retryAfterMs(error) };
    if (code === 404) return 'evicted';
    // The namespace is being deleted, and the pod with it (kubectl drain waits for it the same way).
    if (code === 403 && hasCause(error, 'NamespaceTerminating')) return 'evicted';
    // No answer at all: the API server is out of reach for every pod, not refusing this one.
    if (code === undefined) throw kubeFailure(`evicting pod ${namespace}/${name}`, error);
    return { refused: describeKubeError(error) };
  }
}

/** The server's Retry-After (its Status's `retryAfterSeconds`, else the header), at most 10 s. */
function retryAfterMs(error: unknown): number {
  const seconds = retryAfterSeconds(error);
  return Math.min(Number.isFinite(seconds) && seconds > 0 ? seconds : 1, 10) * 1000;
}
