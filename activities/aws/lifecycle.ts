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
  /** What Auto Scaling does when the action expires; absent in results recorded before it was read. */
  defaultResult?: 'CONTINUE' | 'ABANDON' | undefined;
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

const httpStatusOf = (error: unknown) =>
  (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

/** Errors that come after the request may have reached Auto Scaling: no answer, or the answer was cut. */
const answerLostCodes = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ESOCKETTIMEDOUT']);
const mayHaveBeenApplied = (error: unknown) =>
  httpStatusOf(error) === undefined &&
  (answerLostCodes.has((error as { code?: string }).code ?? '') || (error as Error).name === 'TimeoutError');

/** No answer from Auto Scaling at all (network, DNS, credentials being refreshed): worth retrying. */
const isNetworkError = (error: unknown) => httpStatusOf(error) === undefined;

export function createLifecycleActivities(deps: LifecycleDeps) {
  const { autoScaling } = deps;
  const backoff = deps.backoffMs ?? { initial: 1_000, max: 15_000 };
  const tickMs = deps.tickMs ?? 1_000;

  const heartbeat = (target: LifecycleTarget, signal: AbortSignal) =>
    autoScaling.send(
      new RecordLifecycleActionHeartbeatCommand({
        AutoScalingGroupName: target.autoScalingGroupName,
        LifecycleHookName: target.lifecycleHookName,
        InstanceId: target.instanceId,
        LifecycleActionToken: target.lifecycleActionToken,
      }),
      { abortSignal: signal },
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
        // A retry after a lost worker cannot know whether the lost attempt's call went through.
        maybeApplied: (resumed?.maybeApplied ?? false) || ctx.info.attempt > 1,
      };
      const giveUpAt = clock ? clock.globalDeadline + 60_000 : Date.now() + 300_000;
      const signal = ctx.cancellationSignal;
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
            { abortSignal: signal },
          );
          deps.onComplete?.(result);
          return { outcome: 'completed' };
        } catch (error) {
          if (signal.aborted) throw signal.reason;
          if (isNoActiveLifecycleAction(error)) return notActive(checkpoint, clock);
          const what = `completing lifecycle action of ${target.instanceId} (${target.autoScalingGroupName}/${target.lifecycleHookName}) with ${result}: ${describeAwsError(error)}`;
          if (!isTransientAwsError(error) && !isNetworkError(error)) {
            throw ApplicationFailure.create({
              type: 'CompleteLifecycleActionFailed',
              message: what,
              nonRetryable: true,
              cause: error as Error,
            });
          }
          if (Date.now() > giveUpAt) {
            throw ApplicationFailure.create({
              type: 'CompleteLifecycleActionFailed',
              message: `gave up ${what}`,
              nonRetryable: true,
            });
          }
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
          if (clock && heartbeatDue({ ...clock, ...checkpoint })) {
            const ended = await heartbeatWhileCompleting(target, checkpoint, clock, signal);
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
      const defaultResult =
        hook.DefaultResult === 'CONTINUE' || hook.DefaultResult === 'ABANDON' ? hook.DefaultResult : undefined;
      return {
        heartbeatTimeoutSeconds: hook.HeartbeatTimeout,
        globalTimeoutSeconds: hook.GlobalTimeout,
        defaultResult,
      };
    },
  };

  /**
   * Auto Scaling says the action is gone. When an earlier call of ours may have completed it and the
   * action's clock says it was still alive, that call went through; otherwise the action was lost.
   */
  function notActive(checkpoint: CompletionCheckpoint, clock: HoldClock | undefined): CompletionResult {
    const reason = clock ? lostReason({ ...clock, ...checkpoint }, Date.now()) : undefined;
    if (checkpoint.maybeApplied && (reason === undefined || reason === 'ended-elsewhere')) {
      return { outcome: 'completed' };
    }
    deps.onComplete?.('not-active');
    if (reason) deps.onLost?.(reason);
    return { outcome: 'not-active', ...(reason ? { lostReason: reason } : {}) };
  }

  /** One heartbeat of the hold while the completion waits to retry; the end when the action is gone. */
  async function heartbeatWhileCompleting(
    target: LifecycleTarget,
    checkpoint: CompletionCheckpoint,
    clock: HoldClock,
    signal: AbortSignal,
  ): Promise<CompletionResult | undefined> {
    try {
      await heartbeat(target, signal);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      return isNoActiveLifecycleAction(error) ? notActive(checkpoint, clock) : undefined;
    }
    checkpoint.lastHeartbeatAt = Date.now();
    // Not awaited: the completion's retries must not wait on Temporal (see progressReports).
    void deps
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

/** A heartbeat is due on the hold's clock, and heartbeats have not ended (HEARTBEAT_UNTIL, global timeout). */
const heartbeatDue = (clock: HoldClock) => {
  const now = Date.now();
  return now >= nextHeartbeatDue(clock) && now < clock.untilEpochMs && now < clock.globalDeadline;
};
