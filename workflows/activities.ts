import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  TemporalFailure,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { OwnershipNote } from '../activities/ownership.js';
import type { RunbookSettings } from '../common/settings.js';
import { drainFailedTypes, permanentFailureTypes } from '../common/failures.js';
import { activityHeartbeatTimeoutSeconds, type LifecycleTarget } from '../common/lifecycle.js';
import { leanHistoryPatch, shortPhasesPatch } from './patches.js';

/** A call whose work has no deadline left still gets this long: an outcome event, a last webhook. */
const minimumCallBudgetMs = 60_000;

/**
 * Short calls to AWS and Kubernetes, retried with backoff until `deadlineEpochMs` (the lifecycle
 * action's drain deadline, or the drain deadline when no action holds the instance): an outage that
 * ends before it costs nothing but time. What can never succeed (a validation error, RBAC's 403)
 * fails at once with one of `permanentFailureTypes`.
 */
export function callsUntil(deadlineEpochMs: number) {
  const budgetMs = Math.max(deadlineEpochMs - Date.now(), minimumCallBudgetMs);
  return proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    scheduleToCloseTimeout: `${Math.ceil(budgetMs / 1000)} seconds`,
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      nonRetryableErrorTypes: [...permanentFailureTypes],
    },
  });
}

/**
 * One try, as a local activity: its result is a marker in the history, and no workflow task has to
 * deliver it. Ten seconds bound what cannot be cancelled (see `shortCall`): an operator's stop, or
 * the end of the phase, waits for it at most that long.
 */
const localTry = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  // Queueing for the worker's local activity slots counts too.
  scheduleToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 1 },
});

/**
 * The reads tried locally first (`triedLocallyFirst`): answered in milliseconds, and a try cut short
 * at its timeout changes nothing. Not the cordon: a write that lands after its try timed out would
 * make the retry record the node's changes as there before.
 */
export type LocalFirstCall = 'describeInstance' | 'findNode';

/**
 * `remote.<name>` tried once as a local activity first, under `shortPhasesPatch`: a lookup that
 * answers at once then costs one history event instead of six (an activity's three, and the workflow
 * task that delivers it). A try that fails in a way a retry may fix (a timeout, a 5xx, throttling)
 * goes on as the activity, retried until its deadline as before; what no retry fixes fails at once,
 * as the activity would. While a local activity runs, its workflow task stays open and no other
 * command reaches Temporal, a heartbeat loop's start included: the caller tries locally only when
 * the hold can wait (`LifecycleHolds.canGoUnheld`).
 */
export function triedLocallyFirst<K extends LocalFirstCall>(name: K, remote: Pick<Activities, K>): Activities[K] {
  const viaActivity = remote[name] as unknown as AnyCall;
  const viaLocal = localTry[name] as unknown as AnyCall;
  const call: AnyCall = async (...args) => {
    // A scope already cancelled (an operator's stop) must not start what it cannot cancel.
    if (!patched(shortPhasesPatch) || CancellationScope.current().consideredCancelled) return viaActivity(...args);
    try {
      return await CancellationScope.nonCancellable(() => viaLocal(...args));
    } catch (error) {
      if (isCancellation(error) || !retryable(error)) throw error;
      return viaActivity(...args);
    }
  };
  return call as unknown as Activities[K];
}

type AnyCall = (...args: unknown[]) => Promise<unknown>;

/**
 * What the activities' retry policy would retry: a timeout, or a failure neither permanent nor marked
 * non-retryable. A local activity's failure comes as the activity's own error, an activity's wrapped
 * in an ActivityFailure.
 */
function retryable(error: unknown): boolean {
  const failure = error instanceof ActivityFailure ? error.cause : error;
  if (failure instanceof ApplicationFailure) {
    return !failure.nonRetryable && !permanentFailureTypes.some((t) => t === failure.type);
  }
  return failure instanceof TemporalFailure;
}

/** Calls made before any deadline is known (the settings, the launch hook's timeouts): five minutes. */
export const calls = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '5 minutes',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: [...permanentFailureTypes],
  },
});

/**
 * Reading a hook's timeouts when a loop first needs them: a few quick tries, since the hold cannot
 * wait long for it; when it fails the hold assumes the shortest hook AWS allows. An activity, not a
 * local one (as `describeHookFirst` is): it runs in the hold's cancellation scope, which a phase that
 * ends first cancels, and a local activity cancelled in flight fails the workflow task with a
 * nondeterminism error in this SDK (1.24: "Invalid transition in state machine", the not-managed
 * path of the workflow tests).
 */
export const { describeLifecycleHook } = proxyActivities<Activities>({
  // At most about 18 s (three tries of 5 s, 1 s and 2 s apart) before the hold falls back.
  startToCloseTimeout: '5 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
});

const localHooks = proxyLocalActivities<Activities>({
  startToCloseTimeout: '5 seconds',
  // As `describeLifecycleHook`'s three tries, queueing for the worker's local activity slots included.
  scheduleToCloseTimeout: '18 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
});

/**
 * The hooks' read once the instance is known to be the run's (`LifecycleHolds.describeHooks`), under
 * `shortPhasesPatch`: a local activity that nothing cancels (at most 18 s), so the hold's clock is
 * known before the node's lookup, which it decides (`triedLocallyFirst`), and before the first drain
 * attempt, whose end it bounds. A loop that reads a hook later (an action that arrives mid-run) uses
 * `describeLifecycleHook`, which its scope cancels.
 */
export function describeHookFirst(target: LifecycleTarget): ReturnType<Activities['describeLifecycleHook']> {
  return CancellationScope.nonCancellable(() => localHooks.describeLifecycleHook(target));
}

/**
 * `local()` as a local activity under `leanHistoryPatch`, `remote()` as the activity it was before.
 * A local activity runs where no cancellation reaches it: cancelling one in flight fails the workflow
 * task with a nondeterminism error in this SDK (see `describeLifecycleHook`). The activity keeps the
 * cancellation it had, so the histories it recorded (a cancel while it ran) replay as they ran.
 */
function shortCall<R>(remote: () => Promise<R>, local: () => Promise<R>): Promise<R> {
  return patched(leanHistoryPatch) ? CancellationScope.nonCancellable(local) : remote();
}

const settingsOptions = { startToCloseTimeout: '30 seconds' } as const;
const localSettings = proxyLocalActivities<Activities>(settingsOptions);

/**
 * The worker's settings, read once per termination (its first run) and carried on; `remote` is the
 * activity each workflow read them with before the patch.
 */
export function readRunbookSettings(
  remote: Pick<Activities, 'runbookSettings'> = proxyActivities<Activities>(settingsOptions),
): Promise<RunbookSettings> {
  return shortCall(
    () => remote.runbookSettings(),
    () => localSettings.runbookSettings(),
  );
}

const notesOptions = { startToCloseTimeout: '10 seconds', retry: { maximumAttempts: 3 } } as const;
const remoteNotes = proxyActivities<Activities>(notesOptions);
const localNotes = proxyLocalActivities<Activities>(notesOptions);

/** A count and a log line, nothing the runbook waits long for. */
export function noteOwnershipOf(note: OwnershipNote): Promise<void> {
  return shortCall(
    () => remoteNotes.noteOwnership(note),
    () => localNotes.noteOwnership(note),
  );
}

/**
 * CompleteLifecycleAction: the activity retries Auto Scaling's errors itself (heartbeating the hold
 * meanwhile) until the action's global deadline and fails for good on a permanent error; Temporal
 * retries it only when its worker is lost.
 */
export const completion = proxyActivities<Activities>({
  startToCloseTimeout: '49 hours',
  heartbeatTimeout: `${activityHeartbeatTimeoutSeconds} seconds`,
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds' },
}).completeLifecycleAction;

/**
 * The lifecycle heartbeat loop of one action over one phase. Retried without limit (a lost worker's
 * loop resumes elsewhere from its heartbeat details); cancelled only through its scope, whose cancel
 * waits until it has stopped. It cannot outlive `untilEpochMs`, so neither may its timeout.
 */
export function heartbeatActivity(untilEpochMs: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: `${Math.max(0, Math.ceil((untilEpochMs - Date.now()) / 1000)) + 600} seconds`,
    heartbeatTimeout: `${activityHeartbeatTimeoutSeconds} seconds`,
    // A retry after a lost worker must come within lostWorkerSeconds (common/lifecycle.ts).
    retry: { initialInterval: '1 second', maximumInterval: '2 seconds' },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  }).lifecycleHeartbeat;
}

/**
 * One drain attempt. A drain that ran and failed (pods left at the attempt's end, pods no drain may
 * move) fails for good and the workflow counts it; anything that interrupted it (a worker's
 * shutdown, a lost worker, the API server out of reach) is retried by Temporal on any worker until
 * the attempt's end, and the retry resumes from what the API server shows.
 */
export function drainActivity(attemptSeconds: number) {
  const timeout = `${Math.ceil(attemptSeconds) + 60} seconds`;
  return proxyActivities<Activities>({
    startToCloseTimeout: timeout,
    scheduleToCloseTimeout: timeout,
    heartbeatTimeout: `${activityHeartbeatTimeoutSeconds} seconds`,
    retry: {
      initialInterval: '1 second',
      maximumInterval: '5 seconds',
      nonRetryableErrorTypes: [...drainFailedTypes, ...permanentFailureTypes],
    },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  }).drainNode;
}
