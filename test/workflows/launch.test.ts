import assert from 'node:assert/strict';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../activities/index.js';
import type { NodeReadinessInput } from '../../activities/node-readiness.js';
import { interruptionSignal, launchStatusQuery, launchWorkflowId, workflowTypes } from '../../common/names.js';
import type { LifecycleEvent } from '../../common/events.js';
import type { LaunchStatus } from '../../common/status.js';
import { asgTerminateEvent } from '../helpers/events.js';
import { uniqueTaskQueue } from '../helpers/temporal.js';
import { testWorker } from '../helpers/workflow-worker.js';
import { useStack } from './harness.js';
import { Recorder, stubActivities, type StubBehaviour } from './stub-activities.js';
import { testCluster } from '../helpers/stack-env.js';

/** The ApplicationFailure a failed workflow closed with. */
const failureOf = (error: unknown) =>
  error instanceof WorkflowFailedError ? (error.cause as ApplicationFailure) : undefined;

interface LaunchRun {
  rec: Recorder;
  status: LaunchStatus;
  error: unknown;
}

describe('launch workflow: completes the hook by what the wait for the node saw, and waits no longer than the hook', function () {
  this.timeout(60_000);
  const stack = useStack();

  /** One launch workflow on its own task queue, with `waitForNodeReady` as given (hook timeout 300 s). */
  async function runLaunch(
    waitForNodeReady: Activities['waitForNodeReady'],
    behaviour: StubBehaviour = {},
    route: Pick<LifecycleEvent, 'origin' | 'destination'> = {},
  ): Promise<LaunchRun> {
    const event = { ...asgTerminateEvent(), kind: 'asg-launch' as const, ...route };
    const rec = new Recorder();
    const taskQueue = uniqueTaskQueue('launch');
    const worker = await testWorker(stack.native, taskQueue, { ...stubActivities(rec, behaviour), waitForNodeReady });
    return worker.runUntil(async () => {
      const handle = await stack.client.workflow.signalWithStart(workflowTypes.launch, {
        taskQueue,
        workflowId: `${launchWorkflowId(testCluster, event.instanceId)}-${taskQueue}`,
        args: [{ instanceId: event.instanceId }],
        signal: interruptionSignal,
        signalArgs: [event],
      });
      try {
        return { rec, status: (await handle.result()) as LaunchStatus, error: undefined };
      } catch (error) {
        return { rec, status: await handle.query(launchStatusQuery), error };
      }
    });
  }

  it('gives the wait until the deadline and a little room, never the retries of a wait without end', async () => {
    let seen: { input: NodeReadinessInput; scheduleToCloseMs: number; at: number } | undefined;
    const { rec, status } = await runLaunch((input) => {
      seen = { input, scheduleToCloseMs: Context.current().info.scheduleToCloseTimeoutMs, at: Date.now() };
      return Promise.resolve({ nodeName: 'ip-10-0-1-23.ec2.internal', ready: true });
    });
    assert.deepEqual([status.phase, status.result], ['Done', 'CONTINUE']);
    assert.deepEqual(
      rec.completions.map((c) => c.result),
      ['CONTINUE'],
    );
    const untilDeadlineMs = seen!.input.deadlineEpochMs - seen!.at;
    assert.ok(
      untilDeadlineMs > 260_000 && untilDeadlineMs <= 270_000,
      `deadline in ${untilDeadlineMs} ms (hook 300 s, margin 30 s)`,
    );
    const roomMs = seen!.scheduleToCloseMs - untilDeadlineMs;
    assert.ok(roomMs >= 5_000 && roomMs <= 15_000, `the wait may run ${roomMs} ms past its deadline`);
  });

  it("leaves another cluster's launch to it: no wait, no completion", async () => {
    let waited = false;
    const { rec, status, error } = await runLaunch(
      () => {
        waited = true;
        return Promise.resolve({ nodeName: undefined, ready: false });
      },
      { settings: { clusterName: 'prod-a' }, instanceTags: { 'eks:cluster-name': 'prod-b' } },
    );
    assert.equal(error, undefined);
    assert.equal(status.phase, 'OtherCluster');
    assert.equal(waited, false);
    assert.equal(rec.completions.length, 0);
    assert.deepEqual(
      rec.ownershipNotes.map((n) => n.owner),
      ['other-cluster'],
    );
  });

  it('completes with ABANDON when the node was not Ready by the deadline', async () => {
    const { rec, status, error } = await runLaunch(() => Promise.resolve({ nodeName: undefined, ready: false }));
    assert.deepEqual([status.phase, status.result], ['GaveUp', 'ABANDON']);
    assert.deepEqual(
      rec.completions.map((c) => c.result),
      ['ABANDON'],
    );
    assert.equal(failureOf(error)?.type, 'NodeNotReady');
    assert.match(failureOf(error)?.message ?? '', /did not become Ready/);
  });

  it("fails without completing, leaving the action to the hook's DefaultResult, when the wait cannot look", async () => {
    const { rec, status, error } = await runLaunch(() =>
      Promise.reject(
        ApplicationFailure.create({
          type: 'KubernetesRequestRefused',
          message: 'reading node ip-10-0-1-23.ec2.internal: HTTP 403',
          nonRetryable: true,
        }),
      ),
    );
    assert.equal(status.phase, 'Failed');
    assert.equal(rec.completions.length, 0, 'no CompleteLifecycleAction');
    assert.match(status.decisions.at(-1) ?? '', /HTTP 403.*DefaultResult/);
    assert.equal(failureOf(error)?.type, 'NodeReadinessUnknown');
    assert.match(failureOf(error)?.message ?? '', /HTTP 403/);
  });

  it('completes a launch into the warm pool with CONTINUE at once: no node joins a warmed instance', async () => {
    let waited = false;
    const { rec, status, error } = await runLaunch(
      () => {
        waited = true;
        return Promise.resolve({ nodeName: undefined, ready: false });
      },
      {},
      { origin: 'EC2', destination: 'WarmPool' },
    );
    assert.equal(error, undefined);
    assert.deepEqual([status.phase, status.result], ['Done', 'CONTINUE']);
    assert.equal(waited, false, 'no wait for a node');
    assert.deepEqual(
      rec.completions.map((c) => c.result),
      ['CONTINUE'],
    );
    assert.match(status.decisions.join('\n'), /into the warm pool/);
  });

  it('waits for the node of a launch from the warm pool into the group, and takes back what the scale-in into the pool did to it', async () => {
    let readinessTaints: string[] | undefined;
    const { rec, status } = await runLaunch(
      (input) => {
        readinessTaints = input.readinessTaints;
        return Promise.resolve({ nodeName: 'ip-10-0-1-23.ec2.internal', ready: true });
      },
      { settings: { launchReadinessTaints: ['node.kubernetes.io/not-ready'] } },
      { origin: 'WarmPool', destination: 'AutoScalingGroup' },
    );
    assert.deepEqual([status.phase, status.result], ['Done', 'CONTINUE']);
    assert.deepEqual(readinessTaints, ['node.kubernetes.io/not-ready'], 'the wait is given LAUNCH_READINESS_TAINTS');
    assert.deepEqual(
      rec.restorations.map((r) => [r.nodeName, r.recordedAs]),
      [['ip-10-0-1-23.ec2.internal', 'tnth/warm-pool-changes']],
    );
  });

  it("completes with the hook's DefaultResult, naming the startup taint left, when the node stays tainted past the deadline", async () => {
    const { rec, status, error } = await runLaunch(
      () =>
        Promise.resolve({
          nodeName: 'ip-10-0-1-23.ec2.internal',
          ready: false,
          nodeReady: true,
          blockingTaints: ['node.cilium.io/agent-not-ready'],
        }),
      { hookDefaultResult: 'CONTINUE' },
    );
    assert.deepEqual([status.phase, status.result], ['GaveUp', 'CONTINUE']);
    assert.deepEqual(
      rec.completions.map((c) => c.result),
      ['CONTINUE'],
    );
    assert.match(
      status.decisions.at(-1) ?? '',
      /still carries node.cilium.io\/agent-not-ready.*CONTINUE, the hook's DefaultResult/,
    );
    assert.equal(failureOf(error)?.type, 'NodeNotReady');
    assert.deepEqual(rec.restorations, [], 'no warm pool, nothing to take back');
  });
});
