import {
  CompleteLifecycleActionCommand,
  DescribeLifecycleHooksCommand,
  type AutoScalingClient,
} from '@aws-sdk/client-auto-scaling';
import type { LifecycleTarget } from '../../common/lifecycle.js';
import type { LifecycleResult } from '../../common/settings.js';
import { describeAwsError, isNoActiveLifecycleAction } from './errors.js';

/** `completed`: this call ended the action; `not-active`: it had expired or was completed before. */
export type CompletionOutcome = 'completed' | 'not-active';

export function createLifecycleActivities(autoScaling: AutoScalingClient, onComplete?: (result: string) => void) {
  return {
    async completeLifecycleAction(target: LifecycleTarget, result: LifecycleResult): Promise<CompletionOutcome> {
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
        onComplete?.(result);
        return 'completed';
      } catch (error) {
        if (isNoActiveLifecycleAction(error)) {
          onComplete?.('not-active');
          return 'not-active';
        }
        throw new Error(
          `completing lifecycle action of ${target.instanceId} (${target.autoScalingGroupName}/${target.lifecycleHookName}) with ${result}: ${describeAwsError(error)}`,
          { cause: error },
        );
      }
    },

    /** The hook's HeartbeatTimeout in seconds: how long a launch may wait for its node. */
    async lifecycleHookTimeout(target: LifecycleTarget): Promise<number | undefined> {
      const { LifecycleHooks } = await autoScaling.send(
        new DescribeLifecycleHooksCommand({
          AutoScalingGroupName: target.autoScalingGroupName,
          LifecycleHookNames: [target.lifecycleHookName],
        }),
      );
      return LifecycleHooks?.[0]?.HeartbeatTimeout;
    },
  };
}
