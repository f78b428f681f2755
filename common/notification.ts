import type { InterruptionKind } from './events.js';

/**
 * What a notification says about one termination, in the names of NTH's webhook template variables
 * (`{{ .EventID }}`, `{{ .Kind }}`, ...), so NTH templates work unchanged.
 */
export interface NotificationData {
  EventID: string;
  Kind: string;
  Monitor: string;
  Description: string;
  State: string;
  AutoScalingGroupName: string;
  NodeName: string;
  NodeLabels: Record<string, string>;
  Pods: string[];
  InstanceID: string;
  ProviderID: string;
  InstanceType: string;
  IsManaged: boolean;
  StartTime: string;
  EndTime: string;
  NodeProcessed: boolean;
  InProgress: boolean;
}

/** NTH's event kinds, as its webhooks and dashboards know them. */
export const nthKinds: Record<InterruptionKind, string> = {
  'asg-terminate': 'ASG_LIFECYCLE',
  'asg-launch': 'ASG_LAUNCH_LIFECYCLE',
  'spot-interruption': 'SPOT_ITN',
  'rebalance-recommendation': 'REBALANCE_RECOMMENDATION',
  'state-change': 'STATE_CHANGE',
  'scheduled-change': 'SCHEDULED_EVENT',
};

/** NTH's Kubernetes event reasons for an interruption, by kind. */
export const interruptionReasons: Record<InterruptionKind, string> = {
  'asg-terminate': 'ASGLifecycle',
  'asg-launch': 'ASGLifecycle',
  'spot-interruption': 'SpotInterruption',
  'rebalance-recommendation': 'RebalanceRecommendation',
  'state-change': 'StateChange',
  'scheduled-change': 'ScheduledEvent',
};

/** A Kubernetes event on the node, with NTH's reasons and messages. */
export interface NodeEvent {
  nodeName: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** Makes the event's name, so a retried activity does not record it twice. */
  dedupKey: string;
}
