// Across the upgrade that put CLUSTER_NAME into the workflow ids, a termination started by the old
// release (id `termination-<instance>`) still runs on the old workers: the new starter hands the
// instance's events to it instead of starting a second termination of the same instance.
import assert from 'node:assert/strict';
import { WorkflowNotFoundError, type Client, type Connection, type WorkflowHandle } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { InterruptionEvent } from '../../common/events.js';
import { interruptionSignal, legacyWorkflowIds, terminationWorkflowId, workflowTypes } from '../../common/names.js';
import { searchAttributes } from '../../common/search-attributes.js';
import { temporalHandOff } from '../../starter/hand-off.js';
import { spotInterruptionEvent } from '../helpers/events.js';
import { testCluster } from '../helpers/stack-env.js';
import { waitFor } from '../helpers/aws.js';
import { stackClient, stackNativeConnection, uniqueTaskQueue } from '../helpers/temporal.js';
import { testWorker } from '../helpers/workflow-worker.js';
import { Recorder, stubActivities } from '../workflows/stub-activities.js';

describe('starter: hand-off across the upgrade to cluster-named workflow ids', function () {
  this.timeout(60_000);
  let client: Client;
  let connection: Connection;
  let native: NativeConnection;
  before(async () => {
    ({ client, connection } = await stackClient());
    native = await stackNativeConnection();
  });
  after(async () => {
    await connection?.close();
    await native?.close();
  });

  /** The old release's workflow of `first`'s instance, on its own task queue. */
  async function legacyWorkflow(first: InterruptionEvent, taskQueue: string) {
    return client.workflow.signalWithStart(workflowTypes.termination, {
      workflowId: legacyWorkflowIds.termination(first.instanceId),
      taskQueue,
      args: [{ instanceId: first.instanceId }],
      signal: interruptionSignal,
      signalArgs: [first],
    });
  }

  const signalsOf = async (handle: WorkflowHandle) =>
    ((await handle.fetchHistory()).events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;

  it("gives an instance's event to its running workflow of the old id while old workers run it, and starts none under the new id", async () => {
    const first = spotInterruptionEvent();
    const oldQueue = uniqueTaskQueue('legacy');
    // The old release's workers, still polling their task queue (here: the workflow with stubbed activities).
    const oldWorkers = await testWorker(native, oldQueue, stubActivities(new Recorder(), { drainHangs: true }));
    await oldWorkers.runUntil(async () => {
      const legacy = await legacyWorkflow(first, oldQueue);
      try {
        await waitFor('the old workers to poll', async () => (await legacy.describe()).historyLength > 3);
        const handOff = temporalHandOff(client, { taskQueue: uniqueTaskQueue('new'), cluster: testCluster }, 10_000);
        await handOff({ ...first, eventId: `${first.eventId}-again` });
        // A signal that comes while a workflow task runs is written after it.
        await waitFor('the second event in the workflow of the old id', async () => (await signalsOf(legacy)) === 2);
        await assert.rejects(
          client.workflow.getHandle(terminationWorkflowId(testCluster, first.instanceId)).describe(),
          WorkflowNotFoundError,
        );
      } finally {
        await legacy.terminate('test over');
      }
    });
  });

  it('starts the workflow under the new id when the old one runs but no old worker is left to run it', async () => {
    const first = spotInterruptionEvent();
    const legacy = await legacyWorkflow(first, uniqueTaskQueue('abandoned'));
    const handle = client.workflow.getHandle(terminationWorkflowId(testCluster, first.instanceId));
    try {
      await temporalHandOff(
        client,
        { taskQueue: uniqueTaskQueue('new'), cluster: testCluster },
        10_000,
      )({
        ...first,
        eventId: `${first.eventId}-again`,
      });
      assert.equal(await signalsOf(legacy), 1, 'an event went to a workflow no worker runs');
      assert.equal((await handle.describe()).status.name, 'RUNNING');
    } finally {
      await legacy.terminate('test over');
      await handle.terminate('test over');
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
