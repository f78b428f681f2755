import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { patched, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { leanHistoryPatch } from './patches.js';

/**
 * Keeps the workflow's search attributes current. Under `leanHistoryPatch` the pairs whose value
 * changes go in one upsert and the others cost nothing: the starter sets ClusterName, InstanceId,
 * InterruptionKind and AutoScalingGroupName when it starts the workflow, and a run that continues as
 * new starts with the last run's (#15: an upsert is a history event and a billable action). Histories
 * recorded before the patch replay their upserts as they ran: one per group given here.
 */
export function setSearchAttributes(...groups: SearchAttributeUpdatePair[][]): void {
  if (!patched(leanHistoryPatch)) {
    for (const group of groups) upsertSearchAttributes(group);
    return;
  }
  const current = workflowInfo().typedSearchAttributes;
  const changed = groups.flat().filter((pair) => current.get(pair.key) !== pair.value);
  if (changed.length > 0) upsertSearchAttributes(changed);
}
