import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import type { Worker } from '@temporalio/worker';
import { createDrainBudgetActivities } from '../../activities/temporal/drain-budget.js';
import type { DrainBudgetStatus } from '../../common/drain-budget.js';
import type { InterruptionEvent } from '../../common/events.js';
import {
  drainBudgetStatusQuery,
  drainBudgetWorkflowId,
  interruptionSignal,
  setDrainBudgetUpdate,
  skipDrainUpdate,
  statusQuery,
  workflowTypes,
} from '../../common/names.js';
import type { RunbookSettings } from '../../common/settings.js';
import type { TerminationStatus } from '../../common/status.js';
import { asgTerminateEvent, spotInterruptionEvent } from '../helpers/events.js';
import { uniqueTaskQueue } from '../helpers/temporal.js';
import { testWorker } from '../helpers/workflow-worker.js';
import { until, untilPhase, useStack } from './harness.js';
import { Recorder, stubActivities, type StubBehaviour } from './stub-activities.js';

/**
 * Terminations of one cluster sharing a budget of `perGroup` on one worker with stubbed AWS and
 * Kubernetes, and the real budget workflow and activities on the stack's dev server.
 */
describe('termination workflow: waiting for a drain budget place', function () {
  this.timeout(120_000);
  const harness = useStack();

  async function cluster(
    behaviour: StubBehaviour & { settings?: Partial<RunbookSettings> },
    perGroup: number,
    body: (ctx: {
      start: (event: InterruptionEvent) => Promise<WorkflowHandle>;
      budget: WorkflowHandle;
      name: string;
      taskQueue: string;
    }) => Promise<void>,
  ): Promise<void> {
    const name = `wf-budget-${randomBytes(3).toString('hex')}`;
    const taskQueue = uniqueTaskQueue('budget');
    const rec = new Recorder();
    const settings = {
      ...behaviour.settings,
      clusterName: name,
      drainBudget: { perGroup: { count: perGroup } },
    };
    const worker: Worker = await testWorker(harness.native, taskQueue, {
      ...stubActivities(rec, { ...behaviour, settings }),
      ...createDrainBudgetActivities(harness.client, { configured: settings.drainBudget, startedAt: Date.now() }),
      autoScalingGroupSize: () => Promise.resolve(10),
    });
    await worker.runUntil(async () => {
      const start = (event: InterruptionEvent) =>
        harness.client.workflow.signalWithStart(workflowTypes.termination, {
          taskQueue,
          workflowId: `termination-${name}-${event.instanceId}`,
          args: [{ instanceId: event.instanceId }],
          signal: interruptionSignal,
          signalArgs: [event],
        });
      await body({ start, budget: harness.client.workflow.getHandle(drainBudgetWorkflowId(name)), name, taskQueue });
    });
  }

  const budgetStatus = (budget: WorkflowHandle): Promise<DrainBudgetStatus> => budget.query(drainBudgetStatusQuery);

  it('leaves the line when an operator skips the drain of a waiting termination', async () => {
    await cluster({ drainHangs: true }, 1, async ({ start, budget }) => {
      const holder = await start(asgTerminateEvent());
      await untilPhase(holder, 'Draining', 'the holder to drain');
      const waiter = await start(asgTerminateEvent());
      await untilPhase(waiter, 'WaitingForBudget', 'the second to wait');
      await waiter.executeUpdate(skipDrainUpdate, { args: [{ reason: 'test' }] });
      const status = (await waiter.result()) as TerminationStatus;
      assert.equal(status.phase, 'Done');
      assert.equal(status.lifecycle?.result, 'CONTINUE');
      assert.equal(status.drainBudget?.state, 'released');
      assert.equal(status.attempt, 0, 'a skipped waiter never drained');
      await until(async () => (await budgetStatus(budget)).waiters.length === 0, 'the waiter to leave the line');
      await holder.executeUpdate(skipDrainUpdate, { args: [{ reason: 'test' }] });
      await holder.result();
      await until(async () => (await budgetStatus(budget)).holders.length === 0, 'the holder to give its place back');
    });
  });

  it('stops waiting when a Spot interruption arrives for the waiting instance, and drains beyond the budget', async () => {
    await cluster({ drainHangs: true }, 1, async ({ start, budget }) => {
      const holder = await start(asgTerminateEvent());
      await untilPhase(holder, 'Draining', 'the holder to drain');
      const first = asgTerminateEvent();
      const waiter = await start(first);
      await untilPhase(waiter, 'WaitingForBudget', 'the second to wait');
      await start(spotInterruptionEvent(first.instanceId));
      await untilPhase(waiter, 'Draining', 'the waiter to drain at once');
      const status = await waiter.query(statusQuery);
      assert.equal(status.drainBudget?.forced, true);
      assert.deepEqual(status.kinds, ['asg-terminate', 'spot-interruption']);
      await until(async () => (await budgetStatus(budget)).holders.length === 2, 'the forced drain to count');
      for (const handle of [holder, waiter]) {
        await handle.executeUpdate(skipDrainUpdate, { args: [{ reason: 'test' }] });
        await handle.result();
      }
      await until(async () => (await budgetStatus(budget)).holders.length === 0, 'both places given back');
    });
  });

  it('fails with DrainBudgetTimeout when no place comes before the drain deadline, and leaves the line', async function () {
    // The holder has the whole DRAIN_DEADLINE to reach its drain, however loaded the machine. The
    // waiter's message comes late (it sat in the queue): at most 25 s of its deadline are left, and
    // its deadline comes before the holder's, so the holder still drains when the waiter gives up.
    this.timeout(180_000);
    const deadlineSeconds = 60;
    await cluster(
      { drainHangs: true, settings: { drainDeadlineSeconds: deadlineSeconds } },
      1,
      async ({ start, budget }) => {
        const holderEvent = asgTerminateEvent();
        const holder = await start(holderEvent);
        await untilPhase(holder, 'Draining', 'the holder to drain', deadlineSeconds * 1000);
        const late = Math.min(Date.now() - (deadlineSeconds - 25) * 1000, Date.parse(holderEvent.time) - 5_000);
        const waiter = await start(asgTerminateEvent(undefined, { time: new Date(late).toISOString() }));
        const error = await waiter.result().then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.equal((error as { cause?: { type?: string } }).cause?.type, 'DrainBudgetTimeout');
        const status = await waiter.query(statusQuery);
        assert.equal(status.phase, 'Failed');
        assert.match(
          status.lastError ?? '',
          /no place in the drain budget .* before the drain deadline; the drains holding it: i-/,
        );
        assert.equal(status.lifecycle?.result, 'ABANDON', 'LIFECYCLE_RESULT_ON_FAILURE');
        await holder.executeUpdate(skipDrainUpdate, { args: [{ reason: 'test' }] }).catch(() => undefined);
        await holder.result().catch(() => undefined);
        await until(async () => {
          const s = await budgetStatus(budget);
          return s.holders.length === 0 && s.waiters.length === 0;
        }, 'the budget to be empty');
      },
    );
  });

  it('lets the waiters go when an operator widens the budget, and refuses a bad change naming it', async () => {
    await cluster({ drainHangs: true }, 1, async ({ start, budget }) => {
      const holder = await start(asgTerminateEvent());
      await untilPhase(holder, 'Draining', 'the holder to drain');
      const waiters = [await start(asgTerminateEvent()), await start(asgTerminateEvent())];
      for (const w of waiters) await untilPhase(w, 'WaitingForBudget', 'waiters');
      await assert.rejects(budget.executeUpdate(setDrainBudgetUpdate, { args: [{ perGroup: 'many' }] }), (e: Error) => {
        assert.match(
          String((e.cause as Error | undefined)?.message),
          /perGroup: "many": a count of nodes such as 3, or a percentage such as 10%/,
        );
        return true;
      });
      const answer = await budget.executeUpdate(setDrainBudgetUpdate, { args: [{ perGroup: '3' }] });
      assert.equal(answer, 'per group: 3; cluster: off');
      for (const w of waiters) await untilPhase(w, 'Draining', 'waiters to drain');
      const s = await budgetStatus(budget);
      assert.deepEqual(s.perGroup, { configured: '1', override: '3', effective: '3' });
      for (const h of [holder, ...waiters]) {
        await h.executeUpdate(skipDrainUpdate, { args: [{ reason: 'test' }] });
        await h.result();
      }
    });
  });

  it('carries holders and waiters through the budget workflow continuing as new', async () => {
    await cluster({}, 1, async ({ start, budget, name, taskQueue }) => {
      // Started first with a short run, as the terminations' update-with-start finds it running.
      await harness.client.workflow.start(workflowTypes.drainBudget, {
        taskQueue,
        workflowId: drainBudgetWorkflowId(name),
        args: [{ cluster: name, historyEventsPerRun: 20 }],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      });
      const firstRun = (await budget.describe()).runId;
      const handles = await Promise.all(Array.from({ length: 6 }, () => start(asgTerminateEvent())));
      const statuses = (await Promise.all(handles.map((h) => h.result()))) as TerminationStatus[];
      assert.ok(statuses.every((s) => s.phase === 'Done' && s.drainBudget?.state === 'released'));
      assert.ok(statuses.filter((s) => s.drainBudget?.positionAtRequest !== undefined).length >= 3, 'most waited');
      assert.notEqual((await budget.describe()).runId, firstRun, 'the budget workflow continued as new');
      const s = await budgetStatus(budget);
      assert.deepEqual([s.holders, s.waiters], [[], []]);
    });
  });
});
