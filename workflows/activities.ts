import {
  ActivityCancellationType,
  CancellationScope,
  patched,
  proxyActivities,
  proxyLocalActivities,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { OwnershipNote } from '../activities/ownership.js';
import type { RunbookSettings } from '../common/settings.js';
import { drainFailedTypes, permanentFailureTypes } from '../common/failures.js';
import { activityHeartbeatTimeoutSeconds } from '../common/lifecycle.js';
import { leanHistoryPatch } from './patches.js';

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
 * Reading a hook's timeouts when its action is first seen: a few quick tries, since the hold cannot
 * wait long for it; when it fails the hold assumes the shortest hook AWS allows. An activity, not a
 * local one: it runs in the hold's cancellation scope, which a phase that ends first cancels, and a
 * local activity cancelled in flight fails the workflow task with a nondeterminism error in this SDK
 * (1.24: "Invalid transition in state machine", the not-managed path of the workflow tests).
 */
export const { describeLifecycleHook } = proxyActivities<Activities>({
  // At most about 18 s (three tries of 5 s, 1 s and 2 s apart) before the hold falls back.
  startToCloseTimeout: '5 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
});

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
