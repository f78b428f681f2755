import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { InterruptionEvent, RebalanceRecommendationEvent } from '../../common/events.js';
import { interruptionSignal, statusQuery } from '../../common/names.js';
import type { TerminationStatus } from '../../common/status.js';
import { asgTerminateEvent, spotInterruptionEvent, uniqueInstanceId } from '../helpers/events.js';
import { createDrainBudgetActivities } from '../../activities/temporal/drain-budget.js';
import { loadConfig, runbookSettings } from '../../common/config.js';
import type { DrainBudgetStatus } from '../../common/drain-budget.js';
import { drainBudgetStatusQuery, drainBudgetWorkflowId, skipDrainUpdate, workflowTypes } from '../../common/names.js';
import { uniqueTaskQueue } from '../helpers/temporal.js';
import { testWorker } from '../helpers/workflow-worker.js';
import { runTermination, until, untilPhase, useStack } from './harness.js';
import { Recorder, stubActivities } from './stub-activities.js';

const rebalance = (instanceId = uniqueInstanceId()): RebalanceRecommendationEvent => ({
  kind: 'rebalance-recommendation',
  instanceId,
  time: new Date().toISOString(),
  eventId: randomUUID(),
});

const status = (handle: WorkflowHandle): Promise<TerminationStatus> => handle.query(statusQuery);
const signal = (handle: WorkflowHandle, event: InterruptionEvent) => handle.signal(interruptionSignal, event);

describe('termination workflow: an action per kind of event, undone when nothing follows', function () {
  // Beyond one wait (harness.ts): a wait that runs out says where the termination was.
  this.timeout(120_000);
  const stack = useStack();

  it('does nothing for a kind whose action is none and ends Ignored', async () => {
    const { rec, status } = await runTermination(
      stack,
      {
        settings: {
          eventActions: { 'rebalance-recommendation': 'none', 'scheduled-change': 'drain', 'state-change': 'drain' },
        },
      },
      { event: rebalance() },
    );
    assert.equal(status.phase, 'Ignored');
    assert.equal(rec.prepared + rec.drains.length + rec.describes, 0);
    assert.match(status.decisions.join('\n'), /rebalance-recommendation: none \(REBALANCE_ACTION\): nothing done/);
  });

  it('drains a rebalance recommendation by default, as NTH does in queue mode', async () => {
    const { rec, status } = await runTermination(stack, {}, { event: rebalance() });
    assert.equal(status.phase, 'Done');
    assert.equal(rec.drains.length, 1);
    assert.deepEqual(rec.restorations, []);
  });

  it('taints without a cordon for action taint, whatever TAINT_NODE says, and takes the taint back after UNDO_AFTER', async () => {
    const { rec, status } = await runTermination(
      stack,
      {
        settings: {
          taintNode: false,
          undoAfterSeconds: 2,
          webhookEnabled: true,
          eventActions: { 'rebalance-recommendation': 'taint', 'scheduled-change': 'drain', 'state-change': 'drain' },
        },
      },
      { event: rebalance() },
    );
    assert.equal(status.phase, 'Undone');
    assert.deepEqual(
      rec.preparations.map((p) => [p.cordon, p.taints]),
      [[false, ['aws-node-termination-handler/rebalance-recommendation']]],
    );
    assert.equal(rec.drains.length, 0);
    assert.deepEqual(
      rec.restorations.map((r) => r.changes),
      [
        {
          cordoned: false,
          taints: [
            {
              key: 'aws-node-termination-handler/rebalance-recommendation',
              value: rec.restorations[0]!.changes!.taints[0]!.value,
              effect: 'NoSchedule',
            },
          ],
          labels: [],
        },
      ],
    );
    // One webhook for the taint, one for the undo.
    assert.deepEqual(
      rec.webhooks.map((w) => (w as { State: string }).State),
      ['Watching', 'Undone'],
    );
  });

  it('keeps a cordon for the default UNDO_AFTER of an hour, watching meanwhile', async () => {
    await runTermination(
      stack,
      {
        settings: {
          eventActions: { 'rebalance-recommendation': 'cordon', 'scheduled-change': 'drain', 'state-change': 'drain' },
          // What a user gets without UNDO_AFTER.
          undoAfterSeconds: runbookSettings(loadConfig({ CLUSTER_NAME: 'prod-a' })).undoAfterSeconds,
        },
      },
      {
        event: rebalance(),
        during: async (handle, rec) => {
          await untilPhase(handle, 'Watching', 'the workflow watching');
          const watching = await status(handle);
          const undoIn = Date.parse(watching.undoAt!) - Date.now();
          assert.ok(undoIn > 3500_000 && undoIn <= 3600_000, `undo in ${undoIn} ms`);
          assert.equal(rec.restorations.length, 0);
          await handle.terminate('the test saw what it needed');
        },
      },
    );
  });

  it('escalates a cordon to a drain when a Spot interruption follows: one run, one drain, one webhook per step', async () => {
    const first = rebalance();
    const { rec, status: end } = await runTermination(
      stack,
      {
        settings: {
          webhookEnabled: true,
          undoAfterSeconds: 3600,
          eventActions: { 'rebalance-recommendation': 'cordon', 'scheduled-change': 'drain', 'state-change': 'drain' },
        },
      },
      {
        event: first,
        during: async (handle) => {
          await untilPhase(handle, 'Watching', 'the workflow watching');
          const spot = spotInterruptionEvent(first.instanceId);
          await signal(handle, spot);
          await signal(handle, spot);
          await signal(handle, { ...spotInterruptionEvent(first.instanceId), kind: 'spot-interruption' });
        },
      },
    );
    assert.equal(end.phase, 'Done');
    assert.equal(end.action, 'drain');
    assert.equal(rec.drains.length, 1, 'one drain');
    assert.deepEqual(rec.restorations, [], 'nothing undone');
    assert.equal(end.run, 1);
    assert.deepEqual(
      rec.webhooks.map((w) => [(w as { State: string }).State, (w as { Kind: string }).Kind]),
      [
        ['Watching', 'REBALANCE_RECOMMENDATION'],
        ['Done', 'SPOT_ITN'],
      ],
    );
    assert.match(end.decisions.join('\n'), /escalated from cordon to drain by spot-interruption: drain/);
  });

  it('escalates to a drain and completes the lifecycle action once when an ASG termination follows a cordon', async () => {
    const first = rebalance();
    const { rec, status: end } = await runTermination(
      stack,
      {
        settings: {
          undoAfterSeconds: 3600,
          eventActions: { 'rebalance-recommendation': 'cordon', 'scheduled-change': 'drain', 'state-change': 'drain' },
        },
      },
      {
        event: first,
        during: async (handle) => {
          await untilPhase(handle, 'Watching', 'the workflow watching');
          await signal(handle, asgTerminateEvent(first.instanceId));
        },
      },
    );
    assert.equal(end.phase, 'Done');
    assert.equal(rec.drains.length, 1);
    assert.deepEqual(
      rec.completions.map((c) => c.result),
      ['CONTINUE'],
    );
  });

  it('in dry run records the cordon it would make and the undo that would take it back, changing nothing', async () => {
    const { rec, status: end } = await runTermination(
      stack,
      {
        settings: {
          dryRun: true,
          undoAfterSeconds: 2,
          eventActions: { 'rebalance-recommendation': 'cordon', 'scheduled-change': 'drain', 'state-change': 'drain' },
        },
      },
      { event: rebalance() },
    );
    assert.equal(end.phase, 'Undone');
    assert.equal(rec.prepared + rec.restorations.length, 0);
    assert.match(
      end.decisions.join('\n'),
      /dry run: would uncordon node ip-10-0-1-23\.ec2\.internal\ndry run: would remove taint aws-node-termination-handler\/rebalance-recommendation:NoSchedule from node ip-10-0-1-23\.ec2\.internal/,
    );
  });

  it('completes the termination of a warmed instance without a node with CONTINUE, whatever DELETE_SQS_MSG_IF_NODE_NOT_FOUND says', async () => {
    const { rec, status: end } = await runTermination(
      stack,
      { nodeName: undefined },
      { event: asgTerminateEvent(uniqueInstanceId(), { origin: 'WarmPool', destination: 'EC2' }) },
    );
    assert.equal(end.phase, 'NodeNotFound');
    assert.deepEqual(
      rec.completions.map((c) => c.result),
      ['CONTINUE'],
    );
    assert.match(end.decisions.join('\n'), /terminated from the warm pool without a node/);
  });

  it('takes no drain budget place for a cordon, and waits for one, cordoned, when it escalates to a drain', async () => {
    const name = `wf-ep-budget-${randomBytes(3).toString('hex')}`;
    const taskQueue = uniqueTaskQueue('ep-budget');
    const rec = new Recorder();
    const settings = {
      clusterName: name,
      drainBudget: { perGroup: { count: 1 } },
      undoAfterSeconds: 3600,
      eventActions: {
        'rebalance-recommendation': 'cordon',
        'scheduled-change': 'drain',
        'state-change': 'drain',
      } as const,
    };
    const worker = await testWorker(stack.native, taskQueue, {
      ...stubActivities(rec, { drainHangs: true, settings }),
      ...createDrainBudgetActivities(stack.client, { configured: settings.drainBudget, startedAt: Date.now() }),
      autoScalingGroupSize: () => Promise.resolve(10),
    });
    await worker.runUntil(async () => {
      const start = (event: InterruptionEvent) =>
        stack.client.workflow.signalWithStart(workflowTypes.termination, {
          taskQueue,
          workflowId: `termination-${name}-${event.instanceId}`,
          args: [{ instanceId: event.instanceId }],
          signal: interruptionSignal,
          signalArgs: [event],
        });
      const budget = stack.client.workflow.getHandle(drainBudgetWorkflowId(name));
      const budgetStatus = (): Promise<DrainBudgetStatus> => budget.query(drainBudgetStatusQuery);
      const holder = await start(asgTerminateEvent());
      await untilPhase(holder, 'Draining', 'the holder to drain');

      const advised = rebalance();
      const watcher = await start(advised);
      await untilPhase(watcher, 'Watching', 'the cordon, without waiting its turn');
      assert.equal((await status(watcher)).drainBudget, undefined, 'no place asked for a cordon');

      await signal(watcher, asgTerminateEvent(advised.instanceId));
      await untilPhase(watcher, 'WaitingForBudget', 'the escalated drain to wait');
      assert.equal((await budgetStatus()).waiters.length, 1);
      await holder.executeUpdate(skipDrainUpdate, { args: [{ reason: 'test' }] });
      await untilPhase(watcher, 'Draining', 'the escalated drain to get the place');
      await watcher.executeUpdate(skipDrainUpdate, { args: [{ reason: 'test' }] });
      const end = (await watcher.result()) as TerminationStatus;
      assert.equal(end.phase, 'Done');
      assert.equal(end.drainBudget?.state, 'released');
      assert.equal(end.nodeChanges?.cordoned, true);
      await holder.result();
      await until(async () => (await budgetStatus()).holders.length === 0, 'both places given back');
    });
  });
});
