import { RecordLifecycleActionHeartbeatCommand, type AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { Context } from '@temporalio/activity';
import {
  holdExpiresAt,
  lostReason,
  nextHeartbeatDue,
  type HeartbeatEnd,
  type HeartbeatProgress,
  type HoldClock,
  type LifecycleTarget,
  type LostReason,
} from '../../common/lifecycle.js';
import { progressReports } from './progress-reports.js';
import { describeAwsError, isNoActiveLifecycleAction, isTransientAwsError } from './errors.js';

export interface LifecycleHeartbeatInput {
  target: LifecycleTarget;
  /** The action's clock as the workflow knows it: the schedule runs on it, not on this loop's start. */
  clock: HoldClock;
}

export interface LifecycleHeartbeatResult {
  end: HeartbeatEnd;
  sent: number;
  lastHeartbeatAt: number | undefined;
  /** Why the action is gone, when it ended with `action-not-active`. */
  lostReason?: LostReason;
}

export interface HeartbeatDeps {
  autoScaling: AutoScalingClient;
  /**
   * Tells the workflow that owns the activity about a heartbeat (its `status` query shows it); the
   * loop does not wait for it (`progressReports`).
   */
  reportProgress(progress: HeartbeatProgress): Promise<void>;
  onHeartbeat?(outcome: 'sent' | 'failed'): void;
  onLoopChange?(delta: 1 | -1): void;
  onLost?(reason: LostReason): void;
  /** When the held action expires unless a heartbeat comes first (`key`: this loop); undefined at its end. */
  onHoldExpiry?(key: string, hook: string, expiresAt: number | undefined): void;
  /** Ms between Temporal heartbeats; a cancel is noticed at the next one. */
  tickMs?: number;
  /** First and largest backoff after a throttled or failed ASG call. */
  backoffMs?: { initial: number; max: number };
}

/**
 * The loop heartbeats to Temporal this often, whatever the ASG interval. A cancel (the end of the
 * phase it covers: a failed drain attempt, the wait before a retry) reaches it in the answer to the
 * next one, so this bounds how long a loop can outlive its phase, and so how soon
 * CompleteLifecycleAction can follow a drain. The project allows 5 s: bench:terminations measured a
 * p99 of 5.7 s with 4 s at 1,000 terminations at once (a saturated server adds its delay), 1.7 s
 * with 1 s. Each one is a write on the Temporal server (a billable action on Temporal Cloud): 0.4 per
 * second per held action, with the drain's one in 20 s beside it.
 */
export const loopTickMs = 2_500;

/** The details of this activity's Temporal heartbeats: where a retried attempt resumes. */
interface Checkpoint {
  lastHeartbeatAt: number | undefined;
  sent: number;
}

/**
 * Keeps one lifecycle action alive with RecordLifecycleActionHeartbeat until cancelled, until the
 * clock's `untilEpochMs`, or until Auto Scaling says the action is no longer active. Each heartbeat is
 * due one interval after the action's start or its last successful heartbeat (from this loop, an
 * earlier one, or an earlier attempt of this one); an overdue heartbeat goes out at once. It
 * heartbeats to Temporal every tick (`loopTickMs`) whatever the ASG interval, so a cancel lands within
 * seconds; it ends only by returning or by rethrowing the cancellation, never with a loop left behind.
 */
export function createLifecycleHeartbeat(deps: HeartbeatDeps) {
  const tickMs = deps.tickMs ?? loopTickMs;
  const backoff = deps.backoffMs ?? { initial: 1_000, max: 30_000 };

  return async function lifecycleHeartbeat(input: LifecycleHeartbeatInput): Promise<LifecycleHeartbeatResult> {
    const ctx = Context.current();
    const { target } = input;
    const resumed = ctx.info.heartbeatDetails as Checkpoint | undefined;
    const clock: HoldClock = {
      ...input.clock,
      lastHeartbeatAt: Math.max(resumed?.lastHeartbeatAt ?? 0, input.clock.lastHeartbeatAt ?? 0) || undefined,
    };
    const checkpoint: Checkpoint = { lastHeartbeatAt: clock.lastHeartbeatAt, sent: resumed?.sent ?? 0 };
    const loopKey = `${ctx.info.workflowExecution?.workflowId ?? ctx.info.activityType}/${ctx.info.activityId}`;
    const expiry = () => deps.onHoldExpiry?.(loopKey, target.lifecycleHookName, holdExpiresAt(clock));
    const report = progressReports(
      (progress) => deps.reportProgress(progress),
      (error: unknown) => {
        ctx.log.warn('could not report heartbeat progress', { error: String(error) });
      },
    );
    deps.onLoopChange?.(1);
    try {
      expiry();
      ctx.heartbeat(checkpoint);
      let nextAt = nextHeartbeatDue(clock);
      let delayMs = backoff.initial;
      for (;;) {
        if (nextAt > clock.untilEpochMs) {
          await sleepUntil(ctx, clock.untilEpochMs, checkpoint, tickMs);
          return { end: 'heartbeat-until-reached', ...checkpoint };
        }
        await sleepUntil(ctx, nextAt, checkpoint, tickMs);
        // A sleep that overran (a busy worker) must not carry a heartbeat past HEARTBEAT_UNTIL.
        if (Date.now() > clock.untilEpochMs) return { end: 'heartbeat-until-reached', ...checkpoint };
        try {
          await heartbeatingWhile(
            ctx,
            checkpoint,
            tickMs,
            deps.autoScaling.send(
              new RecordLifecycleActionHeartbeatCommand({
                AutoScalingGroupName: target.autoScalingGroupName,
                LifecycleHookName: target.lifecycleHookName,
                InstanceId: target.instanceId,
                LifecycleActionToken: target.lifecycleActionToken,
              }),
              { abortSignal: ctx.cancellationSignal },
            ),
          );
        } catch (error) {
          if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
          deps.onHeartbeat?.('failed');
          if (isNoActiveLifecycleAction(error)) {
            const reason = lostReason(clock, Date.now());
            ctx.log.warn('lifecycle action is no longer active; heartbeats end', {
              instanceId: target.instanceId,
              hook: target.lifecycleHookName,
              reason,
            });
            deps.onLost?.(reason);
            return { end: 'action-not-active', ...checkpoint, lostReason: reason };
          }
          // Back off, but never so far that the retries stop before the action would expire.
          const retryInMs = Math.min(delayMs, Math.max(backoff.initial, (holdExpiresAt(clock) - Date.now()) / 4));
          ctx.log.warn('lifecycle heartbeat failed; retrying after a backoff', {
            instanceId: target.instanceId,
            error: describeAwsError(error),
            transient: isTransientAwsError(error),
            retryInMs,
          });
          nextAt = Date.now() + retryInMs;
          delayMs = Math.min(delayMs * 2, backoff.max);
          continue;
        }
        delayMs = backoff.initial;
        clock.lastHeartbeatAt = Date.now();
        checkpoint.lastHeartbeatAt = clock.lastHeartbeatAt;
        checkpoint.sent += 1;
        expiry();
        nextAt = nextHeartbeatDue(clock);
        ctx.heartbeat(checkpoint);
        deps.onHeartbeat?.('sent');
        report({
          lifecycleActionToken: target.lifecycleActionToken,
          lastHeartbeatAt: clock.lastHeartbeatAt,
          nextHeartbeatAt: Math.min(nextAt, clock.untilEpochMs),
          sent: checkpoint.sent,
          intervalSeconds: clock.intervalSeconds,
        });
      }
    } finally {
      deps.onHoldExpiry?.(loopKey, target.lifecycleHookName, undefined);
      deps.onLoopChange?.(-1);
    }
  };
}

/**
 * Awaits a call while heartbeating to Temporal every tick: a slow answer must not look like a lost
 * worker, or Temporal would start a second loop beside this one.
 */
async function heartbeatingWhile<T>(
  ctx: Context,
  checkpoint: Checkpoint,
  tickMs: number,
  call: Promise<T>,
): Promise<T> {
  const ticker = setInterval(() => ctx.heartbeat(checkpoint), tickMs);
  try {
    return await call;
  } finally {
    clearInterval(ticker);
  }
}

/** Sleeps until `epochMs` in ticks, heartbeating to Temporal on each; throws the cancellation. */
async function sleepUntil(ctx: Context, epochMs: number, checkpoint: Checkpoint, tickMs: number): Promise<void> {
  for (let left = epochMs - Date.now(); left > 0; left = epochMs - Date.now()) {
    ctx.heartbeat(checkpoint);
    await ctx.sleep(Math.min(left, tickMs));
  }
  ctx.heartbeat(checkpoint);
}
