// What NTH's webhook templates read, built from what the workflow knows. Plain code, no workflow APIs,
// so the template fixtures test it outside a workflow.
import type { InstanceFacts } from '../activities/aws/instances.js';
import type { InterruptionEvent } from '../common/events.js';
import { goTime } from '../common/go-format.js';
import { nthEventId, nthKinds, type NodeMetadata, type NotificationData } from '../common/notification.js';

/** The instance tag Auto Scaling sets, which NTH reads for a non-lifecycle event's group. */
const autoScalingGroupTag = 'aws:autoscaling:groupName';

/**
 * NTH's `InterruptionEvent.Description` for the event, word for word (`pkg/monitor/sqsevent/*-event.go`),
 * its time as Go prints a `time.Time`, and the " \n" NTH ends each with. Kubernetes events carry it too.
 */
export function nthDescription(event: InterruptionEvent): string {
  const at = goTime(event.time);
  switch (event.kind) {
    case 'asg-terminate':
      return `ASG Lifecycle Termination event received. Instance will be interrupted at ${at} \n`;
    case 'asg-launch':
      return `ASG Lifecycle Launch event received. Instance was started at ${at} \n`;
    case 'spot-interruption':
      return `Spot Interruption notice for instance ${event.instanceId} was sent at ${at} \n`;
    case 'rebalance-recommendation':
      return `Rebalance recommendation event received. Instance ${event.instanceId} will be cordoned at ${at} \n`;
    case 'state-change':
      return `EC2 State Change event received. Instance ${event.instanceId} went into ${event.state} at ${at} \n`;
    case 'scheduled-change':
      return `AWS Health scheduled change event received. Instance ${event.instanceId} will be interrupted at ${at} \n`;
    default: {
      const unknown: never = event;
      return `event ${JSON.stringify(unknown)}`;
    }
  }
}

/** NTH's NodeMetadata of the interrupted instance, from EC2's description of it. */
export function nodeMetadata(instance: InstanceFacts | undefined): NodeMetadata {
  const zone = instance?.availabilityZone ?? '';
  return {
    AccountId: instance?.accountId ?? '',
    InstanceLifeCycle: instance?.instanceLifecycle ?? '',
    PublicHostname: instance?.publicDnsName ?? '',
    PublicIP: instance?.publicIpAddress ?? '',
    LocalHostname: instance?.privateDnsName ?? '',
    LocalIP: instance?.privateIpAddress ?? '',
    AvailabilityZone: zone,
    Region: instance?.region ?? '',
  };
}

export interface NotificationFacts {
  event: InterruptionEvent;
  instanceId: string;
  instance: InstanceFacts | undefined;
  node: { name: string; providerId: string | undefined; labels: Record<string, string> } | undefined;
  /** The node's instance type label, for an instance EC2 did not describe. */
  instanceType: string | undefined;
  /** The termination's phase when the webhook is sent (`Done`, `Failed`, ...). */
  phase: string;
  /** `namespace/name` of each pod the drain evicted. */
  podsEvicted: string[];
  managed: boolean;
  /** When the outcome was known (ISO 8601). */
  endTime: string;
}

/**
 * The template data of one termination: NTH's values where NTH has them (event id, kind, monitor,
 * description, group, provider id `aws:///<zone>/<id>`, instance type, node metadata, Go times); State,
 * EndTime, NodeProcessed and InProgress say how tnth's termination ended (NTH sent its webhook midway,
 * with them empty, zero, false and true).
 */
export function notificationData(facts: NotificationFacts): NotificationData {
  const { event, instance, node } = facts;
  const zone = instance?.availabilityZone;
  const group =
    event.kind === 'asg-terminate' || event.kind === 'asg-launch'
      ? event.autoScalingGroupName
      : (instance?.tags[autoScalingGroupTag] ?? '');
  return {
    EventID: nthEventId(event),
    Kind: nthKinds[event.kind],
    Monitor: 'SQS_MONITOR',
    Description: nthDescription(event),
    State: facts.phase,
    AutoScalingGroupName: group,
    NodeName: node?.name ?? instance?.privateDnsName ?? '',
    NodeLabels: node?.labels ?? {},
    // NTH lists pod names, without their namespace.
    Pods: facts.podsEvicted.map((pod) => pod.slice(pod.indexOf('/') + 1)),
    InstanceID: facts.instanceId,
    ProviderID: zone ? `aws:///${zone}/${facts.instanceId}` : (node?.providerId ?? ''),
    InstanceType: instance?.instanceType ?? facts.instanceType ?? '',
    IsManaged: facts.managed,
    StartTime: event.time,
    EndTime: facts.endTime,
    NodeProcessed: facts.phase === 'Done',
    InProgress: false,
    ...nodeMetadata(instance),
  };
}
