/** The Temporal heartbeat timeout of long activities: a cancel or a lost worker is noticed within it. */
export const activityHeartbeatTimeoutSeconds = 30;

/**
 * How long a workflow task may wait on the queue of the worker that ran the workflow before it goes to
 * any worker (the SDK's default is 10 s): what a lost worker costs when it dies between two phases.
 */
export const stickyScheduleToStartSeconds = 5;

/**
 * The longest time the hold of a lifecycle action can go without its loop: a worker lost just before
 * a heartbeat was due is noticed after the Temporal heartbeat timeout; then either the loop is retried
 * on another worker (1 s, then a poll), or, when the worker died while a phase handed over to the next,
 * the next workflow task waits out the sticky queue before another worker starts the next loop.
 */
export const lostWorkerSeconds = activityHeartbeatTimeoutSeconds + stickyScheduleToStartSeconds + 2;

/**
 * Room for the ASG heartbeat itself to be throttled: the loop retries a throttled call at least every
 * few seconds as the action's deadline nears, so a handful of failures in a row fit in this.
 */
export const throttlingAllowanceSeconds = 5;

/** AWS: a hook's HeartbeatTimeout is 30 to 7200 s. */
export const maxHookTimeoutSeconds = 7200;

/** AWS: the global timeout is 100 × HeartbeatTimeout, at most 48 hours. */
export const maxGlobalTimeoutSeconds = 172_800;

/** What DescribeLifecycleHooks says of a hook when it cannot be read: AWS's minimum, the safest guess. */
export const unknownHookTimeoutSeconds = 30;

/** Everything a lifecycle call needs to name its action. */
export interface LifecycleTarget {
  autoScalingGroupName: string;
  lifecycleHookName: string;
  instanceId: string;
  lifecycleActionToken: string;
}

/**
 * The clock of one lifecycle action, as the workflow that holds it knows it. Every heartbeat is due
 * one interval after the later of the action's start and its last successful heartbeat, whichever
 * loop sends it; the action expires one HeartbeatTimeout after the same instant.
 */
export interface HoldClock {
  /** Epoch ms: when Auto Scaling put the instance into the wait state (the notification's time). */
  startedAt: number;
  /** Epoch ms of the last successful RecordLifecycleActionHeartbeat, from any loop. */
  lastHeartbeatAt: number | undefined;
  heartbeatTimeoutSeconds: number;
  intervalSeconds: number;
  /** Epoch ms at which Auto Scaling ends the action whatever the heartbeats (its global timeout). */
  globalDeadline: number;
  /** Epoch ms after which no heartbeat is sent (HEARTBEAT_UNTIL, capped by the global deadline). */
  untilEpochMs: number;
}

const heldSince = (clock: HoldClock) => Math.max(clock.startedAt, clock.lastHeartbeatAt ?? 0);

/** When the next heartbeat is due on the action's clock. */
export const nextHeartbeatDue = (clock: HoldClock): number => heldSince(clock) + clock.intervalSeconds * 1000;

/** When the action expires unless a heartbeat reaches Auto Scaling before. */
export const holdExpiresAt = (clock: HoldClock): number =>
  Math.min(heldSince(clock) + clock.heartbeatTimeoutSeconds * 1000, clock.globalDeadline);

/** Why a lifecycle action this workflow held is no longer active. */
export type LostReason = 'global-timeout' | 'heartbeat-timeout' | 'heartbeat-until' | 'ended-elsewhere';

/**
 * Why Auto Scaling says the action is gone, judged from its clock at `now`: past its global timeout,
 * past its heartbeat timeout (because heartbeats had stopped at HEARTBEAT_UNTIL, or did not arrive in
 * time), or still within both: completed by someone else, or its hook was deleted.
 */
export function lostReason(clock: HoldClock, now: number): LostReason {
  const heartbeatExpiry = heldSince(clock) + clock.heartbeatTimeoutSeconds * 1000;
  if (now < Math.min(heartbeatExpiry, clock.globalDeadline)) return 'ended-elsewhere';
  // Whichever timeout came first ended it.
  if (clock.globalDeadline <= heartbeatExpiry) return 'global-timeout';
  return heartbeatExpiry >= clock.untilEpochMs ? 'heartbeat-until' : 'heartbeat-timeout';
}

/** What the heartbeat activity tells its workflow after each ASG heartbeat. */
export interface HeartbeatProgress {
  lifecycleActionToken: string;
  /** Epoch ms of the last successful RecordLifecycleActionHeartbeat. */
  lastHeartbeatAt: number;
  /** Epoch ms of the next one planned. */
  nextHeartbeatAt: number;
  /** Successful calls by this activity, across its own retries. */
  sent: number;
  intervalSeconds: number;
  /**
   * The heartbeats this report stands for: 1, more when reports were dropped while another was on
   * its way (activities/aws/progress-reports.ts). Absent (reports of earlier releases): 1.
   */
  heartbeats?: number;
}

export type HeartbeatEnd = 'heartbeat-until-reached' | 'action-not-active';

/** The most a heartbeat may wait after the last one and still survive a lost worker and throttling. */
export function maxSafeHeartbeatInterval(timeoutSeconds: number): number {
  return timeoutSeconds - lostWorkerSeconds - throttlingAllowanceSeconds;
}

/** Hooks too short to survive a lost worker still get three heartbeats per timeout. */
const shortHookInterval = (timeoutSeconds: number) => Math.max(5, Math.floor(timeoutSeconds / 3));

/** The longest interval that keeps the hook alive, or, for a hook too short for that, three per timeout. */
const longestInterval = (timeoutSeconds: number) => {
  const safe = maxSafeHeartbeatInterval(timeoutSeconds);
  return safe >= 5 ? safe : shortHookInterval(timeoutSeconds);
};

/**
 * The ASG heartbeat interval for a hook whose HeartbeatTimeout is `timeoutSeconds`: the fewest calls
 * that keep it alive through a lost worker and throttling, with a fifth of the timeout to spare on
 * long hooks (60 s → 18 s, 120 s → 78 s, 300 s → 240 s). Hooks too short for a lost worker get three
 * calls per timeout.
 */
export function deriveHeartbeatInterval(timeoutSeconds: number): number {
  return Math.min(longestInterval(timeoutSeconds), Math.max(5, Math.floor(timeoutSeconds * 0.8)));
}

/** True when a hook with `timeoutSeconds` survives a lost worker between two heartbeats (invariant 6). */
export function hookSurvivesLostWorker(timeoutSeconds: number, intervalSeconds: number): boolean {
  return intervalSeconds <= maxSafeHeartbeatInterval(timeoutSeconds);
}

export interface HeartbeatPlan {
  intervalSeconds: number;
  /** Why the plan is not what was asked for, or why it cannot be safe; empty when all is well. */
  warnings: string[];
}

/**
 * The interval a hook gets: derived, or the explicit HEARTBEAT_INTERVAL when that keeps the hook
 * alive, else clamped to the longest that does, with a warning naming the setting.
 */
export function planHeartbeats(timeoutSeconds: number, explicitSeconds: number | undefined): HeartbeatPlan {
  const warnings: string[] = [];
  let intervalSeconds = explicitSeconds ?? deriveHeartbeatInterval(timeoutSeconds);
  if (explicitSeconds !== undefined && explicitSeconds > longestInterval(timeoutSeconds)) {
    intervalSeconds = longestInterval(timeoutSeconds);
    warnings.push(
      `HEARTBEAT_INTERVAL=${explicitSeconds} cannot keep a hook with HeartbeatTimeout ${timeoutSeconds} s alive through a lost worker (${lostWorkerSeconds} s) and throttling (${throttlingAllowanceSeconds} s): heartbeating every ${intervalSeconds} s instead`,
    );
  }
  if (!hookSurvivesLostWorker(timeoutSeconds, intervalSeconds)) {
    warnings.push(
      `HeartbeatTimeout ${timeoutSeconds} s is too short to survive a lost worker (${lostWorkerSeconds} s) between two heartbeats every ${intervalSeconds} s; use a hook of at least ${intervalSeconds + lostWorkerSeconds + throttlingAllowanceSeconds} s`,
    );
  }
  return { intervalSeconds, warnings };
}

/** AWS's global timeout of a hook: 100 × HeartbeatTimeout, at most 48 h, unless the hook says. */
export function globalTimeoutSeconds(timeoutSeconds: number, described: number | undefined): number {
  return described ?? Math.min(100 * timeoutSeconds, maxGlobalTimeoutSeconds);
}
