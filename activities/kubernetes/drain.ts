import type { V1Pod } from '@kubernetes/client-node';
import { ApplicationFailure, Context } from '@temporalio/activity';
import pLimit from 'p-limit';
import { failureTypes } from '../../common/failures.js';
import type { DrainSettings } from '../../common/settings.js';
import type { ActivityMetrics } from '../index.js';
import type { PodLeft } from '../../common/status.js';
import { httpCode, kubeFailure, type KubeClients } from './client.js';
import { planDrain, podName, ownRank, type OwnPods } from './drain-plan.js';
import { abortable, evictPod, retryAfterMs, type EvictionOutcome } from './eviction.js';

export interface DrainInput {
  nodeName: string;
  settings: DrainSettings;
  /** Epoch ms after which this attempt gives up (the grace period, or a Spot notice's end). */
  deadlineEpochMs: number;
  /** The instance is stopped or terminated: its kubelet finishes no deletion, none is waited for. */
  kubeletGone?: boolean;
  /** The attempt's number and when the node's first attempt began (for the drain's metrics). */
  attempt?: number;
  drainStartedEpochMs?: number;
}

export interface DrainProgress {
  podsLeft: string[];
  /** Each pod left with its last outcome; absent in details recorded before it existed. */
  left?: PodLeft[];
  /** Pods this attempt has evicted so far; a retry of the attempt (another worker) carries them on. */
  evicted?: string[];
  /** Pods whose eviction a PodDisruptionBudget refused (429) in the last round. */
  blockedByBudget: string[];
  /**
   * Pods whose eviction the API server refused otherwise in the last round, with its words (a pod
   * under two budgets, an admission policy, a webhook): each is tried again next round.
   */
  refused?: string[];
  /** Pods deleted but no longer waited for (SKIP_WAIT_FOR_DELETE_TIMEOUT, or a kubelet that is gone). */
  notWaitedFor?: string[];
}

export interface DrainResult {
  /** Pods evicted by this attempt, `namespace/name`. */
  evicted: string[];
  skipped: string[];
  notWaitedFor?: string[];
}

/** What a drain of the node would do now (DRY_RUN): nothing is evicted. */
export interface DrainRehearsal {
  /** Pods the drain would evict, `namespace/name`, in the order it would. */
  wouldEvict: string[];
  /** Pods it would leave (DaemonSets', mirror pods), each with why. */
  skipped: string[];
  /** Why the drain would refuse the node (emptyDir data without DELETE_LOCAL_DATA, ...); empty when it would not. */
  undrainable: string[];
}

export interface DrainOptions {
  pollMs?: number;
  /** How often the activity heartbeats to Temporal, whatever a round of evictions takes. */
  heartbeatMs?: number;
  /** tnth's own pods: evicted last, this worker's own pod the very last. */
  own?: OwnPods;
  metrics?: ActivityMetrics | undefined;
}

const defaultConcurrency = 32;

/**
 * Evictions one worker sends at once over all its drains: a thousand drains of 32 each would open
 * tens of thousands of connections to the API server. Beyond this, drains share the worker's slots.
 */
const workerConcurrency = 256;

/** Each pod's last outcome, as the status and the failure message name it. */
const reasons: Record<Exclude<EvictionOutcome['kind'], 'refused' | 'throttled'>, string> = {
  evicted: 'evicted, terminating',
  'namespace-terminating': 'its namespace is being deleted',
  budget: 'eviction refused by a PodDisruptionBudget',
};

/**
 * The drain heartbeats to Temporal this often, on a timer, and when it has evicted more pods: each heartbeat that
 * reaches the server is a write there (and a billable action on Temporal Cloud), and what it buys a
 * drain is only the notice of a lost worker (within the 30 s heartbeat timeout) and of a cancel (an
 * operator's stop or skip, within this). A failed attempt's lifecycle loop does not wait on it: the
 * attempt's failure reaches the workflow as the activity's result.
 */
export const drainHeartbeatMs = 20_000;

export function createDrainActivities(kube: KubeClients, options: DrainOptions = {}) {
  const { pollMs = 1_000, heartbeatMs = drainHeartbeatMs, own = {}, metrics } = options;
  const { core } = kube;
  const workerLimit = pLimit(workerConcurrency);

  return {
    /**
     * Evicts every pod of the node that a drain should move and waits until they are gone, each pod
     * on its own, `evictionConcurrency` at a time. Safe to run again after a crash or on another
     * worker: it starts from what the API server shows and the evictions its heartbeats carried.
     */
    async drainNode(input: DrainInput): Promise<DrainResult> {
      const { info } = Context.current();
      const key = `${info.workflowExecution?.workflowId ?? info.activityType}/${info.activityId}`;
      const started = Date.now();
      const ended = (outcome: 'succeeded' | 'failed') => {
        metrics?.drain(outcome);
        metrics?.drainAttemptEnded(outcome, (Date.now() - started) / 1000);
      };
      metrics?.drainRunning(key, true);
      try {
        const result = await drain(input, (progress) => metrics?.drainBlocked(key, progress.blockedByBudget.length));
        ended('succeeded');
        if (input.drainStartedEpochMs !== undefined && input.attempt !== undefined)
          metrics?.nodeDrained((Date.now() - input.drainStartedEpochMs) / 1000, input.attempt);
        return result;
      } catch (error) {
        ended('failed');
        throw error;
      } finally {
        metrics?.drainBlocked(key, 0);
        metrics?.drainRunning(key, false);
      }
    },

    /** DRY_RUN's drain: reads the node's pods and plans as `drainNode` would, and changes nothing. */
    async rehearseDrain(input: Pick<DrainInput, 'nodeName' | 'settings' | 'kubeletGone'>): Promise<DrainRehearsal> {
      const signal = Context.current().cancellationSignal;
      if (!(await nodeExists(input.nodeName, signal))) throw nodeGone(input.nodeName);
      const { items } = await listPods(input.nodeName, 'cached', signal);
      const daemonSets = new Map<string, Promise<boolean>>();
      const plan = await planDrain(items, input.settings, {
        own,
        kubeletGone: input.kubeletGone ?? false,
        daemonSetExists: (namespace, name) => daemonSetExists(daemonSets, namespace, name, signal),
      });
      return { wouldEvict: plan.evict.map(podName), skipped: plan.skipped, undrainable: plan.undrainable };
    },
  };

  async function drain(input: DrainInput, onProgress: (progress: DrainProgress) => void): Promise<DrainResult> {
    const ctx = Context.current();
    const signal = ctx.cancellationSignal;
    const { nodeName, settings } = input;
    const resumed = ctx.info.heartbeatDetails as DrainProgress | undefined;
    const evicted = new Set<string>(resumed?.evicted ?? []);
    const outcome = new Map<string, string>();
    const daemonSets = new Map<string, Promise<boolean>>();
    let waiting: V1Pod[] = [];
    let notWaitedFor: string[] = [];
    const report = (): DrainProgress => {
      const left = waiting.map((pod) => ({
        pod: podName(pod),
        reason: outcome.get(podName(pod)) ?? 'not evicted yet',
      }));
      return {
        podsLeft: left.map((l) => l.pod),
        left,
        evicted: [...evicted],
        blockedByBudget: left.filter((l) => l.reason === reasons.budget).map((l) => l.pod),
        refused: left
          .filter((l) => l.reason.startsWith('eviction refused: '))
          .map((l) => `${l.pod}: ${l.reason.slice(18)}`),
        notWaitedFor,
      };
    };
    // On a timer, not per round: a round of slow evictions (a webhook on each) may outlast the
    // heartbeat timeout, and cancellation reaches the activity only through a heartbeat.
    const beat = setInterval(() => ctx.heartbeat(report()), heartbeatMs);
    let reported = evicted.size;
    try {
      let listed = await listPods(nodeName, 'cached', signal);
      // A consistent list's resourceVersion is etcd's newest; a watch cache asked for it may have to
      // wait for it (or refuse, before Kubernetes 1.31): cached lists follow cached lists only.
      let cachedVersion = listed.resourceVersion;
      let lastLook = false;
      for (let round = 0; ; round++) {
        if (!(await nodeExists(nodeName, signal))) throw nodeGone(nodeName);
        const plan = await planDrain(listed.items, settings, {
          own,
          kubeletGone: input.kubeletGone ?? false,
          daemonSetExists: (namespace, name) => daemonSetExists(daemonSets, namespace, name, signal),
        });
        if (plan.undrainable.length > 0) {
          throw ApplicationFailure.create({
            type: failureTypes.undrainable,
            message: `cannot drain node ${nodeName}: ${plan.undrainable.join('; ')}`,
            nonRetryable: true,
          });
        }
        waiting = plan.evict;
        notWaitedFor = plan.notWaitedFor;
        if (waiting.length === 0 && listed.from === 'cached') {
          // The watch cache may lag: only a consistent read says the node is empty.
          listed = await listPods(nodeName, 'consistent', signal);
          continue;
        }
        if (waiting.length === 0) {
          onProgress(report());
          return { evicted: [...evicted], skipped: plan.skipped, notWaitedFor };
        }
        if (Date.now() >= input.deadlineEpochMs) {
          if (lastLook) throw timedOut(nodeName, report());
          // At the deadline, one more round: a budget that allowed the eviction a moment ago, or a pod
          // that went meanwhile, makes the attempt a success, not a timeout followed by a retry.
          lastLook = true;
          await evictAll(waiting, settings, evicted, outcome, signal);
          onProgress(report());
          await ctx.sleep(pollMs);
          listed = await listPods(nodeName, 'consistent', signal);
          continue;
        }
        const { throttledMs, refusals } = await evictAll(waiting, settings, evicted, outcome, signal);
        // New evictions go into the details at once: a retried attempt resumes knowing them.
        if (evicted.size > reported) {
          reported = evicted.size;
          ctx.heartbeat(report());
        }
        // The metrics follow every round, whatever reaches Temporal.
        onProgress(report());
        // Refused evictions are retried with a growing pause, a throttled round after the server's
        // Retry-After; deleted pods are polled.
        const backoff = refusals > 0 ? Math.min(pollMs * 2 ** Math.min(round, 3), 5 * pollMs) : pollMs;
        const pause = Math.max(backoff, throttledMs);
        await ctx.sleep(Math.min(pause, Math.max(input.deadlineEpochMs - Date.now(), 0) + 1));
        listed = await listPods(nodeName, 'cached', signal, cachedVersion);
        cachedVersion = listed.resourceVersion;
      }
    } finally {
      clearInterval(beat);
    }
  }

  /**
   * Evicts the pods not yet being deleted, `evictionConcurrency` at once: every other pod first,
   * then tnth's own replicas, then this worker's own pod, each only once all before it are evicted.
   * A throttled eviction stops new ones this round.
   */
  async function evictAll(
    pods: V1Pod[],
    settings: DrainSettings,
    evicted: Set<string>,
    outcome: Map<string, string>,
    signal: AbortSignal,
  ) {
    const limit = pLimit(settings.evictionConcurrency ?? defaultConcurrency);
    let throttledMs = 0;
    let refusals = 0;
    for (const rank of [0, 1, 2]) {
      const pending = pods.filter((p) => ownRank(p, own) === rank && p.metadata?.deletionTimestamp === undefined);
      if (rank === 2 && pending.length > 0) {
        Context.current().log.info(
          `worker pod ${own.namespace}/${own.podName} is on the node it drains: evicting it last; another replica resumes the drain`,
          { nodeName: own.nodeName },
        );
      }
      const notOut = new Set<string>();
      const evictions = Promise.all(
        pending.map((pod) =>
          limit(() =>
            workerLimit(async () => {
              const name = podName(pod);
              if (throttledMs > 0) {
                notOut.add(name);
                return;
              }
              const result = await evictPod(core, pod, settings.podTerminationGracePeriodSeconds, signal);
              if (result.kind === 'throttled') {
                throttledMs = Math.max(throttledMs, result.retryAfterMs);
                notOut.add(name);
                return;
              }
              if (result.kind === 'evicted') evicted.add(name);
              if (result.kind === 'budget' || result.kind === 'refused') {
                refusals++;
                notOut.add(name);
              }
              outcome.set(
                name,
                result.kind === 'refused' ? `eviction refused: ${result.reason}` : reasons[result.kind],
              );
            }),
          ),
        ),
      );
      // A failed eviction (the server out of reach) fails the try: the queued ones are not sent.
      await evictions.catch((error: unknown) => {
        limit.clearQueue();
        throw error;
      });
      // tnth's own pods go only once every pod before them is on its way out.
      if (notOut.size > 0) break;
    }
    // What the pods show now is their reason, whatever an earlier round said of them.
    for (const pod of pods) {
      const name = podName(pod);
      if (pod.metadata?.deletionTimestamp !== undefined && outcome.get(name) !== reasons['namespace-terminating']) {
        outcome.set(name, evicted.has(name) ? reasons.evicted : 'terminating');
      }
    }
    return { throttledMs, refusals };
  }

  /**
   * The node's pods: from the API server's watch cache (`cached`: resourceVersion 0, then no older
   * than the last cached list), never a quorum read of etcd per round; `consistent` for the verdict.
   * A 429 (API Priority and Fairness) is waited out for its Retry-After, not failed.
   */
  async function listPods(
    nodeName: string,
    from: 'cached' | 'consistent',
    signal: AbortSignal,
    notOlderThan?: string,
  ): Promise<{ items: V1Pod[]; resourceVersion: string | undefined; from: typeof from }> {
    const cache =
      from === 'consistent'
        ? {}
        : notOlderThan
          ? { resourceVersion: notOlderThan, resourceVersionMatch: 'NotOlderThan' }
          : { resourceVersion: '0' };
    for (;;) {
      try {
        const list = await core.listPodForAllNamespaces(
          { fieldSelector: `spec.nodeName=${nodeName}`, ...cache },
          abortable(signal),
        );
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion, from };
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (httpCode(error) !== 429) throw kubeFailure(`listing the pods of node ${nodeName}`, error);
        await Context.current().sleep(retryAfterMs(error));
      }
    }
  }

  async function nodeExists(nodeName: string, signal: AbortSignal): Promise<boolean> {
    try {
      const list = await core.listNode(
        { fieldSelector: `metadata.name=${nodeName}`, resourceVersion: '0' },
        abortable(signal),
      );
      return list.items.length > 0;
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw kubeFailure(`reading node ${nodeName}`, error);
    }
  }

  /** Whether a pod's DaemonSet still exists, asked once per DaemonSet and attempt. */
  function daemonSetExists(cache: Map<string, Promise<boolean>>, namespace: string, name: string, signal: AbortSignal) {
    const key = `${namespace}/${name}`;
    let known = cache.get(key);
    if (!known) {
      known = kube.apps.readNamespacedDaemonSet({ name, namespace }, abortable(signal)).then(
        () => true,
        (error: unknown) => {
          cache.delete(key);
          if (httpCode(error) === 404) return false;
          if (signal.aborted) throw signal.reason;
          throw kubeFailure(`reading DaemonSet ${key}`, error);
        },
      );
      cache.set(key, known);
    }
    return known;
  }
}

/** The node was deleted mid-drain: nothing is left to drain; the runbook ends as NodeNotFound. */
const nodeGone = (nodeName: string) =>
  ApplicationFailure.create({
    type: failureTypes.nodeGone,
    message: `draining node ${nodeName}: the node is gone`,
    nonRetryable: true,
  });

function timedOut(nodeName: string, progress: DrainProgress) {
  const { left = [], blockedByBudget, refused = [] } = progress;
  return ApplicationFailure.create({
    type: failureTypes.drainTimeout,
    message:
      `draining node ${nodeName} did not finish in time; pods left: ${progress.podsLeft.join(', ')}` +
      (blockedByBudget.length ? `; evictions refused by a PodDisruptionBudget: ${blockedByBudget.join(', ')}` : '') +
      (refused.length ? `; evictions refused: ${refused.join('; ')}` : '') +
      `; each pod: ${left.map((l) => `${l.pod} (${l.reason})`).join(', ')}`,
    details: [progress],
  });
}
