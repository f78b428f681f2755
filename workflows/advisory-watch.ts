import { condition } from '@temporalio/workflow';
import type { NodeRestoration } from '../activities/kubernetes/nodes.js';
import type { InterruptionEvent } from '../common/events.js';
import type { EventAction, RunbookSettings } from '../common/settings.js';
import type { NodeChanges, TerminationPhase } from '../common/status.js';
import type { DrainPlace } from './drain-attempts.js';
import { actionOfEvents, actionReason, raises, undoAt } from './event-policy.js';
import { Notifier, type NodeContext } from './notifications.js';
import type { OperatorControls } from './operator-controls.js';
import { isLifecycleEvent, type TerminationState } from './termination-state.js';

export interface AdvisoryDeps {
  state: TerminationState;
  settings: RunbookSettings;
  controls: OperatorControls;
  setPhase(phase: TerminationPhase): void;
  /** Runs a step that changes Kubernetes, or in dry run records that it would have. */
  act<T>(decision: string | string[], step: () => Promise<T>): Promise<T | undefined>;
  /** Does what `action` asks to the node for the events (the runbook's taint and cordon step). */
  apply(node: NodeContext, events: InterruptionEvent[], action: EventAction): Promise<void>;
  restoreNode(input: NodeRestoration): Promise<unknown>;
}

/**
 * What an advisory event (a rebalance recommendation, a scheduled change, a state change whose
 * action is not a drain) leads to after its taint or cordon: a durable wait for what comes next.
 * An event that asks for more raises the action inside the run (taint -> cordon -> drain); one
 * that asks for no more only moves the undo later. When nothing came by the undo time, what was
 * added to the node is removed, and only that.
 */
export class AdvisorySteps {
  constructor(private readonly deps: AdvisoryDeps) {}

  /**
   * Events that need nothing done: their action is `none`, or the node was drained already and
   * they bring no lifecycle action to complete. Records why; the phase stays as it was.
   */
  needsNothing(events: InterruptionEvent[], action: EventAction): boolean {
    const { state, settings } = this.deps;
    if (action === 'none') {
      state.decide(`${actionReason(events, settings)}: nothing done`);
      if (!state.status.action || state.status.action === 'none') this.deps.setPhase('Ignored');
      return true;
    }
    if (state.status.action === 'drain' && state.status.phase === 'Done' && !events.some(isLifecycleEvent)) {
      state.decide(`${actionReason(events, settings)}: the node was drained already, nothing more to do`);
      return true;
    }
    return false;
  }

  /**
   * Waits after the taint or cordon `action` of `place`. Returns the events to drain for (newest
   * first), `stopped` (an operator's stop: the node is left as it is), or `undone`.
   */
  async watch(place: DrainPlace, action: EventAction): Promise<InterruptionEvent[] | 'stopped' | 'undone'> {
    const { state, settings, controls } = this.deps;
    const { node, instanceType } = place;
    const notify = (events: InterruptionEvent[]) =>
      new Notifier(state, settings, events).webhook(node, instanceType, true);
    if (action === 'cordon') await new Notifier(state, settings, place.events).outcome(node, 'cordoned');
    let current = action;
    let all = place.events;
    let changed = true;
    for (;;) {
      const at = undoAt(all, settings);
      state.status.undoAt = new Date(at).toISOString();
      this.deps.setPhase('Watching');
      if (changed) {
        state.decide(`${current} done; unless a termination follows, it is undone at ${state.status.undoAt}`);
        // One webhook per step that changed the node, not one per event.
        await notify(all);
        changed = false;
      }
      await condition(() => state.hasPending() || controls.stop !== undefined, Math.max(0, at - Date.now()));
      if (controls.stop) return 'stopped';
      const more = state.takePending();
      if (more.length === 0) {
        await this.undo(node, all);
        state.status.undoAt = undefined;
        await notify(all);
        return 'undone';
      }
      all = [...more, ...all];
      const next = actionOfEvents(more, settings);
      if (next === 'drain') {
        state.status.undoAt = undefined;
        state.decide(`escalated from ${current} to drain by ${actionReason(more, settings)}`);
        return all;
      }
      if (raises(current, next)) {
        state.decide(`escalated from ${current} to ${next} by ${actionReason(more, settings)}`);
        current = next;
        await this.deps.apply(node, all, next);
        changed = true;
      } else {
        state.decide(`${actionReason(more, settings)}: no more than the ${current} already done`);
      }
    }
  }

  /** No termination followed: removes what the advisory steps added, and only that. */
  private async undo(node: NodeContext, events: InterruptionEvent[]): Promise<void> {
    const { state } = this.deps;
    const changes: NodeChanges | undefined = state.status.nodeChanges;
    // In the runbook's words (`act` prefixes each with `would` in dry run).
    const what = changes
      ? [
          ...(changes.cordoned ? [`uncordon node ${node.name}`] : []),
          ...changes.taints.map((t) => `remove taint ${t.key}:${t.effect} from node ${node.name}`),
          ...changes.labels.map((l) => `remove label ${l} from node ${node.name}`),
        ]
      : [];
    state.decide(
      `no termination followed (${actionReason(events, this.deps.settings)}) by ${state.status.undoAt ?? 'the undo time'}`,
    );
    if (changes && what.length > 0) {
      await this.deps.act(what, () => this.deps.restoreNode({ nodeName: node.name, changes }));
    } else state.decide('nothing was added to the node: nothing to undo');
    state.status.nodeChanges = undefined;
    state.status.action = 'none';
    this.deps.setPhase('Undone');
  }
}
