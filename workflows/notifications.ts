import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { InterruptionEvent } from '../common/events.js';
import { interruptionReasons, nthKinds, type NodeEvent, type NotificationData } from '../common/notification.js';
import type { RunbookSettings } from '../common/settings.js';
import type { TerminationState } from './termination-state.js';

/** Notifications are worth retries, never a failed termination: a receiver down for minutes is logged. */
const { sendWebhook, emitNodeEvent } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 8 },
});

export interface NodeContext {
  name: string;
  providerId: string | undefined;
  labels: Record<string, string>;
}

function describe(event: InterruptionEvent): string {
  switch (event.kind) {
    case 'asg-terminate':
      return `ASG Lifecycle Termination event received. Instance will be interrupted at ${event.time}`;
    case 'asg-launch':
      return `ASG Lifecycle Launch event received at ${event.time}`;
    case 'spot-interruption':
      return `Spot Interruption notice for instance ${event.instanceId} was sent at ${event.time}; action: ${event.instanceAction}`;
    case 'rebalance-recommendation':
      return `Rebalance recommendation event received. Instance ${event.instanceId} will be cordoned at ${event.time}`;
    case 'state-change':
      return `EC2 State Change event received. Instance ${event.instanceId} went into ${event.state} at ${event.time}`;
    case 'scheduled-change':
      return event.description ?? `AWS Health scheduled change ${event.eventTypeCode} for ${event.instanceId}`;
    default: {
      const unknown: never = event;
      return `event ${JSON.stringify(unknown)}`;
    }
  }
}

/** Webhook and Kubernetes events of one runbook run, as NTH sends them, each at most once. */
export class Notifier {
  constructor(
    private readonly state: TerminationState,
    private readonly settings: RunbookSettings,
    private readonly events: InterruptionEvent[],
  ) {}

  private get primary(): InterruptionEvent | undefined {
    return this.events[0];
  }

  /** The interruption itself, on the node (NTH's ASGLifecycle, SpotInterruption, ... reasons). */
  async interruption(node: NodeContext): Promise<void> {
    const event = this.primary;
    if (!event) return;
    await this.nodeEvent({
      nodeName: node.name,
      type: 'Normal',
      reason: interruptionReasons[event.kind],
      message: describe(event),
      dedupKey: `${event.eventId}/interruption`,
    });
  }

  /** The outcome on the node: Cordon, CordonAndDrain, or CordonAndDrainError with the reason. */
  async outcome(node: NodeContext, outcome: 'cordoned' | 'drained' | 'failed'): Promise<void> {
    const eventId = this.primary?.eventId ?? this.state.status.instanceId;
    const [type, reason, message] =
      outcome === 'cordoned'
        ? (['Normal', 'Cordon', 'Node successfully cordoned'] as const)
        : outcome === 'drained'
          ? (['Normal', 'CordonAndDrain', 'Node successfully cordoned and drained'] as const)
          : ([
              'Warning',
              'CordonAndDrainError',
              `There was a problem while trying to cordon and drain the node: ${this.state.status.lastError ?? 'unknown'}`,
            ] as const);
    await this.nodeEvent({ nodeName: node.name, type, reason, message, dedupKey: `${eventId}/${reason}` });
  }

  /** Warnings about the hold of the lifecycle action (a HEARTBEAT_INTERVAL clamped to the hook, ...). */
  async holdWarnings(node: NodeContext, warnings: string[]): Promise<void> {
    for (const message of warnings) {
      await this.nodeEvent({
        nodeName: node.name,
        type: 'Warning',
        reason: 'LifecycleHeartbeatWarning',
        message,
        dedupKey: `${this.primary?.eventId ?? this.state.status.instanceId}/hold/${message}`,
      });
    }
  }

  /** One webhook per run, after the outcome is known. */
  async webhook(node: NodeContext | undefined, instanceType: string | undefined, managed: boolean): Promise<void> {
    const event = this.primary;
    if (!this.settings.webhookEnabled || !event) return;
    if (this.settings.dryRun) {
      this.state.decide('would send the webhook');
      return;
    }
    const { status } = this.state;
    const data: NotificationData = {
      EventID: event.eventId,
      Kind: nthKinds[event.kind],
      Monitor: 'SQS_MONITOR',
      Description: describe(event),
      State: status.phase,
      AutoScalingGroupName: status.lifecycle?.autoScalingGroupName ?? '',
      NodeName: node?.name ?? '',
      NodeLabels: node?.labels ?? {},
      Pods: status.podsEvicted,
      InstanceID: status.instanceId,
      ProviderID: node?.providerId ?? '',
      InstanceType: instanceType ?? node?.labels['node.kubernetes.io/instance-type'] ?? '',
      IsManaged: managed,
      StartTime: event.time,
      EndTime: new Date(Date.now()).toISOString(),
      NodeProcessed: status.phase === 'Done',
      InProgress: false,
    };
    try {
      await sendWebhook(data);
      this.state.decide('webhook sent');
    } catch (error) {
      this.state.decide(
        `webhook failed: ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`,
      );
    }
  }

  private async nodeEvent(event: NodeEvent): Promise<void> {
    if (!this.settings.emitKubernetesEvents) return;
    if (this.settings.dryRun) {
      this.state.decide(`would record event ${event.reason} on node ${event.nodeName}`);
      return;
    }
    try {
      await emitNodeEvent(event);
    } catch (error) {
      this.state.decide(
        `could not record event ${event.reason}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
