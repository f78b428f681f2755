import { Context } from '@temporalio/activity';
import { WithStartWorkflowOperation, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import type { DrainBudgetLimits, DrainPlaceAnswer, DrainPlaceAsk } from '../../common/drain-budget.js';
import { drainBudgetWorkflowId, requestDrainPlaceUpdate, workflowTypes } from '../../common/names.js';
import { searchAttributes } from '../../common/search-attributes.js';

/** Holders described at once when the budget workflow checks them. */
const describeConcurrency = 16;

/**
 * The Temporal side of drain budgets: a termination's request (update-with-start of its cluster's
 * budget workflow, on the worker's own task queue) and the budget workflow's check of its holders.
 * Without a client (unit tests) the activities say so.
 */
export function createDrainBudgetActivities(
  client: Client | undefined,
  worker: { configured: DrainBudgetLimits | undefined; startedAt: number } = {
    configured: undefined,
    startedAt: Date.now(),
  },
) {
  const need = (): Client => {
    if (!client) throw new Error('drain budgets need the worker Temporal client');
    return client;
  };
  return {
    /** Asks the cluster's budget workflow for a drain place, starting it when it does not run yet. */
    async requestDrainPlace(input: {
      cluster: string;
      request: DrainPlaceAsk;
      ask: number;
    }): Promise<DrainPlaceAnswer> {
      const workflowId = drainBudgetWorkflowId(input.cluster);
      const { taskQueue } = Context.current().info;
      // This worker's limits, not those recorded when the termination started: a rollout's new
      // release changes the budget for every termination, old ones included.
      const request = {
        ...input.request,
        configured: worker.configured ?? {},
        configuredAt: worker.startedAt,
        taskQueue,
      };
      const start = new WithStartWorkflowOperation(workflowTypes.drainBudget, {
        workflowId,
        taskQueue,
        args: [{ cluster: input.cluster }],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        typedSearchAttributes: [{ key: searchAttributes.clusterName, value: input.cluster }],
      });
      try {
        return await need().workflow.executeUpdateWithStart(requestDrainPlaceUpdate, {
          args: [request],
          // A retry of this activity is the same update to the server; asking again is another.
          updateId: `${input.request.requestId}-${input.ask}`,
          startWorkflowOperation: start,
        });
      } catch (error) {
        throw new Error(
          `asking ${workflowId} for a drain place for ${input.request.instanceId}: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
    },

    /** The workflow ids among `ids` whose workflow no longer runs (closed, or gone). */
    async closedWorkflows(ids: string[]): Promise<string[]> {
      const closed: string[] = [];
      for (let i = 0; i < ids.length; i += describeConcurrency) {
        const batch = ids.slice(i, i + describeConcurrency);
        const states = await Promise.all(
          batch.map(async (id) => {
            try {
              return (await need().workflow.getHandle(id).describe()).status.name;
            } catch (error) {
              // No workflow with that id any more (its retention ended).
              if (error instanceof WorkflowNotFoundError) return 'NOT_FOUND';
              throw error;
            }
          }),
        );
        batch.forEach((id, j) => {
          if (states[j] !== 'RUNNING') closed.push(id);
        });
        Context.current().heartbeat();
      }
      return closed;
    },
  };
}
