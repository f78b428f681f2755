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

/** Where an instance of a group with a warm pool comes from and goes to, as Auto Scaling names them. */
export const lifecycleLocations = ['EC2', 'AutoScalingGroup', 'WarmPool'] as const;
export type LifecycleLocation = (typeof lifecycleLocations)[number];

export interface LifecycleEvent extends EventBase {
  kind: 'asg-terminate' | 'asg-launch';
  autoScalingGroupName: string;
  lifecycleHookName: string;
  lifecycleActionToken: string;
  notificationMetadata?: string;
  /**
   * `Origin` and `Destination`: a launch into the warm pool is EC2 -> WarmPool, out of it into the
   * group WarmPool -> AutoScalingGroup; a scale-in back into the pool AutoScalingGroup -> WarmPool.
   * Absent in notifications that carry neither (groups without a warm pool may omit them).
   */
  origin?: LifecycleLocation;
  destination?: LifecycleLocation;
}

/** The launch puts the instance into the warm pool: it is stopped there, no node will join now. */
export const launchesIntoWarmPool = (event: LifecycleEvent) =>
  event.kind === 'asg-launch' && event.destination === 'WarmPool';

/** A warmed instance leaves the pool to be terminated: it was stopped there, its node may never have joined. */
export const terminatesFromWarmPool = (event: LifecycleEvent) =>
  event.kind === 'asg-terminate' && event.origin === 'WarmPool';

/** The scale-in returns the instance to the warm pool instead of terminating it. */
export const returnsToWarmPool = (event: LifecycleEvent) =>
  event.kind === 'asg-terminate' && event.destination === 'WarmPool';

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
  /** The end of the change's window (AWS Health's `endTime`), when it gives one. */
  endTime?: string;
  description?: string;
}

export type InterruptionEvent =
  LifecycleEvent | SpotInterruptionEvent | RebalanceRecommendationEvent | StateChangeEvent | ScheduledChangeEvent;
