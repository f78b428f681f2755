import assert from 'node:assert/strict';
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../activities/index.js';
import type { NodeReadinessInput } from '../../activities/node-readiness.js';
import { interruptionSignal, launchStatusQuery, launchWorkflowId, workflowTypes } from '../../common/names.js';
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
  ): Promise<LaunchRun> {
    const event = { ...asgTerminateEvent(), kind: 'asg-launch' as const };
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
});
