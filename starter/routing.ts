import type { InterruptionEvent } from '../common/events.js';
import { launchWorkflowId, legacyWorkflowIds, terminationWorkflowId, workflowTypes } from '../common/names.js';

export interface WorkflowTarget {
  workflowType: (typeof workflowTypes)[keyof typeof workflowTypes];
  workflowId: string;
  /** The id a release before CLUSTER_NAME gave the same workflow. */
  legacyWorkflowId: string;
}

/** The workflow each event kind goes to: launches to the launch-hook workflow, everything else to termination. */
export function workflowFor(cluster: string, event: InterruptionEvent): WorkflowTarget {
  switch (event.kind) {
    case 'asg-launch':
      return {
        workflowType: workflowTypes.launch,
        workflowId: launchWorkflowId(cluster, event.instanceId),
        legacyWorkflowId: legacyWorkflowIds.launch(event.instanceId),
      };
    case 'asg-terminate':
    case 'spot-interruption':
    case 'rebalance-recommendation':
    case 'state-change':
    case 'scheduled-change':
      return {
        workflowType: workflowTypes.termination,
        workflowId: terminationWorkflowId(cluster, event.instanceId),
        legacyWorkflowId: legacyWorkflowIds.termination(event.instanceId),
      };
    default: {
      const unhandled: never = event;
      throw new Error(`no workflow for event ${JSON.stringify(unhandled)}`);
    }
  }
}
