import { condition, isCancellation, patched, workflowInfo } from '@temporalio/workflow';
import type { InterruptionEvent } from '../common/events.js';
import { BlockedDrainNotices } from './blocked-drain.js';
import { permanentFailureTypes } from '../common/failures.js';
import type { RunbookSettings } from '../common/settings.js';
import type { TerminationPhase } from '../common/status.js';
import { callsUntil, drainActivity } from './activities.js';
import { errorMessage, failureType, podsLeft, wasInterrupted } from './failures.js';
import type { LifecycleHolds } from './lifecycle-hold.js';
import type { NodeContext, Notifier } from './notifications.js';
import type { OperatorControls } from './operator-controls.js';
import type { TerminationState } from './termination-state.js';

/** Dry runs that read the node's pods to say which they would evict (runs before it only said "drain"). */
const dryRunReadsPods = 'dry-run-reads-pods';

/** A Spot instance gets two minutes' notice; the drain has to fit in it. */
const spotNoticeMs = 120_000;

/** Temporal terminates a run at 51,200 events; a run hands over long before, at a safe point. */
const defaultHistoryEventsPerRun = 10_000;

export type DrainOutcome = 'drained' | 'not-drained' | 'skipped' | 'stopped' | 'gave-up' | 'lost';

/**
 * Where the runbook stands in its drain when one run hands over to the next: everything after the
 * cordon is carried, so the next run goes on with the attempts instead of starting over.
 */
export interface DrainPlace {
  events: InterruptionEvent[];
  node: NodeContext;
  instanceType: string | undefined;
  /** The next attempt waits until then (DRAIN_RETRY_INTERVAL after a failed one). */
  retryAt: number | undefined;
  /** The next attempt resumes an interrupted one and keeps its number. */
  resumesInterrupted: boolean;
  /** When the first attempt began (the drain's duration metric); absent in places carried before it. */
  drainStartedAt?: number;
}

/** A stopped or terminated instance runs no kubelet: the drain waits for no pod's deletion. */
export const kubeletGone = (events: InterruptionEvent[]) =>
  events.some((e) => e.kind === 'state-change' && (e.state === 'stopped' || e.state === 'terminated'));

/** Ends this run and continues the workflow as new from `place` (throws ContinueAsNew). */
export type HandOver = (place: DrainPlace) => Promise<never>;

export interface DrainDeps {
  state: TerminationState;
  settings: RunbookSettings;
  controls: OperatorControls;
  handOver: HandOver;
  setPhase(phase: TerminationPhase): void;
  /** Runs a step that changes Kubernetes, or in dry run records that it would have. */
  act<T>(decision: string, step: () => Promise<T>): Promise<T | undefined>;
}

/**
 * The moment no drain attempt may run past: DRAIN_DEADLINE after the first event, a Spot notice's
 * two minutes, or a lifecycle action's global timeout less the time to complete it.
 */
export function drainDeadline(events: InterruptionEvent[], settings: RunbookSettings, holds: LifecycleHolds): number {
  const received = Date.parse(events[0]?.time ?? '') || Date.now();
  const spot = events.find((e) => e.kind === 'spot-interruption');
  return Math.min(
    received + settings.drainDeadlineSeconds * 1000,
    spot ? Date.parse(spot.time) + spotNoticeMs : Infinity,
    holds.drainDeadline(),
  );
}

/**
 * The drain attempts of one runbook run, each with the instance's lifecycle actions held. Heartbeats
 * need no hand-over of their own: a hold's heartbeats are bounded by its global timeout (at most
 * about 330 for any hook), while failed attempts repeat until DRAIN_DEADLINE.
 */
export class DrainAttempts {
  constructor(private readonly deps: DrainDeps) {}

  /**
   * Drain attempts until one succeeds, the limits are reached, or an operator ends them. An attempt
   * that was interrupted (not failed) is resumed at once under the same number. Between attempts the
   * run hands over to a new one when its history has grown large.
   */
  async run(place: DrainPlace, notifier: Notifier): Promise<DrainOutcome> {
    const { state, settings, controls } = this.deps;
    const holds = state.holds;
    const { node, events } = place;
    await holds.cover(() => notifier.holdWarnings(node, holds.takeWarnings()));
    if (settings.cordonOnly) {
      state.decide('CORDON_ONLY: not draining');
      return 'not-drained';
    }
    const lifecycleOnly = state.status.kinds.every((k) => k === 'asg-terminate');
    const lost = () => lifecycleOnly && holds.anyLost() && holds.open().length === 0;
    let { retryAt, resumesInterrupted } = place;
    const drainStartedAt = (place.drainStartedAt ??= Date.now());
    const blocked = new BlockedDrainNotices(state, settings);
    for (;;) {
      if (controls.stop) return 'stopped';
      if (controls.skip) return this.skipped();
      if (state.status.attempt > 0 && lost()) return this.lost();
      if (this.historyIsLong()) await this.deps.handOver({ ...place, retryAt, resumesInterrupted });
      if (retryAt !== undefined) {
        this.deps.setPhase('WaitingToRetry');
        controls.retryNow = false;
        const waitMs = retryAt - Date.now();
        await holds.cover(() => condition(() => controls.retryNow || controls.drainEnded, Math.max(waitMs, 0)));
        retryAt = undefined;
        continue;
      }
      if (!resumesInterrupted) state.status.attempt += 1;
      resumesInterrupted = false;
      this.deps.setPhase('Draining');
      const attemptEnd = Math.min(
        Date.now() + settings.drain.nodeTerminationGracePeriodSeconds * 1000,
        Math.max(drainDeadline(events, settings, holds), Date.now() + 1000),
      );
      let drained: Awaited<ReturnType<ReturnType<typeof drainActivity>>> | undefined;
      let failed = false;
      if (settings.dryRun && patched(dryRunReadsPods)) await this.rehearse(node, events);
      try {
        drained = await this.deps.act(`drain node ${node.name} (attempt ${state.status.attempt})`, () =>
          controls.cancellableAttempt(() =>
            holds.cover(() =>
              drainActivity((attemptEnd - Date.now()) / 1000)({
                nodeName: node.name,
                settings: settings.drain,
                deadlineEpochMs: attemptEnd,
                kubeletGone: kubeletGone(events),
                attempt: state.status.attempt,
                drainStartedEpochMs: place.drainStartedAt,
              }),
            ),
          ),
        );
      } catch (error) {
        if (isCancellation(error) && controls.drainEnded) continue;
        if (isCancellation(error)) throw error;
        // A refusal no attempt can change (RBAC), or the node gone: not a drain to retry.
        if (permanentFailureTypes.some((t) => t === failureType(error))) throw error;
        if (wasInterrupted(error) && Date.now() < drainDeadline(events, settings, holds)) {
          state.status.attemptsInterrupted += 1;
          state.decide(`drain attempt ${state.status.attempt} interrupted (${errorMessage(error)}): resuming it`);
          resumesInterrupted = true;
          continue;
        }
        failed = true;
        state.status.lastError = errorMessage(error);
        state.status.podsLeft = podsLeft(error) ?? state.status.podsLeft;
      }
      await holds.cover(() => notifier.holdWarnings(node, holds.takeWarnings()));
      if (!failed) {
        state.status.podsLeft = [];
        state.status.lastError = undefined;
        // Results recorded before the drain named its pods carry a count; running workflows replay them.
        if (Array.isArray(drained?.evicted)) state.status.podsEvicted.push(...drained.evicted);
        if (drained?.notWaitedFor?.length) {
          state.status.podsNotWaitedFor = drained.notWaitedFor;
          state.decide(
            `drained without waiting for pods their kubelet is not finishing: ${drained.notWaitedFor.join(', ')}`,
          );
        }
        return 'drained';
      }
      if (lost()) return this.lost();
      const maxed = settings.drainMaxAttempts > 0 && state.status.attempt >= settings.drainMaxAttempts;
      if (maxed || Date.now() + settings.drainRetryIntervalSeconds * 1000 > drainDeadline(events, settings, holds)) {
        state.decide(
          `giving up the drain after ${state.status.attempt} attempt(s)${maxed ? ' (DRAIN_MAX_ATTEMPTS)' : ' (deadline)'}`,
        );
        return 'gave-up';
      }
      if (blocked.due(drainStartedAt))
        await holds.cover(() => blocked.send(node, place.instanceType, notifier, drainStartedAt));
      retryAt = Date.now() + settings.drainRetryIntervalSeconds * 1000;
    }
  }

  /** DRY_RUN: a decision per pod the drain would evict, from the node's pods as they are now. */
  private async rehearse(node: NodeContext, events: InterruptionEvent[]): Promise<void> {
    const { state, settings } = this.deps;
    try {
      const plan = await callsUntil(drainDeadline(events, settings, state.holds)).rehearseDrain({
        nodeName: node.name,
        settings: settings.drain,
        kubeletGone: kubeletGone(events),
      });
      for (const pod of plan.wouldEvict) state.decide(`would evict pod ${pod} from node ${node.name}`);
      for (const pod of plan.skipped) state.decide(`would leave pod ${pod} on node ${node.name}`);
      if (plan.undrainable.length > 0) {
        state.decide(`would fail to drain node ${node.name}: ${plan.undrainable.join('; ')}`);
      }
    } catch (error) {
      if (isCancellation(error)) throw error;
      state.decide(`could not read the pods of node ${node.name}: ${errorMessage(error)}`);
    }
  }

  /** Temporal's own suggestion, or the project's bound, whichever comes first. */
  private historyIsLong(): boolean {
    const info = workflowInfo();
    const bound = this.deps.settings.historyEventsPerRun ?? defaultHistoryEventsPerRun;
    return info.continueAsNewSuggested || info.historyLength >= bound;
  }

  private lost(): DrainOutcome {
    this.deps.state.decide(
      'no further drain attempts: the lifecycle action is lost and Auto Scaling terminates the instance',
    );
    return 'lost';
  }

  private skipped(): DrainOutcome {
    this.deps.state.decide(
      `drain skipped by an operator${this.deps.controls.skip?.reason ? `: ${this.deps.controls.skip.reason}` : ''}`,
    );
    return 'skipped';
  }
}
