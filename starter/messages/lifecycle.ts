import { z } from 'zod';
import type { LifecycleEvent } from '../../common/events.js';
import { instanceId } from './fields.js';

const nonEmpty = z.string().min(1);

/** The fields of an ASG lifecycle action, the same in EventBridge's `detail` and in direct notifications. */
export const lifecycleActionFields = {
  LifecycleActionToken: nonEmpty,
  AutoScalingGroupName: nonEmpty,
  LifecycleHookName: nonEmpty,
  EC2InstanceId: instanceId,
  NotificationMetadata: z.string().nullish(),
};

export const lifecycleTransitions = {
  'asg-terminate': 'autoscaling:EC2_INSTANCE_TERMINATING',
  'asg-launch': 'autoscaling:EC2_INSTANCE_LAUNCHING',
} as const;

export const testNotificationEvent = 'autoscaling:TEST_NOTIFICATION';

type LifecycleAction = z.output<z.ZodObject<typeof lifecycleActionFields>>;

export function lifecycleEvent(
  kind: LifecycleEvent['kind'],
  action: LifecycleAction,
  time: string,
  eventId: string,
): LifecycleEvent {
  return {
    kind,
    instanceId: action.EC2InstanceId,
    time,
    eventId,
    autoScalingGroupName: action.AutoScalingGroupName,
    lifecycleHookName: action.LifecycleHookName,
    lifecycleActionToken: action.LifecycleActionToken,
    ...(action.NotificationMetadata == null ? {} : { notificationMetadata: action.NotificationMetadata }),
  };
}
