import assert from 'node:assert/strict';
import type { Client, Connection } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { InterruptionEvent } from '../../common/events.js';
import {
  interruptionSignal,
  skipDrainUpdate,
  statusQuery,
  stopHandlingUpdate,
  terminationWorkflowId,
  workflowTypes,
} from '../../common/names.js';
import type { TerminationStatus } from '../../common/status.js';
import { asgTerminateEvent } from '../helpers/events.js';
import { stackClient, stackNativeConnection, uniqueTaskQueue } from '../helpers/temporal.js';
import { testWorker } from '../helpers/workflow-worker.js';
import { Recorder, stubActivities, type StubBehaviour } from './stub-activities.js';

/** One heartbeat loop per drain attempt, never two at once, each stopped before the next attempt starts. */
function assertOneHeartbeatPerAttempt(rec: Recorder, { coversDrain = true } = {}): void {
  assert.equal(rec.maxHeartbeatsRunning, 1, 'two heartbeat loops ran at once');
  assert.equal(rec.heartbeatsRunning, 0, 'a heartbeat loop is still running');
  assert.equal(rec.heartbeats.length, rec.drains.length, 'one heartbeat loop per drain attempt');
  rec.heartbeats.forEach((hb, i) => {
    const drain = rec.drains[i]!;
    assert.ok(hb.end !== undefined && drain.end !== undefined, `attempt ${i + 1} did not end`);
    // Cancelling the attempt (workflow cancel, operator) stops both at once; otherwise the heartbeat
    // covers the whole attempt.
    if (coversDrain) assert.ok(hb.end >= drain.end, `heartbeat ${i + 1} stopped before its drain attempt ended`);
    const next = rec.drains[i + 1];
    if (next) assert.ok(hb.end <= next.start, `heartbeat ${i + 1} still ran when attempt ${i + 2} started`);
  });
}

describe('termination workflow: the lifecycle heartbeat lives and dies with each drain attempt', function () {
  this.timeout(120_000);
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

  async function run(
    behaviour: StubBehaviour,
    during?: (handle: ReturnType<Client['workflow']['getHandle']>, rec: Recorder) => Promise<void>,
    event: InterruptionEvent = asgTerminateEvent(),
  ) {
    const rec = new Recorder();
    const taskQueue = uniqueTaskQueue('heartbeat');
    const worker = await testWorker(native, taskQueue, stubActivities(rec, behaviour));
    const outcome = await worker.runUntil(async () => {
      const handle = await client.workflow.signalWithStart(workflowTypes.termination, {
        taskQueue,
        workflowId: `${terminationWorkflowId(event.instanceId)}-${taskQueue}`,
        args: [{ instanceId: event.instanceId }],
        signal: interruptionSignal,
        signalArgs: [event],
      });
      await during?.(handle, rec);
      try {
        return { status: (await handle.result()) as TerminationStatus, closedAt: Date.now() };
      } catch (error) {
        return { error, closedAt: Date.now() };
      }
    });
    return { rec, ...outcome };
  }

  async function until(check: () => boolean, what: string, ms = 30_000) {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('stops heartbeating when a drain attempt fails: five failures then success, never two loops, none between attempts', async () => {
    const { rec, status, closedAt } = await run({ drainFailures: 5 });
    assert.equal(rec.drains.length, 6);
    assertOneHeartbeatPerAttempt(rec);
    assert.equal(rec.completions.length, 1, 'exactly one CompleteLifecycleAction');
    assert.equal(rec.completions[0]!.result, 'CONTINUE');
    const lastHeartbeatEnd = Math.max(...rec.heartbeats.map((h) => h.end!));
    assert.ok(lastHeartbeatEnd <= rec.completions[0]!.at, 'a heartbeat ran after the lifecycle action was completed');
    assert.ok(lastHeartbeatEnd <= closedAt);
    assert.equal(status?.phase, 'Done');
    assert.equal(status?.attempt, 6);
    assert.equal(status?.lifecycle?.result, 'CONTINUE');
  });

  it('stops heartbeating before CompleteLifecycleAction fails and the workflow fails', async () => {
    const { rec, error } = await run({ drainFailures: 1, completeFails: true });
    assert.ok(error instanceof WorkflowFailedError, 'the workflow should fail');
    assertOneHeartbeatPerAttempt(rec);
    assert.equal(rec.completions.length, 1);
    assert.ok(rec.heartbeats.every((h) => h.end! <= rec.completions[0]!.at));
  });

  it('stops heartbeating when the workflow is cancelled mid-drain', async () => {
    const { rec, error, closedAt } = await run({ drainHangs: true }, async (handle, r) => {
      await until(() => r.heartbeats.length === 1 && r.drains.length === 1, 'the first attempt');
      await handle.cancel();
    });
    assert.ok(error instanceof WorkflowFailedError, 'the workflow should end cancelled');
    assertOneHeartbeatPerAttempt(rec, { coversDrain: false });
    assert.ok(rec.heartbeats[0]!.end! <= closedAt, 'the heartbeat outlived the workflow');
    assert.equal(rec.completions.length, 0);
  });

  it('stops heartbeating when an operator skips the drain, then completes with the result asked for', async () => {
    const { rec, status } = await run({ drainHangs: true }, async (handle, r) => {
      await until(() => r.heartbeats.length === 1, 'the heartbeat');
      const answer = await handle.executeUpdate(skipDrainUpdate, { args: [{ result: 'ABANDON', reason: 'test' }] });
      assert.match(answer, /ABANDON/);
    });
    assertOneHeartbeatPerAttempt(rec, { coversDrain: false });
    assert.deepEqual(
      rec.completions.map((c) => c.result),
      ['ABANDON'],
    );
    assert.ok(rec.heartbeats[0]!.end! <= rec.completions[0]!.at);
    assert.equal(status?.phase, 'Done');
  });

  it('stops heartbeating when an operator stops handling, and leaves the lifecycle action alone', async () => {
    const { rec, status } = await run({ drainHangs: true }, async (handle, r) => {
      await until(() => r.heartbeats.length === 1, 'the heartbeat');
      await handle.executeUpdate(stopHandlingUpdate, { args: [{ reason: 'test' }] });
      const live = await handle.query(statusQuery);
      assert.ok(['Draining', 'Stopped'].includes(live.phase));
    });
    assertOneHeartbeatPerAttempt(rec, { coversDrain: false });
    assert.equal(rec.completions.length, 0);
    assert.equal(status?.phase, 'Stopped');
  });
});
