import assert from 'node:assert/strict';
import type { Client, Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { InterruptionEvent } from '../../common/events.js';
import { interruptionSignal, workflowTypes } from '../../common/names.js';
import type { TerminationStatus } from '../../common/status.js';
import { asgTerminateEvent } from '../helpers/events.js';
import { stackClient, stackNativeConnection, uniqueTaskQueue } from '../helpers/temporal.js';
import { testWorker } from '../helpers/workflow-worker.js';
import { Recorder, stubActivities, type StubBehaviour } from './stub-activities.js';

describe('termination workflow: when there is nothing to drain', function () {
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

  async function run(behaviour: StubBehaviour, event: InterruptionEvent = asgTerminateEvent()) {
    const rec = new Recorder();
    const taskQueue = uniqueTaskQueue('paths');
    const worker = await testWorker(native, taskQueue, stubActivities(rec, behaviour));
    const status = await worker.runUntil(async () => {
      const handle = await client.workflow.signalWithStart(workflowTypes.termination, {
        taskQueue,
        workflowId: `paths-${taskQueue}`,
        args: [{ instanceId: event.instanceId }],
        signal: interruptionSignal,
        signalArgs: [event],
      });
      return (await handle.result()) as TerminationStatus;
    });
    return { rec, status };
  }

  it('finishes without a drain when the node is not found, leaving the lifecycle action to Auto Scaling', async () => {
    const { rec, status } = await run({ nodeName: undefined });
    assert.equal(status.phase, 'NodeNotFound');
    assert.equal(rec.prepared + rec.drains.length + rec.completions.length, 0);
    assert.match(status.decisions.join('\n'), /DELETE_SQS_MSG_IF_NODE_NOT_FOUND=false/);
  });

  it('completes the lifecycle action when the node is not found and DELETE_SQS_MSG_IF_NODE_NOT_FOUND says so', async () => {
    const { rec, status } = await run({ nodeName: undefined, settings: { deleteSqsMsgIfNodeNotFound: true } });
    assert.equal(status.phase, 'NodeNotFound');
    assert.deepEqual(
      rec.completions.map((c) => c.result),
      ['CONTINUE'],
    );
    assert.equal(rec.drains.length, 0);
  });

  it('leaves an instance without the managed tag alone when CHECK_TAG_BEFORE_DRAINING', async () => {
    const { rec, status } = await run({ settings: { checkTagBeforeDraining: true } });
    assert.equal(status.phase, 'NotManaged');
    assert.equal(rec.prepared + rec.drains.length + rec.completions.length + rec.heartbeats.length, 0);
  });

  it('waits COMPLETE_LIFECYCLE_ACTION_DELAY_SECONDS after the drain before completing', async () => {
    const { rec, status } = await run({ settings: { completeLifecycleActionDelaySeconds: 2 } });
    assert.equal(status.phase, 'Done');
    const drainEnd = rec.drains.at(-1)!.end!;
    assert.ok(
      rec.completions[0]!.at - drainEnd >= 2_000,
      `completed ${rec.completions[0]!.at - drainEnd} ms after the drain`,
    );
  });
});
