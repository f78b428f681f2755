// What the emulator's call log and the workflow's history say about the hold of one lifecycle action:
// the checks every hold test makes, and the figures it prints.
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { lifecycleCalls, type LifecycleCall } from './emulator.js';
import { activitySpans } from './history.js';

export interface HoldReport {
  /** Successful and failed RecordLifecycleActionHeartbeat calls. */
  heartbeats: { ok: number; failed: number };
  /** The smallest time left before the hook's deadline when a heartbeat or the completion landed, in s. */
  minSlackSeconds: number;
  /** Seconds from the action's start to its completion. */
  heldSeconds: number;
  calls: LifecycleCall[];
}

const at = (call: LifecycleCall) => Date.parse(call.time);

/**
 * Checks the hold of the group's one lifecycle action from start to completion: never expired, one
 * CompleteLifecycleAction with `result`, no heartbeat after it, never two heartbeat loops at once (from
 * the workflow history); returns the heartbeat counts and the smallest slack.
 */
export async function checkHold(
  groupName: string,
  timeoutSeconds: number,
  handle: WorkflowHandle,
  result = 'CONTINUE',
): Promise<HoldReport> {
  const calls = await lifecycleCalls({ group: groupName });
  const started = calls.find((c) => c.action === 'LifecycleActionStarted');
  assert.ok(started, 'the emulator recorded the start of the action');
  assert.deepEqual(
    calls.filter((c) => c.action === 'LifecycleActionExpired').map((c) => `${c.time} ${c.reason}`),
    [],
    'the lifecycle action expired',
  );
  const completions = calls.filter((c) => c.action === 'CompleteLifecycleAction');
  assert.deepEqual(
    completions.map((c) => [c.token, c.outcome, c.result]),
    [[started.token, 'ok', result]],
    'exactly one CompleteLifecycleAction per token',
  );
  const completedAt = at(completions[0]!);
  const heartbeats = calls.filter((c) => c.action === 'RecordLifecycleActionHeartbeat');
  assert.deepEqual(
    heartbeats.filter((c) => at(c) > completedAt).map((c) => c.time),
    [],
    'a heartbeat after the completion',
  );

  const loops = (await activitySpans(handle))
    .filter((s) => s.type === 'lifecycleHeartbeat')
    .sort((a, b) => a.scheduledAt - b.scheduledAt);
  loops.forEach((loop, i) => {
    assert.ok(loop.closedAt !== undefined, `heartbeat loop ${i + 1} never closed`);
    const next = loops[i + 1];
    if (next) assert.ok(loop.closedAt <= next.scheduledAt, `heartbeat loops ${i + 1} and ${i + 2} overlapped`);
  });

  const landed = [...heartbeats.filter((c) => c.outcome === 'ok').map(at), completedAt];
  let heldSince = at(started);
  let minSlackMs = Infinity;
  for (const time of landed) {
    minSlackMs = Math.min(minSlackMs, heldSince + timeoutSeconds * 1000 - time);
    heldSince = time;
  }
  assert.ok(minSlackMs > 0, `a heartbeat landed ${-minSlackMs} ms after the hook's deadline`);
  return {
    heartbeats: {
      ok: heartbeats.filter((c) => c.outcome === 'ok').length,
      failed: heartbeats.filter((c) => c.outcome !== 'ok').length,
    },
    minSlackSeconds: Math.round(minSlackMs / 100) / 10,
    heldSeconds: Math.round((completedAt - at(started)) / 1000),
    calls,
  };
}
