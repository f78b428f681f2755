import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { interruptionSignal, statusQuery, stopHandlingUpdate } from '../../common/names.js';
import type { TerminationStatus } from '../../common/status.js';
import { asgTerminateEvent } from '../helpers/events.js';
import { runTermination, until, untilPhase, useStack } from './harness.js';

describe('termination workflow: long terminations, failures and interruptions end correctly', function () {
  this.timeout(180_000);
  const stack = useStack();

  it('continues as new between drain attempts, carrying its state, and completes the lifecycle action once in the last run', async () => {
    const event = asgTerminateEvent();
    const seen: TerminationStatus[] = [];
    const listed = new Set<string>();
    const { rec, status, error } = await runTermination(
      stack,
      // A run holds about five failed attempts under this bound; 14 attempts need at least three runs.
      { drainFailures: 13, settings: { historyEventsPerRun: 100 } },
      {
        event,
        during: async (handle) => {
          // Throughout the chain the id answers `status` and the InstanceId search attribute finds it.
          for (;;) {
            const current = await handle.query(statusQuery);
            seen.push(current);
            for await (const w of stack.client.workflow.list({ query: `InstanceId = '${event.instanceId}'` })) {
              listed.add(w.runId);
            }
            if (current.phase === 'Done') break;
            await new Promise((r) => setTimeout(r, 250));
          }
        },
      },
    );
    assert.equal(error, undefined);
    assert.equal(status.phase, 'Done');
    assert.equal(status.attempt, 14, 'every attempt counted once across the runs');
    assert.ok(status.run >= 3, `only ${status.run} run(s) in the chain`);
    assert.ok(listed.size >= 3, `the search attribute found ${listed.size} run(s)`);
    assert.equal(rec.drains.length, 14, 'one drain per attempt, none repeated at a hand-over');
    assert.equal(rec.completions.length, 1, 'exactly one CompleteLifecycleAction');
    assert.equal(rec.prepared, 1, 'the node was cordoned once, not again by a later run');
    assert.equal(rec.maxHeartbeatsRunning, 1, 'two heartbeat loops ran at once');
    assert.equal(rec.heartbeatsRunning, 0);
    // Every loop of every run ran on the action's one clock.
    assert.equal(new Set(rec.heartbeatInputs.map((i) => i.clock.startedAt)).size, 1);
    const attempts = seen.map((s) => s.attempt);
    assert.deepEqual(
      attempts,
      [...attempts].sort((a, b) => a - b),
      'the attempt count went back at a hand-over',
    );
    assert.match(status.decisions.join('\n'), /continuing as new after \d+ drain attempt/);
  });

  it('keeps a failed termination open for DUPLICATE_WINDOW, drops a late copy of its message, then fails', async () => {
    const event = asgTerminateEvent();
    const { rec, status, error } = await runTermination(
      stack,
      { drainFailures: 5, settings: { drainMaxAttempts: 2, duplicateWindowSeconds: 5 } },
      {
        event,
        during: async (handle) => {
          await untilPhase(handle, 'Failed', 'the termination to give up');
          // A DLQ redrive or a second EventBridge rule: the same event, after the failure.
          await handle.signal(interruptionSignal, event);
          await until(async () => (await handle.query(statusQuery)).duplicatesIgnored === 1, 'the copy to be dropped');
        },
      },
    );
    assert.ok(error instanceof WorkflowFailedError, 'the workflow fails when it closes');
    assert.match(String(error.cause?.message), /failed after 2 attempt/);
    assert.equal(status.phase, 'Failed');
    assert.equal(rec.drains.length, 2, 'the late copy started no second drain');
    assert.deepEqual(
      rec.completions.map((c) => c.result),
      ['ABANDON'],
    );
  });

  it('completes with LIFECYCLE_RESULT_ON_FAILURE and fails naming the refusal when a call can never succeed', async () => {
    const { rec, status, error } = await runTermination(stack, {
      prepareNodeRefused: 'KubernetesRequestRefused',
      settings: { duplicateWindowSeconds: 1 },
    });
    assert.ok(error instanceof WorkflowFailedError);
    assert.equal((error.cause as { type?: string } | undefined)?.type, 'KubernetesRequestRefused');
    assert.equal(status.phase, 'Failed');
    assert.match(status.lastError ?? '', /forbidden/);
    assert.equal(rec.drains.length, 0);
    assert.deepEqual(
      rec.completions.map((c) => c.result),
      ['ABANDON'],
    );
    assert.equal(rec.heartbeatsRunning, 0);
  });

  // A 300 s hook heartbeats 240 s after its start (HEARTBEAT_INTERVAL unset): the lookups may run as
  // local activities, which keep any loop from starting while they run.
  const roomy = { settings: { heartbeatIntervalSeconds: undefined } };

  it('looks up the node in a local activity when no heartbeat can come due meanwhile: no activity of its own', async () => {
    const { rec, status, workflowId } = await runTermination(stack, roomy);
    assert.equal(status.phase, 'Done');
    assert.deepEqual(rec.shortCalls, [
      // The instance's lookup comes before the hook's read: whose instance it is decides that read.
      { name: 'describeInstance', local: false },
      { name: 'findNode', local: true },
      { name: 'prepareNode', local: false },
    ]);
    const events = (await stack.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const scheduled = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    for (const name of ['findNode', 'describeLifecycleHook'])
      assert.ok(!scheduled.includes(name), `${name} ran as an activity`);
  });

  it('goes on with the activity, retried until the deadline, when the local try of a lookup fails for a moment', async () => {
    const { rec, status } = await runTermination(stack, { ...roomy, findNodeFailures: 2 });
    assert.equal(status.phase, 'Done');
    assert.deepEqual(
      rec.shortCalls.filter((c) => c.name === 'findNode').map((c) => c.local),
      [true, false, false],
      'one local try, then the activity and its retry',
    );
    assert.equal(rec.drains.length, 1);
  });

  it('does not try again as an activity what the local try was refused for good', async () => {
    const { rec, status } = await runTermination(stack, {
      findNodeRefused: 'KubernetesRequestRefused',
      settings: { ...roomy.settings, duplicateWindowSeconds: 1 },
    });
    assert.equal(status.phase, 'Failed');
    assert.deepEqual(
      rec.shortCalls.filter((c) => c.name === 'findNode'),
      [{ name: 'findNode', local: true }],
    );
  });

  it('looks up in activities, a loop beside them, when a heartbeat may come due meanwhile (a 60 s hook)', async () => {
    const { rec, status } = await runTermination(stack, {
      hookTimeoutSeconds: 60,
      findNodeFailures: 1,
      settings: { heartbeatIntervalSeconds: undefined },
    });
    assert.equal(status.phase, 'Done');
    assert.ok(
      rec.shortCalls.every((c) => !c.local),
      `a lookup ran as a local activity, which no loop can run beside: ${JSON.stringify(rec.shortCalls)}`,
    );
    const firstDrain = rec.drains[0]!;
    assert.ok(
      rec.heartbeats.some((l) => l.end! <= firstDrain.start),
      'nothing held the action while the lookup retried',
    );
  });

  it('fails at once, without another attempt, when the API server refuses the drain for good', async () => {
    const { rec, status, error } = await runTermination(stack, {
      drainRefused: 'KubernetesRequestRefused',
      settings: { duplicateWindowSeconds: 1 },
    });
    assert.ok(error instanceof WorkflowFailedError);
    assert.equal((error.cause as { type?: string } | undefined)?.type, 'KubernetesRequestRefused');
    assert.equal(status.phase, 'Failed');
    assert.equal(rec.drains.length, 1, 'a refusal no retry can change was retried');
    assert.deepEqual(
      rec.completions.map((c) => c.result),
      ['ABANDON'],
    );
  });

  it('ends as NodeNotFound when the node is deleted before the cordon, leaving the action as DELETE_SQS_MSG_IF_NODE_NOT_FOUND says', async () => {
    const { rec, status, error } = await runTermination(stack, { prepareNodeRefused: 'NodeNotFound' });
    assert.equal(error, undefined);
    assert.equal(status.phase, 'NodeNotFound');
    assert.equal(rec.drains.length, 0);
    assert.equal(rec.completions.length, 0);
    assert.equal(status.lifecycle?.result, 'left-to-expire');
  });

  it('ends as NodeNotFound when the node is deleted mid-drain, completing the action only with DELETE_SQS_MSG_IF_NODE_NOT_FOUND', async () => {
    await Promise.all(
      [false, true].map(async (deleteSqsMsgIfNodeNotFound) => {
        const { rec, status, error } = await runTermination(stack, {
          drainRefused: 'NodeNotFound',
          settings: { deleteSqsMsgIfNodeNotFound },
        });
        assert.equal(error, undefined, 'a node that is gone is no failure');
        assert.equal(status.phase, 'NodeNotFound');
        assert.equal(rec.drains.length, 1, 'a drain of a node that is gone was retried');
        assert.deepEqual(
          rec.completions.map((c) => c.result),
          deleteSqsMsgIfNodeNotFound ? ['CONTINUE'] : [],
        );
      }),
    );
  });

  it('does not count a drain attempt that a worker shutdown interrupted: Temporal resumes it', async () => {
    const { rec, status } = await runTermination(stack, { drainInterruptions: 2 });
    assert.equal(status.phase, 'Done');
    assert.equal(rec.drains.length, 3, 'two interrupted tries and the one that drained');
    assert.equal(status.attempt, 1, 'the interrupted tries are one attempt');
  });

  it('says truthfully that a stop during the completion came too late to leave the action alone', async () => {
    const { status } = await runTermination(
      stack,
      { completionMs: 3000, settings: { duplicateWindowSeconds: 2 } },
      {
        during: async (handle) => {
          await untilPhase(handle, 'CompletingLifecycleAction', 'the completion');
          const reply = await handle.executeUpdate(stopHandlingUpdate, { args: [{ reason: 'too late' }] });
          assert.match(reply, /is being completed; handling ends once that call returns/);
        },
      },
    );
    assert.equal(status.phase, 'Done');
    assert.equal(status.lifecycle?.result, 'CONTINUE');
    assert.match(status.decisions.join('\n'), /a stop requested in phase CompletingLifecycleAction came after/);
    assert.doesNotMatch(status.decisions.join('\n'), /before the runbook ran/);
  });
});
