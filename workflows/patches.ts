/**
 * Histories from this patch on run the worker's settings read and the ownership note as local
 * activities (`workflows/activities.ts`), and set only the search attributes that change, one upsert
 * per step (`workflows/search-attribute-updates.ts`): fewer history events and actions per
 * termination (#15). Histories recorded before it replay as they ran (test/histories/).
 */
export const leanHistoryPatch = 'lean-history';

/**
 * Histories from this patch on start a phase's lifecycle heartbeat loop `loopLeadSeconds` before its
 * first heartbeat is due (a timer until then), not at the phase's start (#15).
 */
export const deferredLoopPatch = 'deferred-heartbeat-loop';
