import { log } from '@temporalio/workflow';
import type { InstanceFacts } from '../activities/aws/instances.js';
import type { InterruptionEvent, LifecycleEvent } from '../common/events.js';
import { nthEventId } from '../common/notification.js';
import type { PodLeft, TerminationPhase, TerminationStatus } from '../common/status.js';
import { LifecycleHolds, type CarriedHolds } from './lifecycle-hold.js';

/** The status keeps the latest decisions; older ones are counted. A decision is a line or two. */
const decisionsKept = 200;

/** How a run of the termination failed, thrown when the workflow closes after DUPLICATE_WINDOW. */
export interface TerminationFailure {
  type: string;
  message: string;
}

/** What one run of the workflow hands to the next (continue-as-new), besides the runbook's place. */
export interface CarriedState {
  status: TerminationStatus;
  seenEventIds: string[];
  pending: InterruptionEvent[];
  holds: CarriedHolds;
  /** Absent in runs carried before it was. */
  instance?: InstanceFacts | undefined;
}

/** What a termination workflow knows: events taken in (deduplicated), progress, the `status` answer. */
export class TerminationState {
  readonly status: TerminationStatus;
  /** The lifecycle actions of the instance: their tokens, clocks and heartbeats. */
  readonly holds: LifecycleHolds;
  /** Set when a run failed; cleared when a new run starts. */
  failure: TerminationFailure | undefined;
  /** EC2's description of the instance, once the runbook has it: the webhook's node metadata. */
  instance: InstanceFacts | undefined;
  private readonly seenEventIds = new Set<string>();
  private readonly pending: InterruptionEvent[] = [];
  /** The events the current run of the runbook handles (NTH's ids): dry-run log lines name them. */
  private runEventIds: string[] = [];

  constructor(instanceId: string, carried?: CarriedState) {
    this.status = carried?.status ?? {
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
      decisionsOmitted: 0,
      attemptsInterrupted: 0,
      run: 1,
      eventsReceived: 0,
      duplicatesIgnored: 0,
      dryRun: false,
    };
    this.holds = new LifecycleHolds(this);
    if (carried) {
      this.status.run += 1;
      // A run carried before pods were given reasons names them only.
      this.status.podsLeft = this.status.podsLeft.map((p: PodLeft | string) =>
        typeof p === 'string' ? { pod: p, reason: 'left on the node' } : p,
      );
      for (const id of carried.seenEventIds) this.seenEventIds.add(id);
      this.pending.push(...carried.pending);
      this.holds.restore(carried.holds);
      this.instance = carried.instance;
    }
  }

  /** Everything this state knows, for the next run. */
  carry(): CarriedState {
    return {
      status: this.status,
      seenEventIds: [...this.seenEventIds],
      pending: [...this.pending],
      holds: this.holds.carry(),
      ...(this.instance ? { instance: this.instance } : {}),
    };
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

  /** The events waiting for a runbook run, left where they are. */
  peekPending(): readonly InterruptionEvent[] {
    return this.pending;
  }

  /** All events waiting for a runbook run; the run handles them together. */
  takePending(): InterruptionEvent[] {
    const events = this.pending.splice(0);
    this.runEventIds = events.map(nthEventId);
    return events;
  }

  /** Events of an ended action need no run of their own. */
  dropPendingOf(token: string): void {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      if (tokenOf(this.pending[i]!) === token) this.pending.splice(i, 1);
    }
  }

  decide(decision: string): void {
    const { decisions } = this.status;
    decisions.push(this.status.dryRun ? `dry run: ${decision}` : decision);
    // Operators read a dry run in the logs: one line per decision (not repeated when the workflow replays).
    if (this.status.dryRun) {
      log.info(decision, { dryRun: true, instanceId: this.status.instanceId, eventIds: this.runEventIds });
    }
    if (decisions.length > decisionsKept) {
      this.status.decisionsOmitted += decisions.length - decisionsKept;
      decisions.splice(0, decisions.length - decisionsKept);
    }
  }

  setPhase(phase: TerminationPhase): void {
    this.status.phase = phase;
  }
}

export const isLifecycleEvent = (event: InterruptionEvent): event is LifecycleEvent => isLifecycle(event);

function isLifecycle(event: InterruptionEvent): event is LifecycleEvent {
  return event.kind === 'asg-terminate' || event.kind === 'asg-launch';
}

function tokenOf(event: InterruptionEvent): string | undefined {
  return isLifecycle(event) ? event.lifecycleActionToken : undefined;
}
