import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type SearchAttributePair } from '@temporalio/common';
import type { InterruptionEvent } from '../common/events.js';
import { interruptionSignal, type WorkflowInput } from '../common/names.js';
import { searchAttributes } from '../common/search-attributes.js';
import { workflowFor } from './routing.js';

/** Gives one event to its instance's workflow; resolves once Temporal has durably accepted it. */
export type HandOff = (event: InterruptionEvent) => Promise<void>;

/**
 * Signal-with-start: starts the instance's workflow if none runs, and delivers the event as a signal
 * either way. A redelivered message thus reaches the same workflow, never a second one; the workflow
 * drops event ids it already has. Search attributes apply when this call starts the workflow.
 */
export function temporalHandOff(
  client: Client,
  target: { taskQueue: string; cluster: string },
  timeoutMs: number,
): HandOff {
  const { taskQueue, cluster } = target;
  return async (event) => {
    const { workflowType, workflowId, legacyWorkflowId } = workflowFor(cluster, event);
    if (await handedToLegacy(client, legacyWorkflowId, event, timeoutMs)) return;
    const attributes = startAttributes(cluster, event);
    const input: WorkflowInput = { instanceId: event.instanceId };
    await client.connection.withDeadline(Date.now() + timeoutMs, () =>
      client.workflow.signalWithStart(workflowType, {
        workflowId,
        taskQueue,
        args: [input],
        signal: interruptionSignal,
        signalArgs: [event],
        // A running workflow of the instance takes the event: a redelivered or late copy finds the
        // workflow it belongs to, which drops what it already has. Every workflow stays open for
        // DUPLICATE_WINDOW after its last run, however that run ended (failed included), so late
        // copies land there.
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        // After the window a new event is a new termination (an instance stopped and started again,
        // then interrupted), whatever the last one's outcome: a new run under the same id.
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        typedSearchAttributes: attributes,
        // Shown in the Web UI's list and header when this call starts the workflow.
        staticSummary: `${event.kind} of ${event.instanceId}${'autoScalingGroupName' in event ? ` (${event.autoScalingGroupName})` : ''}`,
      }),
    );
  };
}

/**
 * The search attributes a workflow starts with: what the event says. The workflow sets the others
 * (NodeName, TerminationPhase) as it learns them, and these again only if they change.
 */
export function startAttributes(cluster: string, event: InterruptionEvent): SearchAttributePair[] {
  const attributes: SearchAttributePair[] = [
    { key: searchAttributes.clusterName, value: cluster },
    { key: searchAttributes.instanceId, value: event.instanceId },
    { key: searchAttributes.interruptionKind, value: event.kind },
  ];
  if ('autoScalingGroupName' in event) {
    attributes.push({ key: searchAttributes.autoScalingGroupName, value: event.autoScalingGroupName });
  }
  return attributes;
}

/** How long the answer "the old task queue has workers" is trusted. */
const pollersKnownMs = 60_000;
const pollersSeen = new Map<string, { at: number; polled: boolean }>();

/**
 * A workflow a release before CLUSTER_NAME started for the instance, still running on the old
 * workers (see the README's upgrade): it takes the event, so the instance is never handled twice
 * across the upgrade. Only while old workers poll its task queue: a workflow nobody runs any more
 * would swallow the event, which then goes to a new workflow instead.
 */
async function handedToLegacy(
  client: Client,
  legacyWorkflowId: string,
  event: InterruptionEvent,
  timeoutMs: number,
): Promise<boolean> {
  const handle = client.workflow.getHandle(legacyWorkflowId);
  const within = <T>(call: () => Promise<T>) => client.connection.withDeadline(Date.now() + timeoutMs, call);
  let taskQueue: string;
  try {
    const description = await within(() => handle.describe());
    if (description.status.name !== 'RUNNING') return false;
    taskQueue = description.taskQueue;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
  if (!(await hasPollers(client, taskQueue, timeoutMs))) return false;
  await within(() => handle.signal(interruptionSignal, event));
  return true;
}

async function hasPollers(client: Client, taskQueue: string, timeoutMs: number): Promise<boolean> {
  const known = pollersSeen.get(taskQueue);
  if (known && Date.now() - known.at < pollersKnownMs) return known.polled;
  const { pollers } = await client.connection.withDeadline(Date.now() + timeoutMs, () =>
    client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    }),
  );
  const polled = (pollers?.length ?? 0) > 0;
  pollersSeen.set(taskQueue, { at: Date.now(), polled });
  return polled;
}
