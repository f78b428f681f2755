import {
  DescribeLifecycleHooksCommand,
  RecordLifecycleActionHeartbeatCommand,
  type AutoScalingClient,
} from '@aws-sdk/client-auto-scaling';
import { Context } from '@temporalio/activity';
import {
  activityHeartbeatTimeoutSeconds,
  deriveHeartbeatInterval,
  hookSurvivesLostWorker,
  type HeartbeatEnd,
  type HeartbeatProgress,
  type LifecycleTarget,
} from '../../common/lifecycle.js';
import { describeAwsError, isNoActiveLifecycleAction, isTransientAwsError } from './errors.js';

export interface LifecycleHeartbeatInput {
  target: LifecycleTarget;
  /** Seconds between ASG heartbeats; undefined: derived from the hook's HeartbeatTimeout. */
  intervalSeconds: number | undefined;
  /** Epoch ms after which no heartbeat is sent (the event's time + HEARTBEAT_UNTIL). */
  untilEpochMs: number;
  /** Epoch ms of the last ASG heartbeat of an earlier attempt, so the schedule carries over. */
  lastHeartbeatAt: number | undefined;
}

export interface LifecycleHeartbeatResult {
  end: HeartbeatEnd;
  sent: number;
  lastHeartbeatAt: number | undefined;
}

export interface HeartbeatDeps {
  autoScaling: AutoScalingClient;
  /** Tells the workflow that owns the activity about a heartbeat (its `status` query shows it). */
  reportProgress(progress: HeartbeatProgress): Promise<void>;
  onHeartbeat?(outcome: 'sent' | 'failed'): void;
  onLoopChange?(delta: 1 | -1): void;
  /** Ms between Temporal heartbeats; a cancel is noticed at the next one. */
  tickMs?: number;
  /** First and largest backoff after a throttled or failed ASG call. */
  backoffMs?: { initial: number; max: number };
}

/** The details of this activity's Temporal heartbeats: where a retried attempt resumes. */
interface Checkpoint {
  lastHeartbeatAt: number | undefined;
  sent: number;
}

async function hookHeartbeatTimeout(autoScaling: AutoScalingClient, target: LifecycleTarget, signal: AbortSignal) {
  const { LifecycleHooks } = await autoScaling.send(
    new DescribeLifecycleHooksCommand({
      AutoScalingGroupName: target.autoScalingGroupName,
      LifecycleHookNames: [target.lifecycleHookName],
    }),
    { abortSignal: signal },
  );
  const timeout = LifecycleHooks?.[0]?.HeartbeatTimeout;
  if (timeout === undefined) {
    throw new Error(
      `lifecycle hook ${target.lifecycleHookName} of ${target.autoScalingGroupName} not found or has no HeartbeatTimeout`,
    );
  }
  return timeout;
}

/**
 * Keeps one lifecycle action alive with RecordLifecycleActionHeartbeat until cancelled, until
 * `untilEpochMs`, or until Auto Scaling says the action is no longer active. It heartbeats to
 * Temporal every tick whatever the ASG interval, so a cancel lands within seconds; it ends only by
 * returning or by rethrowing the cancellation, never with a loop left behind.
 */
export function createLifecycleHeartbeat(deps: HeartbeatDeps) {
  const tickMs = deps.tickMs ?? 1_000;
  const backoff = deps.backoffMs ?? { initial: 1_000, max: 30_000 };

  return async function lifecycleHeartbeat(input: LifecycleHeartbeatInput): Promise<LifecycleHeartbeatResult> {
    const ctx = Context.current();
    const { target } = input;
    const resumed = ctx.info.heartbeatDetails as Checkpoint | undefined;
    const checkpoint: Checkpoint = {
      lastHeartbeatAt: Math.max(resumed?.lastHeartbeatAt ?? 0, input.lastHeartbeatAt ?? 0) || undefined,
      sent: resumed?.sent ?? 0,
    };
    deps.onLoopChange?.(1);
    try {
      ctx.heartbeat(checkpoint);
      let intervalSeconds = input.intervalSeconds;
      if (intervalSeconds === undefined) {
        const timeout = await hookHeartbeatTimeout(deps.autoScaling, target, ctx.cancellationSignal);
        intervalSeconds = deriveHeartbeatInterval(timeout, activityHeartbeatTimeoutSeconds);
        if (!hookSurvivesLostWorker(timeout, intervalSeconds, activityHeartbeatTimeoutSeconds)) {
          ctx.log.warn('lifecycle hook HeartbeatTimeout is too short to survive a lost worker', {
            hook: target.lifecycleHookName,
            heartbeatTimeout: timeout,
            intervalSeconds,
          });
        }
      }
      const intervalMs = intervalSeconds * 1000;
      // The first heartbeat is due one interval after the last one, or after this loop started.
      let nextAt = (checkpoint.lastHeartbeatAt ?? Date.now()) + intervalMs;
      let delayMs = backoff.initial;
      for (;;) {
        if (nextAt > input.untilEpochMs) {
          await sleepUntil(ctx, input.untilEpochMs, checkpoint, tickMs);
          return { end: 'heartbeat-until-reached', ...checkpoint };
        }
        await sleepUntil(ctx, nextAt, checkpoint, tickMs);
        try {
          await deps.autoScaling.send(
            new RecordLifecycleActionHeartbeatCommand({
              AutoScalingGroupName: target.autoScalingGroupName,
              LifecycleHookName: target.lifecycleHookName,
              InstanceId: target.instanceId,
              LifecycleActionToken: target.lifecycleActionToken,
            }),
            { abortSignal: ctx.cancellationSignal },
          );
        } catch (error) {
          if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
          deps.onHeartbeat?.('failed');
          if (isNoActiveLifecycleAction(error)) {
            ctx.log.info('lifecycle action is no longer active; heartbeats end', { instanceId: target.instanceId });
            return { end: 'action-not-active', ...checkpoint };
          }
          ctx.log.warn('lifecycle heartbeat failed; retrying after a backoff', {
            instanceId: target.instanceId,
            error: describeAwsError(error),
            transient: isTransientAwsError(error),
            retryInMs: delayMs,
          });
          nextAt = Date.now() + delayMs;
          delayMs = Math.min(delayMs * 2, backoff.max);
          continue;
        }
        delayMs = backoff.initial;
        checkpoint.lastHeartbeatAt = Date.now();
        checkpoint.sent += 1;
        nextAt = checkpoint.lastHeartbeatAt + intervalMs;
        ctx.heartbeat(checkpoint);
        deps.onHeartbeat?.('sent');
        await deps
          .reportProgress({
            lifecycleActionToken: target.lifecycleActionToken,
            lastHeartbeatAt: checkpoint.lastHeartbeatAt,
            nextHeartbeatAt: Math.min(nextAt, input.untilEpochMs),
            sent: checkpoint.sent,
            intervalSeconds,
          })
          .catch((error: unknown) => {
            ctx.log.warn('could not report heartbeat progress', { error: String(error) });
          });
      }
    } finally {
      deps.onLoopChange?.(-1);
    }
  };
}

/** Sleeps until `epochMs` in ticks, heartbeating to Temporal on each; throws the cancellation. */
async function sleepUntil(ctx: Context, epochMs: number, checkpoint: Checkpoint, tickMs: number): Promise<void> {
  for (let left = epochMs - Date.now(); left > 0; left = epochMs - Date.now()) {
    ctx.heartbeat(checkpoint);
    await ctx.sleep(Math.min(left, tickMs));
  }
  ctx.heartbeat(checkpoint);
}
