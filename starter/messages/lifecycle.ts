import { z } from 'zod';
import { lifecycleLocations, type LifecycleEvent } from '../../common/events.js';
import { eventBridgeEvent, instanceId, nonEmpty } from './fields.js';
import { MessageError } from './message-error.js';
import { defineMessageKind, validatePart } from './message-kind.js';

/** The fields of an ASG lifecycle action, the same in EventBridge's `detail` and in direct notifications. */
export const lifecycleActionFields = {
  LifecycleActionToken: nonEmpty,
  AutoScalingGroupName: nonEmpty,
  LifecycleHookName: nonEmpty,
  EC2InstanceId: instanceId,
  NotificationMetadata: z.string().nullish(),
  // Auto Scaling names three places (docs: "Warm pool example events and patterns"); one it may add
  // later is refused by name rather than taken for a plain launch or termination.
  Origin: z.enum(lifecycleLocations).optional(),
  Destination: z.enum(lifecycleLocations).optional(),
};

export const lifecycleTransitions = {
  'asg-terminate': 'autoscaling:EC2_INSTANCE_TERMINATING',
  'asg-launch': 'autoscaling:EC2_INSTANCE_LAUNCHING',
} as const;

export const testNotificationEvent = 'autoscaling:TEST_NOTIFICATION';

/** A lifecycle action's fields for one transition, as EventBridge's `detail` carries them. */
export const lifecycleDetail = (kind: keyof typeof lifecycleTransitions) =>
  z.object({ ...lifecycleActionFields, LifecycleTransition: z.literal(lifecycleTransitions[kind]) });

/**
 * A hook's test notification in EventBridge form: the hook's detail type with only `Event` and/or
 * `LifecycleTransition` set to the test event (as NTH's fixtures record it). It needs no action.
 */
export const eventBridgeDetail = z.looseObject({
  Event: z.unknown().optional(),
  LifecycleTransition: z.unknown().optional(),
});

export const isTestNotification = (detail: z.output<typeof eventBridgeDetail>): boolean =>
  detail.Event === testNotificationEvent || detail.LifecycleTransition === testNotificationEvent;

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
    ...(action.Origin === undefined ? {} : { origin: action.Origin }),
    ...(action.Destination === undefined ? {} : { destination: action.Destination }),
  };
}

/** The EventBridge lifecycle action of one transition: its events, or none for a test notification. */
export function eventBridgeLifecycleKind(name: keyof typeof lifecycleTransitions, detailType: string) {
  return defineMessageKind({
    name,
    source: 'aws.autoscaling',
    detailType,
    // The detail is checked once it is known not to be a test notification.
    schema: eventBridgeEvent(detailType, eventBridgeDetail),
    toEvents: ({ id, time, detail }) => {
      if (isTestNotification(detail)) return [];
      const action = validatePart(lifecycleDetail(name), detail, ['detail'], name);
      return action instanceof MessageError ? action : [lifecycleEvent(name, action, time, id)];
    },
  });
}
