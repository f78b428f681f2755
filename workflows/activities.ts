import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { activityHeartbeatTimeoutSeconds } from '../common/lifecycle.js';

/** Short calls to AWS and Kubernetes: retried with backoff for about five minutes. */
export const calls = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 12 },
});

/**
 * Reading a hook's timeouts when its action is first seen: a few quick tries, since the hold cannot
 * wait long for it; when it fails the hold assumes the shortest hook AWS allows.
 */
export const { describeLifecycleHook } = proxyActivities<Activities>({
  // At most about 18 s (three tries of 5 s, 1 s and 2 s apart) before the hold falls back.
  startToCloseTimeout: '5 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumAttempts: 3 },
});

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

/** One drain attempt: the workflow decides about retries, so the activity runs once per attempt. */
export function drainActivity(attemptSeconds: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: `${attemptSeconds + 60} seconds`,
    heartbeatTimeout: `${activityHeartbeatTimeoutSeconds} seconds`,
    retry: { maximumAttempts: 1 },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  }).drainNode;
}
