/** The Temporal heartbeat timeout of long activities: a cancel or a lost worker is noticed within it. */
export const activityHeartbeatTimeoutSeconds = 30;

/** Everything a lifecycle call needs to name its action. */
export interface LifecycleTarget {
  autoScalingGroupName: string;
  lifecycleHookName: string;
  instanceId: string;
  lifecycleActionToken: string;
}

/** What the heartbeat activity reports to its workflow after each ASG heartbeat. */
export interface HeartbeatProgress {
  lifecycleActionToken: string;
  /** Epoch ms of the last successful RecordLifecycleActionHeartbeat. */
  lastHeartbeatAt: number;
  /** Epoch ms of the next one planned. */
  nextHeartbeatAt: number;
  /** Successful calls by this activity, across its own retries. */
  sent: number;
  intervalSeconds: number;
}

export type HeartbeatEnd = 'heartbeat-until-reached' | 'action-not-active';

/**
 * The ASG heartbeat interval for a hook whose HeartbeatTimeout is `timeoutSeconds`: the fewest calls
 * that keep it alive. The margin covers a lost worker (noticed within the Temporal heartbeat timeout,
 * then the activity is retried elsewhere) plus throttling retries: at least `lostWorkerSeconds` + 10 s
 * and a fifth of the timeout. Short timeouts fall back to three calls per timeout.
 */
export function deriveHeartbeatInterval(timeoutSeconds: number, lostWorkerSeconds: number): number {
  const margin = Math.max(lostWorkerSeconds + 10, Math.ceil(timeoutSeconds * 0.2));
  const interval = timeoutSeconds - margin;
  const floor = Math.max(5, Math.floor(timeoutSeconds / 3));
  return interval >= floor ? interval : floor;
}

/** True when a hook with `timeoutSeconds` survives a lost worker between two heartbeats (invariant 6). */
export function hookSurvivesLostWorker(
  timeoutSeconds: number,
  intervalSeconds: number,
  lostWorkerSeconds: number,
): boolean {
  return timeoutSeconds > intervalSeconds + lostWorkerSeconds;
}
