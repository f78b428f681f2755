/*
 * A lifecycle hook's direct notification: Auto Scaling sends it to the hook's SQS or SNS target, without
 * EventBridge, so there is no `source`/`detail-type`; the registry keys it by `Service` and the transition.
 * `RequestId` stays the same on every redelivery.
 *   {"Origin": "AutoScalingGroup", "Destination": "EC2", "Service": "AWS Auto Scaling",
 *    "Time": "2024-05-01T12:00:00.123Z", "AccountId": "123456789012",
 *    "RequestId": "18b2ec17-3e9b-4c15-8024-ff2e8ce8786a", "LifecycleActionToken": "71514b9d-6a40-4b26-8523-05e7ee35fa40",
 *    "AutoScalingGroupName": "my-asg", "LifecycleHookName": "my-hook", "EC2InstanceId": "i-0598c7d356eba48d7",
 *    "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING"}
 * The launch form is the same with `autoscaling:EC2_INSTANCE_LAUNCHING`.
 */
import { z } from 'zod';
import { isoTime, nonEmpty } from './fields.js';
import { lifecycleActionFields, lifecycleEvent, lifecycleTransitions } from './lifecycle.js';
import { defineMessageKind, type MessageKind } from './message-kind.js';

export const autoScalingService = 'AWS Auto Scaling';

function asgNotification(kind: keyof typeof lifecycleTransitions): MessageKind {
  const transition = lifecycleTransitions[kind];
  return defineMessageKind({
    name: `${kind}-notification`,
    source: autoScalingService,
    detailType: transition,
    schema: z.object({
      Service: z.literal(autoScalingService),
      Time: isoTime,
      RequestId: nonEmpty,
      ...lifecycleActionFields,
      LifecycleTransition: z.literal(transition),
    }),
    toEvents: (message) => [lifecycleEvent(kind, message, message.Time, message.RequestId)],
  });
}

export const asgTerminateNotification = asgNotification('asg-terminate');
export const asgLaunchNotification = asgNotification('asg-launch');
