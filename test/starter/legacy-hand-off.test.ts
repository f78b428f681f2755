// Across the upgrade that put CLUSTER_NAME into the workflow ids, a termination started by the old
// release (id `termination-<instance>`) still runs on the old workers: the new starter hands the
// instance's events to it instead of starting a second termination of the same instance.
import assert from 'node:assert/strict';
import { WorkflowNotFoundError, type Client, type Connection } from '@temporalio/client';
import { interruptionSignal, legacyWorkflowIds, terminationWorkflowId, workflowTypes } from '../../common/names.js';
import { searchAttributes } from '../../common/search-attributes.js';
import { temporalHandOff } from '../../starter/hand-off.js';
import { spotInterruptionEvent } from '../helpers/events.js';
import { testCluster } from '../helpers/stack-env.js';
import { stackClient, uniqueTaskQueue } from '../helpers/temporal.js';

describe('starter: hand-off across the upgrade to cluster-named workflow ids', () => {
  let client: Client;
  let connection: Connection;
  before(async () => {
    ({ client, connection } = await stackClient());
  });
  after(async () => {
    await connection?.close();
  });

  it("gives an instance's event to its running workflow of the old id, and starts none under the new id", async () => {
    const first = spotInterruptionEvent();
    // The old release's workflow, on the old workers' task queue (no worker polls it here).
    const legacy = await client.workflow.signalWithStart(workflowTypes.termination, {
      workflowId: legacyWorkflowIds.termination(first.instanceId),
      taskQueue: uniqueTaskQueue('legacy'),
      args: [{ instanceId: first.instanceId }],
      signal: interruptionSignal,
      signalArgs: [first],
    });
    try {
      const handOff = temporalHandOff(client, { taskQueue: uniqueTaskQueue('new'), cluster: testCluster }, 10_000);
      await handOff({ ...first, eventId: `${first.eventId}-again` });
      const signals: unknown[] = [];
      for (const event of (await legacy.fetchHistory()).events ?? []) {
        if (event.workflowExecutionSignaledEventAttributes)
          signals.push(event.workflowExecutionSignaledEventAttributes);
      }
      assert.equal(signals.length, 2, 'the second event did not reach the running workflow of the old id');
      await assert.rejects(
        client.workflow.getHandle(terminationWorkflowId(testCluster, first.instanceId)).describe(),
        WorkflowNotFoundError,
      );
    } finally {
      await legacy.terminate('test over');
    }
  });

  it('starts the workflow under the new id when no workflow of the old id runs', async () => {
    const event = spotInterruptionEvent();
    const taskQueue = uniqueTaskQueue('new');
    await temporalHandOff(client, { taskQueue, cluster: testCluster }, 10_000)(event);
    const handle = client.workflow.getHandle(terminationWorkflowId(testCluster, event.instanceId));
    try {
      const description = await handle.describe();
      assert.equal(description.taskQueue, taskQueue);
      assert.equal(description.typedSearchAttributes.get(searchAttributes.clusterName), testCluster);
    } finally {
      await handle.terminate('test over');
    }
  });
});
