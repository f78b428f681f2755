import assert from 'node:assert/strict';
import { AutoScalingServiceException, type AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CancelledFailure } from '@temporalio/common';
import { activityEnvironment } from '../helpers/activity-environment.js';
import {
  createLifecycleHeartbeat,
  type LifecycleHeartbeatInput,
  type LifecycleHeartbeatResult,
} from '../../activities/aws/lifecycle-heartbeat.js';
import type { HeartbeatProgress } from '../../common/lifecycle.js';

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

function input(overrides: Partial<LifecycleHeartbeatInput> = {}): LifecycleHeartbeatInput {
  return {
    target,
    intervalSeconds: 0.05,
    untilEpochMs: Date.now() + 60_000,
    lastHeartbeatAt: undefined,
    ...overrides,
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

  it('stops at HEARTBEAT_UNTIL without another call', async () => {
    const aws = fakeAutoScaling();
    const activity = createLifecycleHeartbeat({
      autoScaling: aws.client,
      reportProgress: () => Promise.resolve(),
      tickMs: 10,
    });
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
    const activity = createLifecycleHeartbeat({
      autoScaling: aws.client,
      reportProgress: () => Promise.resolve(),
      tickMs: 10,
    });
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
    const activity = createLifecycleHeartbeat({
      autoScaling: aws.client,
      reportProgress: () => Promise.resolve(),
      onHeartbeat: (o) => outcomes.push(o),
      tickMs: 10,
      backoffMs: { initial: 20, max: 40 },
    });
    const env = activityEnvironment();
    const running = env.run(activity, input({ intervalSeconds: 3600, lastHeartbeatAt: Date.now() - 3_600_000 }));
    await waitFor(() => outcomes.includes('sent'));
    env.cancel();
    await assert.rejects(running);
    assert.deepEqual(outcomes.slice(0, 3), ['failed', 'failed', 'sent']);
  });

  it('resumes the schedule from the heartbeat details of a crashed attempt instead of starting over', async () => {
    const aws = fakeAutoScaling();
    const activity = createLifecycleHeartbeat({
      autoScaling: aws.client,
      reportProgress: () => Promise.resolve(),
      tickMs: 10,
    });
    // The last ASG heartbeat was 9.9 s ago with a 10 s interval: the next is due at once, not in 10 s.
    const env = activityEnvironment({ heartbeatDetails: { lastHeartbeatAt: Date.now() - 9_900, sent: 7 } });
    const details: unknown[] = [];
    env.on('heartbeat', (d: unknown) => details.push(d));
    const running = env.run(activity, input({ intervalSeconds: 10 }));
    await waitFor(() => aws.heartbeats().length === 1, 2_000);
    env.cancel();
    await assert.rejects(running);
    assert.ok(
      details.some((d) => (d as { sent: number }).sent === 8),
      'the count carries over',
    );
  });

  it('derives the interval from the hook when none is set', async () => {
    const aws = fakeAutoScaling((command) =>
      command === 'DescribeLifecycleHooksCommand' ? { LifecycleHooks: [{ HeartbeatTimeout: 300 }] } : {},
    );
    const reported: HeartbeatProgress[] = [];
    const activity = createLifecycleHeartbeat({
      autoScaling: aws.client,
      reportProgress: (p) => (reported.push(p), Promise.resolve()),
      tickMs: 10,
    });
    const env = activityEnvironment();
    const running = env.run(activity, input({ intervalSeconds: undefined, lastHeartbeatAt: Date.now() - 600_000 }));
    await waitFor(() => reported.length === 1);
    env.cancel();
    await assert.rejects(running);
    assert.equal(reported[0]!.intervalSeconds, 240);
  });
});
