import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { skipDrainUpdate, statusQuery, stopHandlingUpdate } from '../../common/names.js';
import { runTermination, until, useStack } from './harness.js';
import type { Recorder } from './stub-activities.js';

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
  const stack = useStack();

  it('stops heartbeating when a drain attempt fails: five failures then success, never two loops, none between attempts', async () => {
    const { rec, status, closedAt } = await runTermination(stack, { drainFailures: 5 });
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
    const { rec, error } = await runTermination(stack, { drainFailures: 1, completeFails: true });
    assert.ok(error instanceof WorkflowFailedError, 'the workflow should fail');
    assertOneHeartbeatPerAttempt(rec);
    assert.equal(rec.completions.length, 1);
    assert.ok(rec.heartbeats.every((h) => h.end! <= rec.completions[0]!.at));
  });

  it('stops heartbeating when the workflow is cancelled mid-drain', async () => {
    const { rec, error, closedAt } = await runTermination(
      stack,
      { drainHangs: true },
      {
        during: async (handle, r) => {
          await until(() => r.heartbeats.length === 1 && r.drains.length === 1, 'the first attempt');
          await handle.cancel();
        },
      },
    );
    assert.ok(error instanceof WorkflowFailedError, 'the workflow should end cancelled');
    assertOneHeartbeatPerAttempt(rec, { coversDrain: false });
    assert.ok(rec.heartbeats[0]!.end! <= closedAt, 'the heartbeat outlived the workflow');
    assert.equal(rec.completions.length, 0);
  });

  it('stops heartbeating when an operator skips the drain, then completes with the result asked for', async () => {
    const { rec, status } = await runTermination(
      stack,
      { drainHangs: true },
      {
        during: async (handle, r) => {
          await until(() => r.heartbeats.length === 1, 'the heartbeat');
          const answer = await handle.executeUpdate(skipDrainUpdate, { args: [{ result: 'ABANDON', reason: 'test' }] });
          assert.match(answer, /ABANDON/);
        },
      },
    );
    assertOneHeartbeatPerAttempt(rec, { coversDrain: false });
    assert.deepEqual(
      rec.completions.map((c) => c.result),
      ['ABANDON'],
    );
    assert.ok(rec.heartbeats[0]!.end! <= rec.completions[0]!.at);
    assert.equal(status?.phase, 'Done');
  });

  it('stops heartbeating when an operator stops handling, and leaves the lifecycle action alone', async () => {
    const { rec, status } = await runTermination(
      stack,
      { drainHangs: true },
      {
        during: async (handle, r) => {
          await until(() => r.heartbeats.length === 1, 'the heartbeat');
          await handle.executeUpdate(stopHandlingUpdate, { args: [{ reason: 'test' }] });
          const live = await handle.query(statusQuery);
          assert.ok(['Draining', 'Stopped'].includes(live.phase));
        },
      },
    );
    assertOneHeartbeatPerAttempt(rec, { coversDrain: false });
    assert.equal(rec.completions.length, 0);
    assert.equal(status?.phase, 'Stopped');
  });
});
