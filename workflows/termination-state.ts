import type { InterruptionEvent, LifecycleEvent } from '../common/events.js';
import type { HeartbeatProgress, LifecycleTarget } from '../common/lifecycle.js';
import type { TerminationPhase, TerminationStatus } from '../common/status.js';

type LifecycleStatus = NonNullable<TerminationStatus['lifecycle']>;

/** What a termination workflow knows: events taken in (deduplicated), progress, the `status` answer. */
export class TerminationState {
  readonly status: TerminationStatus;
  private readonly seenEventIds = new Set<string>();
  private readonly pending: InterruptionEvent[] = [];
  /** Tokens whose lifecycle action this workflow has ended (or found ended). */
  private readonly endedTokens = new Set<string>();
  private lifecycleTarget: LifecycleTarget | undefined;

  constructor(instanceId: string, dryRun = false) {
    this.status = {
      instanceId,
      phase: 'Received',
      kinds: [],
      nodeName: undefined,
      attempt: 0,
      lastError: undefined,
      podsLeft: [],
      podsEvicted: [],
      lifecycle: undefined,
      heartbeatsSent: 0,
      lastHeartbeatAt: undefined,
      nextHeartbeatAt: undefined,
      decisions: [],
      eventsReceived: 0,
      duplicatesIgnored: 0,
      dryRun,
    };
  }

  /** Takes an event in unless its id was seen; returns whether it was new. */
  receive(event: InterruptionEvent): boolean {
    if (this.seenEventIds.has(event.eventId) || this.endedTokens.has(tokenOf(event) ?? '')) {
      this.status.duplicatesIgnored += 1;
      return false;
    }
    this.seenEventIds.add(event.eventId);
    this.status.eventsReceived += 1;
    if (!this.status.kinds.includes(event.kind)) this.status.kinds.push(event.kind);
    if (isLifecycle(event) && this.lifecycleTarget?.lifecycleActionToken !== event.lifecycleActionToken) {
      this.lifecycleTarget = {
        autoScalingGroupName: event.autoScalingGroupName,
        lifecycleHookName: event.lifecycleHookName,
        instanceId: event.instanceId,
        lifecycleActionToken: event.lifecycleActionToken,
      };
      this.status.lifecycle = { ...this.lifecycleTarget, result: undefined } satisfies LifecycleStatus;
    }
    this.pending.push(event);
    return true;
  }

  hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** All events waiting for a runbook run; the run handles them together. */
  takePending(): InterruptionEvent[] {
    return this.pending.splice(0);
  }

  /** The lifecycle action to keep alive and complete, while it has not ended. */
  openLifecycle(): LifecycleTarget | undefined {
    const target = this.lifecycleTarget;
    return target && !this.endedTokens.has(target.lifecycleActionToken) ? target : undefined;
  }

  lifecycleEnded(target: LifecycleTarget, result: NonNullable<LifecycleStatus['result']>): void {
    this.endedTokens.add(target.lifecycleActionToken);
    if (this.status.lifecycle?.lifecycleActionToken === target.lifecycleActionToken) {
      this.status.lifecycle.result = result;
    }
    // Events of an ended action need no run of their own.
    for (let i = this.pending.length - 1; i >= 0; i--) {
      if (tokenOf(this.pending[i]!) === target.lifecycleActionToken) this.pending.splice(i, 1);
    }
  }

  recordHeartbeat(progress: HeartbeatProgress): void {
    if (progress.lifecycleActionToken !== this.status.lifecycle?.lifecycleActionToken) return;
    this.status.heartbeatsSent += 1;
    this.status.lastHeartbeatAt = new Date(progress.lastHeartbeatAt).toISOString();
    this.status.nextHeartbeatAt = new Date(progress.nextHeartbeatAt).toISOString();
  }

  lastHeartbeatEpochMs(): number | undefined {
    return this.status.lastHeartbeatAt === undefined ? undefined : Date.parse(this.status.lastHeartbeatAt);
  }

  heartbeatsStopped(): void {
    this.status.nextHeartbeatAt = undefined;
  }

  decide(decision: string): void {
    this.status.decisions.push(this.status.dryRun ? `dry run: ${decision}` : decision);
  }

  setPhase(phase: TerminationPhase): void {
    this.status.phase = phase;
  }
}

function isLifecycle(event: InterruptionEvent): event is LifecycleEvent {
  return event.kind === 'asg-terminate' || event.kind === 'asg-launch';
}

function tokenOf(event: InterruptionEvent): string | undefined {
  return isLifecycle(event) ? event.lifecycleActionToken : undefined;
}
