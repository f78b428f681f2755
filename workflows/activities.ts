import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { activityHeartbeatTimeoutSeconds } from '../common/lifecycle.js';

/** Short calls to AWS and Kubernetes: retried with backoff for about five minutes. */
export const calls = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 12 },
});

/**
 * The lifecycle heartbeat loop. Retried without limit (a lost worker's loop resumes elsewhere from its
 * heartbeat details); cancelled only through its scope, whose cancel waits until it has stopped.
 */
export function heartbeatActivity(heartbeatUntilSeconds: number) {
  return proxyActivities<Activities>({
    startToCloseTimeout: `${heartbeatUntilSeconds + 600} seconds`,
    heartbeatTimeout: `${activityHeartbeatTimeoutSeconds} seconds`,
    retry: { initialInterval: '1 second', maximumInterval: '10 seconds' },
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
