import type { InterruptionEvent, InterruptionKind } from '../common/events.js';
import { eventActions, type EventAction, type RunbookSettings } from '../common/settings.js';

/**
 * Where a scale-in back into the warm pool keeps what it added to the node (JSON `NodeChanges`): the
 * launch that brings the instance back into the group takes it back before completing.
 */
export const warmPoolChangesAnnotation = 'tnth/warm-pool-changes';

/** The variable that sets each configurable kind's action, for the decisions the status shows. */
export const actionVariables = {
  'rebalance-recommendation': 'REBALANCE_ACTION',
  'scheduled-change': 'SCHEDULED_CHANGE_ACTION',
  'state-change': 'STATE_CHANGE_ACTION',
} as const;

/**
 * What an event of each kind does to the node. An ASG termination and a Spot interruption take the
 * instance away: they always drain. A rebalance recommendation is a hint, a scheduled change may be
 * days away, a state change may be a stop that is started again: each does what its variable says,
 * a drain by default, as NTH does in queue mode. A launch has a workflow of its own.
 */
export function actionOf(kind: InterruptionKind, settings: RunbookSettings): EventAction {
  switch (kind) {
    case 'asg-terminate':
    case 'spot-interruption':
      return 'drain';
    case 'rebalance-recommendation':
    case 'scheduled-change':
    case 'state-change':
      return settings.eventActions?.[kind] ?? 'drain';
    case 'asg-launch':
      return 'none';
    default: {
      const unknown: never = kind;
      throw new Error(`no action for kind ${String(unknown)}`);
    }
  }
}

const rank = (action: EventAction) => eventActions.indexOf(action);

export const stronger = (a: EventAction, b: EventAction): EventAction => (rank(b) > rank(a) ? b : a);

/** Whether `to` does more to the node than `from` (taint -> cordon -> drain). */
export const raises = (from: EventAction | undefined, to: EventAction) => rank(to) > rank(from ?? 'none');

/** The strongest action the events ask for. */
export const actionOfEvents = (events: InterruptionEvent[], settings: RunbookSettings): EventAction =>
  events.reduce<EventAction>((action, event) => stronger(action, actionOf(event.kind, settings)), 'none');

/** Why the events get this action, for the decisions: `rebalance-recommendation: cordon (REBALANCE_ACTION)`. */
export function actionReason(events: InterruptionEvent[], settings: RunbookSettings): string {
  const kinds = [...new Set(events.map((e) => e.kind))];
  return kinds
    .map((kind) => {
      const variable = kind in actionVariables ? ` (${actionVariables[kind as keyof typeof actionVariables]})` : '';
      return `${kind}: ${actionOf(kind, settings)}${variable}`;
    })
    .join(', ');
}

const defaultUndoAfterSeconds = 3600;

/**
 * When what an advisory event added is taken back if no termination came: UNDO_AFTER after the
 * event, or for a scheduled change after the end of its window (its start when AWS gives no end),
 * whichever is latest over the events.
 */
export function undoAt(events: InterruptionEvent[], settings: RunbookSettings): number {
  const afterMs = (settings.undoAfterSeconds ?? defaultUndoAfterSeconds) * 1000;
  let latest = 0;
  for (const event of events) {
    const from =
      event.kind === 'scheduled-change'
        ? Math.max(
            Date.parse(event.time) || 0,
            Date.parse(event.endTime ?? '') || 0,
            Date.parse(event.startTime ?? '') || 0,
          )
        : Date.parse(event.time) || 0;
    latest = Math.max(latest, (from || Date.now()) + afterMs);
  }
  return latest || Date.now() + afterMs;
}
