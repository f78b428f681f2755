/**
 * Interruption events: what the starter makes of an SQS message and what the termination workflow
 * acts on. A discriminated union on `kind`; the starter's parsers produce them, the workflow consumes them.
 */
export const interruptionKinds = [
  'asg-terminate',
  'asg-launch',
  'spot-interruption',
  'rebalance-recommendation',
  'state-change',
  'scheduled-change',
] as const;

export type InterruptionKind = (typeof interruptionKinds)[number];

interface EventBase {
  kind: InterruptionKind;
  /** EC2 instance id, `i-...`: the workflow id is derived from it. */
  instanceId: string;
  /** When AWS says the event happened (ISO 8601). */
  time: string;
  /** Stable across redeliveries of the same message: the workflow ignores an event id it has seen. */
  eventId: string;
}

export interface LifecycleEvent extends EventBase {
  kind: 'asg-terminate' | 'asg-launch';
  autoScalingGroupName: string;
  lifecycleHookName: string;
  lifecycleActionToken: string;
  notificationMetadata?: string;
}

export interface SpotInterruptionEvent extends EventBase {
  kind: 'spot-interruption';
  /** `terminate`, `stop` or `hibernate`. */
  instanceAction: string;
}

export interface RebalanceRecommendationEvent extends EventBase {
  kind: 'rebalance-recommendation';
}

export interface StateChangeEvent extends EventBase {
  kind: 'state-change';
  /** One of the states that need a drain: stopping, stopped, shutting-down, terminated. */
  state: string;
}

export interface ScheduledChangeEvent extends EventBase {
  kind: 'scheduled-change';
  /** The AWS Health event type, for example `AWS_EC2_PERSISTENT_INSTANCE_RETIREMENT_SCHEDULED`. */
  eventTypeCode: string;
  startTime?: string;
  description?: string;
}

export type InterruptionEvent =
  LifecycleEvent | SpotInterruptionEvent | RebalanceRecommendationEvent | StateChangeEvent | ScheduledChangeEvent;
