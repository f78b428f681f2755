import assert from 'node:assert/strict';
import { AutoScalingServiceException, type AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CancelledFailure } from '@temporalio/common';
import { activityEnvironment } from '../helpers/activity-environment.js';
import {
  createLifecycleHeartbeat,
  type HeartbeatDeps,
  type LifecycleHeartbeatInput,
  type LifecycleHeartbeatResult,
} from '../../activities/aws/lifecycle-heartbeat.js';
import type { HeartbeatProgress, HoldClock } from '../../common/lifecycle.js';

const target = {
  autoScalingGroupName: 'group',
  lifecycleHookName: 'hook',
  instanceId: 'i-0123456789abcdef0',
  lifecycleActionToken: 'token-1',
};

function awsError(name: string, message: string, status = 400) {
  return new AutoScalingServiceException({
    name,
    message,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });
}

/** An Auto Scaling client that records each command and answers from a script. */
function fakeAutoScaling(answer: (command: string, call: number) => unknown = () => ({})) {
  const calls: { command: string; at: number }[] = [];
  const client = {
    send: (command: { constructor: { name: string } }) => {
      const name = command.constructor.name;
      calls.push({ command: name, at: Date.now() });
      const result = answer(name, calls.filter((c) => c.command === name).length);
      return result instanceof Error ? Promise.reject(result) : Promise.resolve(result);
    },
  };
  return {
    client: client as unknown as AutoScalingClient,
    calls,
    heartbeats: () => calls.filter((c) => c.command === 'RecordLifecycleActionHeartbeatCommand'),
  };
}

/** A hold whose action started now, with a short interval unless a test says otherwise. */
/** The activity over a fake Auto Scaling, ticking every 10 ms, with `deps` on top. */
function loopOver(aws: ReturnType<typeof fakeAutoScaling>, deps: Partial<HeartbeatDeps> = {}) {
  return createLifecycleHeartbeat({
    autoScaling: aws.client,
    reportProgress: () => Promise.resolve(),
    tickMs: 10,
    ...deps,
  });
}

function input(overrides: Partial<HoldClock> = {}): LifecycleHeartbeatInput {
  const now = Date.now();
  return {
    target,
    clock: {
      startedAt: now,
      lastHeartbeatAt: undefined,
      heartbeatTimeoutSeconds: 60,
      intervalSeconds: 0.05,
      globalDeadline: now + 6_000_000,
      untilEpochMs: now + 60_000,
      ...overrides,
    },
  };
}

async function waitFor(check: () => boolean, ms = 5_000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('lifecycle heartbeat activity', () => {
  it('stops within a second of a cancel and rethrows the cancellation', async () => {
    const aws = fakeAutoScaling();
    const loops: number[] = [];
    const activity = createLifecycleHeartbeat({
      autoScaling: aws.client,
      reportProgress: () => Promise.resolve(),
      onLoopChange: (d) => loops.push(d),
      tickMs: 100,
    });
    const env = activityEnvironment();
    const running = env.run(activity, input({ intervalSeconds: 3600 }));
    await waitFor(() => loops.length === 1);
    const cancelledAt = Date.now();
    env.cancel();
    await assert.rejects(running, (error) => error instanceof CancelledFailure);
    assert.ok(Date.now() - cancelledAt < 1_000, `took ${Date.now() - cancelledAt} ms to stop`);
    assert.deepEqual(loops, [1, -1], 'the loop gauge returns to zero');
    const callsAfter = aws.calls.length;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(aws.calls.length, callsAfter, 'no call after the activity ended');
  });

  it('heartbeats the hook every interval and reports each heartbeat to the workflow', async () => {
    const aws = fakeAutoScaling();
    const reported: HeartbeatProgress[] = [];
    const activity = createLifecycleHeartbeat({
      autoScaling: aws.client,
      reportProgress: (p) => (reported.push(p), Promise.resolve()),
      tickMs: 10,
    });
    const env = activityEnvironment();
    const running = env.run(activity, input());
    await waitFor(() => aws.heartbeats().length >= 3);
    env.cancel();
    await assert.rejects(running);
    assert.ok(reported.length >= 3);
    assert.deepEqual(
      reported.slice(0, 3).map((p) => p.sent),
      [1, 2, 3],
    );
  });

  it('keeps heartbeating the hook while Temporal does not answer the reports, sending only the newest after', async () => {
    const aws = fakeAutoScaling();
    const reported: HeartbeatProgress[] = [];
    let answer: () => void = () => undefined;
    const activity = loopOver(aws, {
      // The first report hangs, as a signal to an overloaded server does.
      reportProgress: (p) => {
        reported.push(p);
        return reported.length === 1 ? new Promise<void>((resolve) => (answer = resolve)) : Promise.resolve();
      },
    });
    const env = activityEnvironment();
    const running = env.run(activity, input());
    await waitFor(() => aws.heartbeats().length >= 5);
    assert.equal(reported.length, 1, 'a second report went out while the first was on its way');
    answer();
    await waitFor(() => reported.length >= 2);
    env.cancel();
    await assert.rejects(running);
    assert.ok(reported[1]!.sent >= 5, `the report after the hung one was not the newest: sent ${reported[1]!.sent}`);
    assert.equal(
      reported[0]!.heartbeats! + reported[1]!.heartbeats!,
      reported[1]!.sent,
      'the reports together do not count every heartbeat',
    );
  });

  it('stops at HEARTBEAT_UNTIL without another call', async () => {
    const aws = fakeAutoScaling();
    const activity = loopOver(aws);
    const until = Date.now() + 300;
    const result: LifecycleHeartbeatResult = await activityEnvironment().run(
      activity,
      input({ intervalSeconds: 0.1, untilEpochMs: until }),
    );
    assert.equal(result.end, 'heartbeat-until-reached');
    assert.ok(
      aws.heartbeats().every((c) => c.at <= until),
      'a heartbeat went out after HEARTBEAT_UNTIL',
    );
    assert.ok(result.sent >= 1 && result.sent <= 3);
  });

  it('ends for good when Auto Scaling says the lifecycle action is no longer active', async () => {
    const aws = fakeAutoScaling((command, n) =>
      command === 'RecordLifecycleActionHeartbeatCommand' && n === 2
        ? awsError('ValidationError', `No active Lifecycle Action found with instance ID ${target.instanceId}`)
        : {},
    );
    const activity = loopOver(aws);
    const result: LifecycleHeartbeatResult = await activityEnvironment().run(activity, input());
    assert.deepEqual({ end: result.end, sent: result.sent }, { end: 'action-not-active', sent: 1 });
    assert.equal(aws.heartbeats().length, 2);
  });

  it('retries throttling and server errors with a backoff inside the loop', async () => {
    const failures = [awsError('Throttling', 'Rate exceeded'), awsError('InternalFailure', 'oops', 500)];
    const aws = fakeAutoScaling((command, n) =>
      command === 'RecordLifecycleActionHeartbeatCommand' && n <= 2 ? failures[n - 1] : {},
    );
    const outcomes: string[] = [];
    const activity = loopOver(aws, {
      onHeartbeat: (o) => outcomes.push(o),
      backoffMs: { initial: 20, max: 40 },
    });
    const env = activityEnvironment();
    const running = env.run(activity, input({ intervalSeconds: 3600, startedAt: Date.now() - 3_600_000 }));
    await waitFor(() => outcomes.includes('sent'));
    env.cancel();
    await assert.rejects(running);
    assert.deepEqual(outcomes.slice(0, 3), ['failed', 'failed', 'sent']);
  });

  it('resumes the schedule from the heartbeat details of a crashed attempt instead of starting over', async () => {
    const aws = fakeAutoScaling();
    const activity = loopOver(aws);
    // The last ASG heartbeat was 9.9 s ago with a 10 s interval: the next is due at once, not in 10 s.
    const env = activityEnvironment({ heartbeatDetails: { lastHeartbeatAt: Date.now() - 9_900, sent: 7 } });
    const details: unknown[] = [];
    env.on('heartbeat', (d: unknown) => details.push(d));
    const running = env.run(activity, input({ intervalSeconds: 10, startedAt: Date.now() - 60_000 }));
    await waitFor(() => aws.heartbeats().length === 1, 2_000);
    env.cancel();
    await assert.rejects(running);
    assert.ok(
      details.some((d) => (d as { sent: number }).sent === 8),
      'the count carries over',
    );
  });

  it("sends an overdue heartbeat at once: the schedule runs on the action's clock, not the loop's start", async () => {
    const aws = fakeAutoScaling();
    const activity = loopOver(aws);
    // The action started 90 s ago with an 80 s interval and nothing sent yet: due 10 s ago.
    const env = activityEnvironment();
    const startedAt = Date.now();
    const running = env.run(activity, input({ intervalSeconds: 80, startedAt: Date.now() - 90_000 }));
    await waitFor(() => aws.heartbeats().length === 1, 2_000);
    assert.ok(aws.heartbeats()[0]!.at - startedAt < 500, 'the overdue heartbeat waited');
    env.cancel();
    await assert.rejects(running);
  });

  it('waits for the due time of a heartbeat another loop sent, not a full interval from its own start', async () => {
    const aws = fakeAutoScaling();
    const activity = loopOver(aws);
    const env = activityEnvironment();
    const began = Date.now();
    const running = env.run(
      activity,
      input({ intervalSeconds: 1, startedAt: began - 5_000, lastHeartbeatAt: began - 700 }),
    );
    await waitFor(() => aws.heartbeats().length === 1, 2_000);
    const waited = aws.heartbeats()[0]!.at - began;
    assert.ok(waited >= 250 && waited < 700, `waited ${waited} ms; 300 ms were left of the interval`);
    env.cancel();
    await assert.rejects(running);
  });

  it('retries a throttled heartbeat often enough to land before the action expires', async () => {
    const aws = fakeAutoScaling((command, n) =>
      command === 'RecordLifecycleActionHeartbeatCommand' && n <= 3 ? awsError('Throttling', 'Rate exceeded') : {},
    );
    const outcomes: string[] = [];
    const activity = loopOver(aws, {
      onHeartbeat: (o) => outcomes.push(o),
      // A backoff that alone would outlast the action (0.2 + 0.4 + 0.8 s): the loop must not follow it.
      backoffMs: { initial: 200, max: 60_000 },
    });
    const env = activityEnvironment();
    const now = Date.now();
    // Expires in 1.2 s.
    const running = env.run(
      activity,
      input({ intervalSeconds: 0.1, heartbeatTimeoutSeconds: 1.3, startedAt: now - 100 }),
    );
    await waitFor(() => outcomes.includes('sent'), 1_500);
    assert.ok(aws.heartbeats().at(-1)!.at < now + 1_200, 'the heartbeat landed after the action would have expired');
    env.cancel();
    await assert.rejects(running);
  });

  it('says why the action was lost and counts it', async () => {
    const aws = fakeAutoScaling((command) =>
      command === 'RecordLifecycleActionHeartbeatCommand'
        ? awsError('ValidationError', `No active Lifecycle Action found with instance ID ${target.instanceId}`)
        : {},
    );
    const lost: string[] = [];
    const activity = loopOver(aws, {
      onLost: (reason) => lost.push(reason),
    });
    // Started 200 s ago with a 60 s timeout and never heartbeated: it timed out.
    const result: LifecycleHeartbeatResult = await activityEnvironment().run(
      activity,
      input({ startedAt: Date.now() - 200_000 }),
    );
    assert.equal(result.lostReason, 'heartbeat-timeout');
    assert.deepEqual(lost, ['heartbeat-timeout']);
  });
});
