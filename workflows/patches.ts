import { patched } from '@temporalio/workflow';

/**
 * Histories from this patch on run the worker's settings read and the ownership note as local
 * activities (`workflows/activities.ts`), and set only the search attributes that change, one upsert
 * per step (`workflows/search-attribute-updates.ts`): fewer history events and actions per
 * termination (#15). Histories recorded before it replay as they ran (test/histories/).
 */
export const leanHistoryPatch = 'lean-history';

/**
 * Histories from this patch on read the lifecycle hooks when a run starts, in a local activity, and
 * try the lookups before the drain once as local activities when the hold can wait
 * (`triedLocallyFirst`): fewer history events and workflow tasks per termination (#15).
 */
export const shortPhasesPatch = 'short-phases';

/**
 * Settles `shortPhasesPatch` in the workflow's first task, before any local activity. A patch first
 * called after a local activity's result is missed on replay when its workflow task was split there
 * (a busy worker: the task completed with the result, and the next one carries the marker): the
 * replay takes the old path and fails with a nondeterminism error. Later calls return this answer.
 */
export function settleStartPatches(): void {
  patched(shortPhasesPatch);
}
