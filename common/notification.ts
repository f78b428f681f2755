import type { InterruptionEvent, InterruptionKind } from './events.js';

/**
 * NTH's `ec2metadata.NodeMetadata`, which its templates read beside the event (`{{ .AvailabilityZone }}`,
 * `{{ .AccountId }}`, ...). NTH fills it from the instance metadata service of the node it runs on, so
 * in queue-processor mode (IMDS off) it is empty, and before that it described the wrong instance (NTH
 * issue 521). tnth fills it with the interrupted instance's own values from EC2, as NTH's IMDS mode did.
 */
export interface NodeMetadata {
  AccountId: string;
  InstanceLifeCycle: string;
  PublicHostname: string;
  PublicIP: string;
  LocalHostname: string;
  LocalIP: string;
  AvailabilityZone: string;
  Region: string;
}

/**
 * What a notification says about one termination, in the names of NTH's webhook template variables:
 * its `monitor.InterruptionEvent` and `NodeMetadata`, merged as its `webhook.combinedDrainData` does
 * (`InstanceID` and `InstanceType` once), so NTH templates work unchanged. Times are ISO 8601 here;
 * templates print them as Go does (see `common/webhook-template.ts`).
 */
export interface NotificationData extends Partial<NodeMetadata> {
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

/**
 * NTH's event id prefixes (`pkg/monitor/sqsevent/*-event.go`): `fmt.Sprintf("<prefix>-%x", event.ID)`,
 * the EventBridge id (a lifecycle notification's RequestId) in hexadecimal. NTH uses the termination's
 * prefix for launches too.
 */
const nthEventIdPrefixes: Record<InterruptionKind, string> = {
  'asg-terminate': 'asg-lifecycle-term-',
  'asg-launch': 'asg-lifecycle-term-',
  'spot-interruption': 'spot-itn-event-',
  'rebalance-recommendation': 'rebalance-recommendation-event-',
  'state-change': 'ec2-state-change-event-',
  'scheduled-change': 'aws-health-scheduled-change-event-',
};

/** Go's `%x` of a string: each UTF-8 byte as two lower-case hex digits (plain code: workflows use it). */
function hexOfUtf8(text: string): string {
  const bytes: number[] = [];
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code < 0x80) bytes.push(code);
    else if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 0x3f));
    else if (code < 0x10000) bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
    else {
      bytes.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 0x3f), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
    }
  }
  return bytes.map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** The event id NTH gives the event (`spot-itn-event-3165...`): webhooks, taints and logs carry it. */
export function nthEventId(event: Pick<InterruptionEvent, 'kind' | 'eventId'>): string {
  return `${nthEventIdPrefixes[event.kind]}${hexOfUtf8(event.eventId)}`;
}

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
