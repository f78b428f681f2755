import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { skipDrainUpdate, statusQuery, stopHandlingUpdate } from '../../common/names.js';
import { runTermination, until, useStack } from './harness.js';
import type { Recorder } from './stub-activities.js';

/**
 * The hold's loops for one action: never two at once, none left running, one covering each drain
 * attempt whole (unless the attempt was cancelled with it), one in each wait between attempts, and
 * one before the first attempt (resolving and cordoning).
 */
function assertHeldByOneLoopAtATime(rec: Recorder, { coversDrain = true } = {}): void {
  assert.equal(rec.maxHeartbeatsRunning, 1, 'two heartbeat loops ran at once');
  assert.equal(rec.heartbeatsRunning, 0, 'a heartbeat loop is still running');
  const loops = [...rec.heartbeats].sort((a, b) => a.start - b.start);
  loops.forEach((loop, i) => {
    assert.ok(loop.end !== undefined, `loop ${i + 1} did not end`);
    const next = loops[i + 1];
    if (next) assert.ok(loop.end <= next.start, `loop ${i + 1} still ran when loop ${i + 2} started`);
  });
  const first = rec.drains[0];
  if (first)
    assert.ok(
      loops.some((l) => l.end! <= first.start),
      'nothing held the action before the first attempt',
    );
  rec.drains.forEach((drain, i) => {
    assert.ok(drain.end !== undefined, `attempt ${i + 1} did not end`);
    if (coversDrain) {
      assert.ok(
        loops.some((l) => l.start <= drain.start + 1000 && l.end! >= drain.end!),
        `no loop covered attempt ${i + 1}`,
      );
    }
    const next = rec.drains[i + 1];
    if (next) {
      assert.ok(
        loops.some((l) => l.start >= drain.end! && l.end! <= next.start),
        `nothing held the action while waiting to retry attempt ${i + 1}`,
      );
    }
  });
}

describe('termination workflow: the lifecycle heartbeat lives and dies with each drain attempt', function () {
  this.timeout(120_000);
  const stack = useStack();

  it('holds the action through five failed attempts and the waits between them, one loop at a time, none after the completion', async () => {
    const { rec, status, closedAt } = await runTermination(stack, { drainFailures: 5 });
    assert.equal(rec.drains.length, 6);
    assertHeldByOneLoopAtATime(rec);
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
    assertHeldByOneLoopAtATime(rec);
    assert.equal(rec.completions.length, 1);
    assert.ok(rec.heartbeats.every((h) => h.end! <= rec.completions[0]!.at));
  });

  it('stops heartbeating when the workflow is cancelled mid-drain', async () => {
    const { rec, error, closedAt } = await runTermination(
      stack,
      { drainHangs: true },
      {
        during: async (handle, r) => {
          await until(() => r.drains.length === 1 && r.heartbeatsRunning === 1, 'the first attempt, held');
          await handle.cancel();
        },
      },
    );
    assert.ok(error instanceof WorkflowFailedError, 'the workflow should end cancelled');
    assertHeldByOneLoopAtATime(rec, { coversDrain: false });
    assert.ok(
      rec.heartbeats.every((h) => h.end! <= closedAt),
      'a heartbeat loop outlived the workflow',
    );
    assert.equal(rec.completions.length, 0);
  });

  it('stops heartbeating when an operator skips the drain, then completes with the result asked for', async () => {
    const { rec, status } = await runTermination(
      stack,
      { drainHangs: true },
      {
        during: async (handle, r) => {
          await until(() => r.drains.length === 1 && r.heartbeatsRunning === 1, 'the first attempt, held');
          const answer = await handle.executeUpdate(skipDrainUpdate, { args: [{ result: 'ABANDON', reason: 'test' }] });
          assert.match(answer, /ABANDON/);
        },
      },
    );
    assertHeldByOneLoopAtATime(rec, { coversDrain: false });
    assert.deepEqual(
      rec.completions.map((c) => c.result),
      ['ABANDON'],
    );
    assert.ok(rec.heartbeats.every((h) => h.end! <= rec.completions[0]!.at));
    assert.equal(status?.phase, 'Done');
  });

  it('stops heartbeating when an operator stops handling, and leaves the lifecycle action alone', async () => {
    const { rec, status } = await runTermination(
      stack,
      { drainHangs: true },
      {
        during: async (handle, r) => {
          await until(() => r.drains.length === 1 && r.heartbeatsRunning === 1, 'the first attempt, held');
          await handle.executeUpdate(stopHandlingUpdate, { args: [{ reason: 'test' }] });
          const live = await handle.query(statusQuery);
          assert.ok(['Draining', 'Stopped'].includes(live.phase));
        },
      },
    );
    assertHeldByOneLoopAtATime(rec, { coversDrain: false });
    assert.equal(rec.completions.length, 0);
    assert.equal(status?.phase, 'Stopped');
  });
});
