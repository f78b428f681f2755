import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { InterruptionEvent } from '../common/events.js';
import { interruptionReasons, nthEventId, type NodeEvent } from '../common/notification.js';
import type { RunbookSettings } from '../common/settings.js';
import { notificationData, nthDescription } from './notification-data.js';
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
      message: nthDescription(event),
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
    const data = this.webhookData(node, instanceType, managed);
    if (data) await this.send(data);
  }

  /**
   * While a drain stays blocked (DRAIN_BLOCKED_NOTIFY_INTERVAL): a Warning event on the node and a
   * webhook in progress, each saying what holds the drain. `sequence` makes each event one of its own.
   */
  async drainBlocked(node: NodeContext, instanceType: string | undefined, message: string, sequence: number) {
    await this.nodeEvent({
      nodeName: node.name,
      type: 'Warning',
      reason: 'DrainBlocked',
      message,
      dedupKey: `${this.primary?.eventId ?? this.state.status.instanceId}/blocked/${sequence}`,
    });
    const data = this.webhookData(node, instanceType, true);
    if (data) await this.send({ ...data, Description: message, InProgress: true, NodeProcessed: false });
  }

  /** The webhook's data as things stand, or undefined when no webhook goes out (none set, dry run). */
  private webhookData(node: NodeContext | undefined, instanceType: string | undefined, managed: boolean) {
    const event = this.primary;
    if (!this.settings.webhookEnabled || !event) return undefined;
    if (this.settings.dryRun) {
      this.state.decide(`would send the webhook for event ${nthEventId(event)}`);
      return undefined;
    }
    const { status } = this.state;
    return notificationData({
      event,
      instanceId: status.instanceId,
      instance: this.state.instance,
      node,
      instanceType,
      phase: status.phase,
      podsEvicted: status.podsEvicted,
      managed,
      endTime: new Date(Date.now()).toISOString(),
    });
  }

  private async send(data: ReturnType<typeof notificationData>): Promise<void> {
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
