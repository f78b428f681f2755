import type { InterruptionEvent, LifecycleEvent } from '../common/events.js';
import type { TerminationPhase, TerminationStatus } from '../common/status.js';
import { LifecycleHolds } from './lifecycle-hold.js';

/** What a termination workflow knows: events taken in (deduplicated), progress, the `status` answer. */
export class TerminationState {
  readonly status: TerminationStatus;
  /** The lifecycle actions of the instance: their tokens, clocks and heartbeats. */
  readonly holds: LifecycleHolds;
  private readonly seenEventIds = new Set<string>();
  private readonly pending: InterruptionEvent[] = [];

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
      lifecycleActions: [],
      heartbeatsSent: 0,
      lastHeartbeatAt: undefined,
      nextHeartbeatAt: undefined,
      warnings: [],
      decisions: [],
      eventsReceived: 0,
      duplicatesIgnored: 0,
      dryRun,
    };
    this.holds = new LifecycleHolds(this);
  }

  /** Takes an event in unless its id was seen or its lifecycle action has ended; returns whether it was new. */
  receive(event: InterruptionEvent): boolean {
    const token = tokenOf(event);
    if (this.seenEventIds.has(event.eventId) || (token !== undefined && this.holds.isEnded(token))) {
      this.status.duplicatesIgnored += 1;
      return false;
    }
    this.seenEventIds.add(event.eventId);
    this.status.eventsReceived += 1;
    if (!this.status.kinds.includes(event.kind)) this.status.kinds.push(event.kind);
    if (isLifecycle(event)) this.holds.receive(event);
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

  /** Events of an ended action need no run of their own. */
  dropPendingOf(token: string): void {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      if (tokenOf(this.pending[i]!) === token) this.pending.splice(i, 1);
    }
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
