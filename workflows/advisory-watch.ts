import { condition } from '@temporalio/workflow';
import type { InterruptionEvent } from '../common/events.js';
import type { EventAction, RunbookSettings } from '../common/settings.js';
import type { TerminationPhase } from '../common/status.js';
import { actionOfEvents, actionReason, raises, undoAt } from './event-policy.js';
import type { OperatorControls } from './operator-controls.js';
import type { TerminationState } from './termination-state.js';

export interface WatchDeps {
  state: TerminationState;
  settings: RunbookSettings;
  controls: OperatorControls;
  setPhase(phase: TerminationPhase): void;
  /** Raises what was done to the node to `action` (taint -> cordon) for the events. */
  apply(events: InterruptionEvent[], action: EventAction): Promise<void>;
  /** Takes back what the watch's steps added to the node. */
  undo(): Promise<void>;
  /** The webhook of a step that changed the node, for the events it acted on. */
  notify(events: InterruptionEvent[]): Promise<void>;
}

/**
 * After a taint or cordon for an advisory event (a rebalance recommendation, a scheduled change, a
 * state change whose action is not a drain): waits, durably, for what comes next. An event that
 * asks for more raises the action inside this run (taint -> cordon -> drain); one that asks for no
 * more only moves the undo later. When nothing came by the undo time, what was added is removed.
 * Returns the events to drain for (newest first), `stopped`, or `undone`.
 */
export async function watchAdvisory(
  deps: WatchDeps,
  events: InterruptionEvent[],
  action: EventAction,
): Promise<InterruptionEvent[] | 'stopped' | 'undone'> {
  const { state, settings, controls } = deps;
  let current = action;
  let all = events;
  let changed = true;
  for (;;) {
    const at = undoAt(all, settings);
    state.status.undoAt = new Date(at).toISOString();
    deps.setPhase('Watching');
    if (changed) {
      state.decide(`${current} done; unless a termination follows, it is undone at ${state.status.undoAt}`);
      await deps.notify(all);
      changed = false;
    }
    await condition(() => state.hasPending() || controls.stop !== undefined, Math.max(0, at - Date.now()));
    if (controls.stop) return 'stopped';
    const more = state.takePending();
    if (more.length === 0) {
      state.status.undoAt = undefined;
      await deps.undo();
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
      await deps.apply(all, next);
      changed = true;
    } else {
      state.decide(`${actionReason(more, settings)}: no more than the ${current} already done`);
    }
  }
}
