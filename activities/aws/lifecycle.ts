import {
  CompleteLifecycleActionCommand,
  DescribeLifecycleHooksCommand,
  RecordLifecycleActionHeartbeatCommand,
  type AutoScalingClient,
} from '@aws-sdk/client-auto-scaling';
import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  lostReason,
  nextHeartbeatDue,
  type HeartbeatProgress,
  type HoldClock,
  type LifecycleTarget,
  type LostReason,
} from '../../common/lifecycle.js';
import type { LifecycleResult } from '../../common/settings.js';
import { describeAwsError, isNoActiveLifecycleAction, isTransientAwsError } from './errors.js';

/** `completed`: this call ended the action; `not-active`: it had expired or was completed before. */
export interface CompletionResult {
  outcome: 'completed' | 'not-active';
  lostReason?: LostReason;
}

/** What DescribeLifecycleHooks says of the timeouts of one hook. */
export interface HookTimeouts {
  heartbeatTimeoutSeconds: number;
  globalTimeoutSeconds: number | undefined;
}

export interface LifecycleDeps {
  autoScaling: AutoScalingClient;
  onComplete?(result: string): void;
  onLost?(reason: LostReason): void;
  /** Tells the workflow about a heartbeat sent while the completion was being retried. */
  reportProgress?(progress: HeartbeatProgress): Promise<void>;
  /** First and largest wait between completion attempts. */
  backoffMs?: { initial: number; max: number };
  tickMs?: number;
}

/** Heartbeat details of the completion: what a retried attempt must not forget. */
interface CompletionCheckpoint {
  lastHeartbeatAt: number | undefined;
  /** An earlier call may have reached Auto Scaling (no answer came back). */
  maybeApplied: boolean;
}

/** No HTTP answer (a timeout, a reset): the call may have been applied. A refused connection was not. */
const mayHaveBeenApplied = (error: unknown) =>
  (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === undefined &&
  (error as { code?: string }).code !== 'ECONNREFUSED';

export function createLifecycleActivities(deps: LifecycleDeps) {
  const { autoScaling } = deps;
  const backoff = deps.backoffMs ?? { initial: 1_000, max: 15_000 };
  const tickMs = deps.tickMs ?? 1_000;

  const heartbeat = (target: LifecycleTarget) =>
    autoScaling.send(
      new RecordLifecycleActionHeartbeatCommand({
        AutoScalingGroupName: target.autoScalingGroupName,
        LifecycleHookName: target.lifecycleHookName,
        InstanceId: target.instanceId,
        LifecycleActionToken: target.lifecycleActionToken,
      }),
    );

  return {
    /**
     * Completes the action. While Auto Scaling throttles or fails the call, it retries, and with the
     * hold's clock it also sends the heartbeats that come due meanwhile, so a slow completion cannot
     * let the action expire. No heartbeat loop runs beside it: the hold hands over to it.
     */
    async completeLifecycleAction(
      target: LifecycleTarget,
      result: LifecycleResult,
      clock?: HoldClock,
    ): Promise<CompletionResult> {
      const ctx = Context.current();
      const resumed = ctx.info.heartbeatDetails as CompletionCheckpoint | undefined;
      const checkpoint: CompletionCheckpoint = {
        lastHeartbeatAt: Math.max(resumed?.lastHeartbeatAt ?? 0, clock?.lastHeartbeatAt ?? 0) || undefined,
        maybeApplied: resumed?.maybeApplied ?? false,
      };
      const giveUpAt = clock ? clock.globalDeadline + 60_000 : Date.now() + 300_000;
      let delayMs = backoff.initial;
      for (;;) {
        ctx.heartbeat(checkpoint);
        try {
          await autoScaling.send(
            new CompleteLifecycleActionCommand({
              AutoScalingGroupName: target.autoScalingGroupName,
              LifecycleHookName: target.lifecycleHookName,
              InstanceId: target.instanceId,
              LifecycleActionToken: target.lifecycleActionToken,
              LifecycleActionResult: result,
            }),
          );
          deps.onComplete?.(result);
          return { outcome: 'completed' };
        } catch (error) {
          if (isNoActiveLifecycleAction(error)) {
            // Our own earlier call went through though its answer was lost.
            if (checkpoint.maybeApplied) return { outcome: 'completed' };
            deps.onComplete?.('not-active');
            const reason = clock ? lostReason({ ...clock, ...checkpoint }, Date.now()) : undefined;
            if (reason) deps.onLost?.(reason);
            return { outcome: 'not-active', ...(reason ? { lostReason: reason } : {}) };
          }
          const what = `completing lifecycle action of ${target.instanceId} (${target.autoScalingGroupName}/${target.lifecycleHookName}) with ${result}: ${describeAwsError(error)}`;
          const transient = isTransientAwsError(error) || mayHaveBeenApplied(error);
          if (!transient)
            throw ApplicationFailure.create({
              type: 'CompleteLifecycleActionFailed',
              message: what,
              nonRetryable: true,
              cause: error as Error,
            });
          if (Date.now() > giveUpAt)
            throw ApplicationFailure.create({
              type: 'CompleteLifecycleActionFailed',
              message: `gave up ${what}`,
              nonRetryable: true,
            });
          checkpoint.maybeApplied ||= mayHaveBeenApplied(error);
          ctx.log.warn('completing the lifecycle action failed; retrying', {
            instanceId: target.instanceId,
            error: describeAwsError(error),
            retryInMs: delayMs,
          });
        }
        const retryAt = Date.now() + delayMs;
        delayMs = Math.min(delayMs * 2, backoff.max);
        while (Date.now() < retryAt) {
          if (clock && Date.now() >= nextHeartbeatDue({ ...clock, ...checkpoint })) {
            const ended = await heartbeatWhileCompleting(target, checkpoint, clock);
            if (ended) return ended;
          }
          ctx.heartbeat(checkpoint);
          await ctx.sleep(Math.min(tickMs, Math.max(0, retryAt - Date.now())));
        }
      }
    },

    /** The hook's timeouts, or undefined when the hook does not exist (any more). */
    async describeLifecycleHook(target: LifecycleTarget): Promise<HookTimeouts | undefined> {
      const { LifecycleHooks } = await autoScaling.send(
        new DescribeLifecycleHooksCommand({
          AutoScalingGroupName: target.autoScalingGroupName,
          LifecycleHookNames: [target.lifecycleHookName],
        }),
      );
      const hook = LifecycleHooks?.[0];
      if (hook?.HeartbeatTimeout === undefined) return undefined;
      return { heartbeatTimeoutSeconds: hook.HeartbeatTimeout, globalTimeoutSeconds: hook.GlobalTimeout };
    },
  };

  /** One heartbeat of the hold while the completion waits to retry; the end when the action is gone. */
  async function heartbeatWhileCompleting(
    target: LifecycleTarget,
    checkpoint: CompletionCheckpoint,
    clock: HoldClock,
  ): Promise<CompletionResult | undefined> {
    try {
      await heartbeat(target);
    } catch (error) {
      if (!isNoActiveLifecycleAction(error)) return undefined;
      if (checkpoint.maybeApplied) return { outcome: 'completed' };
      const reason = lostReason({ ...clock, ...checkpoint }, Date.now());
      deps.onLost?.(reason);
      return { outcome: 'not-active', lostReason: reason };
    }
    checkpoint.lastHeartbeatAt = Date.now();
    await deps
      .reportProgress?.({
        lifecycleActionToken: target.lifecycleActionToken,
        lastHeartbeatAt: checkpoint.lastHeartbeatAt,
        nextHeartbeatAt: nextHeartbeatDue({ ...clock, ...checkpoint }),
        sent: 1,
        intervalSeconds: clock.intervalSeconds,
      })
      .catch(() => undefined);
    return undefined;
  }
}
