import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { interruptionSignal } from '../../common/names.js';
import { asgTerminateEvent } from '../helpers/events.js';
import { runTermination, until, useStack } from './harness.js';

describe("termination workflow: the hold of a lifecycle action runs on the action's clock", function () {
  this.timeout(120_000);
  const stack = useStack();

  it("gives every loop the action's start and its last heartbeat, and the interval derived from the hook", async () => {
    const event = asgTerminateEvent(undefined, { time: new Date(Date.now() - 45_000).toISOString() });
    const { rec, status } = await runTermination(
      stack,
      { drainFailures: 2, settings: { heartbeatIntervalSeconds: undefined } },
      { event },
    );
    assert.equal(status.phase, 'Done');
    assert.ok(rec.heartbeatInputs.length >= 5, 'a loop for resolving, each attempt and each wait');
    for (const input of rec.heartbeatInputs) {
      assert.equal(input.clock.startedAt, Date.parse(event.time), 'a loop timed itself from its own start');
      assert.equal(input.clock.intervalSeconds, 240);
      assert.equal(input.clock.heartbeatTimeoutSeconds, 300);
    }
    const action = status.lifecycleActions[0]!;
    assert.equal(action.heartbeatTimeoutSeconds, 300);
    assert.equal(action.globalDeadline, new Date(Date.parse(event.time) + 30_000_000).toISOString());
    assert.deepEqual(status.warnings, []);
  });

  it('clamps a HEARTBEAT_INTERVAL the hook cannot carry, and says so in status and on the node', async () => {
    const { rec, status } = await runTermination(stack, {
      hookTimeoutSeconds: 60,
      settings: { heartbeatIntervalSeconds: 300, emitKubernetesEvents: true },
    });
    assert.equal(status.phase, 'Done');
    assert.ok(rec.heartbeatInputs.every((i) => i.clock.intervalSeconds === 18));
    assert.match(
      status.warnings.join('\n'),
      /HEARTBEAT_INTERVAL=300 cannot keep a hook with HeartbeatTimeout 60 s alive/,
    );
    assert.deepEqual(
      rec.nodeEvents.filter((e) => e.type === 'Warning').map((e) => e.reason),
      ['LifecycleHeartbeatWarning'],
    );
  });

  it('heartbeats a hook it cannot describe as if it had the shortest timeout, with a warning', async () => {
    const { rec, status } = await runTermination(stack, { hookTimeoutSeconds: null });
    assert.equal(status.phase, 'Done');
    assert.ok(
      rec.heartbeatInputs.every((i) => i.clock.intervalSeconds === 10 && i.clock.heartbeatTimeoutSeconds === 30),
    );
    assert.match(status.warnings.join('\n'), /cannot read lifecycle hook/);
  });

  it("caps the drain and HEARTBEAT_UNTIL by the action's global timeout", async () => {
    // A 30 s hook's action ends 3000 s after its start; this one started 2950 s ago.
    const event = asgTerminateEvent(undefined, { time: new Date(Date.now() - 2_950_000).toISOString() });
    const { rec, status, error } = await runTermination(
      stack,
      { hookTimeoutSeconds: 30, drainFailures: 5, settings: { heartbeatIntervalSeconds: undefined } },
      { event },
    );
    assert.ok(error, 'the termination gave up');
    assert.equal(rec.drains.length, 1, 'no attempt after the global timeout less the time to complete');
    assert.match(status.decisions.join('\n'), /giving up the drain after 1 attempt\(s\) \(deadline\)/);
    assert.deepEqual(
      rec.completions.map((c) => c.result),
      ['ABANDON'],
    );
    const globalDeadline = Date.parse(event.time) + 3_000_000;
    assert.ok(rec.heartbeatInputs.every((i) => i.clock.untilEpochMs <= globalDeadline));
  });

  it('stops heartbeating at HEARTBEAT_UNTIL with a log line and a decision, and still completes the action', async () => {
    // HEARTBEAT_UNTIL (60 s) passed before the message came; the 300 s hook still holds the instance.
    const event = asgTerminateEvent(undefined, { time: new Date(Date.now() - 90_000).toISOString() });
    const { rec, status } = await runTermination(
      stack,
      { settings: { heartbeatIntervalSeconds: undefined, heartbeatUntilSeconds: 60 } },
      { event },
    );
    assert.equal(status.phase, 'Done');
    assert.equal(rec.heartbeats.length, 0, 'a heartbeat loop ran past HEARTBEAT_UNTIL');
    assert.deepEqual(
      rec.completions.map((c) => c.result),
      ['CONTINUE'],
    );
    const stopped = rec.logs.filter((l) => l.message === 'heartbeats stopped: HEARTBEAT_UNTIL reached');
    assert.equal(stopped.length, 1, 'one log line for the stop');
    assert.equal(stopped[0]!.attrs.instanceId, event.instanceId);
    assert.equal(stopped[0]!.attrs.hook, 'test-group/test-hook');
    assert.equal(stopped[0]!.attrs.heartbeatUntil, new Date(Date.parse(event.time) + 60_000).toISOString());
    assert.ok(status.decisions.includes('heartbeats of test-group/test-hook ended: HEARTBEAT_UNTIL reached'));
    assert.equal(status.lifecycleActions[0]!.nextHeartbeatAt, undefined, 'status still announces a heartbeat');
  });

  it('ends in LifecycleActionLost, not Done, when a heartbeat finds the action gone, and stops holding it', async () => {
    const { rec, status } = await runTermination(stack, { heartbeatNotActive: true, drainFailures: 3 });
    assert.equal(status.phase, 'LifecycleActionLost');
    assert.equal(status.lifecycle?.result, 'lost');
    assert.equal(status.lifecycle?.lostReason, 'heartbeat-timeout');
    assert.equal(rec.heartbeats.length, 1, 'a later phase heartbeated a lost action');
    assert.equal(rec.completions.length, 0);
    assert.equal(rec.drains.length, 1, 'drain attempts went on after Auto Scaling let the instance go');
  });

  it('ends in LifecycleActionLost, not Done, when the completion finds the action gone', async () => {
    const { status } = await runTermination(stack, { completionNotActive: true });
    assert.equal(status.phase, 'LifecycleActionLost');
    assert.deepEqual([status.lifecycle?.result, status.lifecycle?.lostReason], ['lost', 'heartbeat-timeout']);
  });

  it('holds two lifecycle actions of one instance each with its own loop, and completes each once', async () => {
    const event = asgTerminateEvent();
    const second = asgTerminateEvent(event.instanceId, {
      lifecycleHookName: 'other-hook',
      lifecycleActionToken: randomUUID(),
    });
    const { rec, status } = await runTermination(
      stack,
      { drainFailures: 1 },
      {
        event,
        during: async (handle, r) => {
          await until(() => r.drains.length >= 1, 'the first attempt');
          await handle.signal(interruptionSignal, second);
        },
      },
    );
    assert.equal(status.phase, 'Done');
    assert.deepEqual(
      rec.completions.map((c) => c.token).sort(),
      [event.lifecycleActionToken, second.lifecycleActionToken].sort(),
    );
    assert.deepEqual(
      status.lifecycleActions.map((a) => [a.lifecycleHookName, a.result]),
      [
        ['test-hook', 'CONTINUE'],
        ['other-hook', 'CONTINUE'],
      ],
    );
    for (const token of [event.lifecycleActionToken, second.lifecycleActionToken]) {
      const loops = rec.heartbeats.filter((h) => h.token === token).sort((a, b) => a.start - b.start);
      assert.ok(loops.length >= 1, `${token} was never held`);
      loops.forEach((loop, i) => {
        const next = loops[i + 1];
        if (next) assert.ok(loop.end! <= next.start, 'two loops held one action at once');
      });
      assert.ok(loops.every((l) => l.end! <= Math.min(...rec.completions.map((c) => c.at))));
    }
    assert.equal(rec.heartbeatsRunning, 0);
  });
});
