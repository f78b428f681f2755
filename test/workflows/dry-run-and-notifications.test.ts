import assert from 'node:assert/strict';
import type { Client, Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { WorkflowFailedError } from '@temporalio/client';
import type { InterruptionEvent } from '../../common/events.js';
import { interruptionSignal, statusQuery, workflowTypes } from '../../common/names.js';
import type { NotificationData } from '../../common/notification.js';
import type { TerminationStatus } from '../../common/status.js';
import { asgTerminateEvent, spotInterruptionEvent } from '../helpers/events.js';
import { stackClient, stackNativeConnection, uniqueTaskQueue } from '../helpers/temporal.js';
import { testWorker } from '../helpers/workflow-worker.js';
import { Recorder, stubActivities, type StubBehaviour } from './stub-activities.js';

describe('termination workflow: dry run, CORDON_ONLY and notifications', function () {
  this.timeout(60_000);
  let client: Client;
  let connection: Connection;
  let native: NativeConnection;

  before(async () => {
    ({ client, connection } = await stackClient());
    native = await stackNativeConnection();
  });
  after(async () => {
    await connection?.close();
    await native?.close();
  });

  async function run(event: InterruptionEvent, behaviour: StubBehaviour) {
    const rec = new Recorder();
    const taskQueue = uniqueTaskQueue('dry');
    const worker = await testWorker(native, taskQueue, stubActivities(rec, behaviour));
    return worker.runUntil(async () => {
      const handle = await client.workflow.signalWithStart(workflowTypes.termination, {
        taskQueue,
        workflowId: `dry-${taskQueue}`,
        args: [{ instanceId: event.instanceId }],
        signal: interruptionSignal,
        signalArgs: [event],
      });
      try {
        return { rec, status: (await handle.result()) as TerminationStatus, error: undefined };
      } catch (error) {
        return { rec, status: await handle.query(statusQuery), error };
      }
    });
  }

  it('in dry run changes nothing in AWS or Kubernetes and records every decision', async () => {
    const { rec, status } = await run(asgTerminateEvent(), {
      settings: { dryRun: true, webhookEnabled: true, emitKubernetesEvents: true, taintNode: true },
    });
    assert.equal(status.phase, 'Done');
    assert.equal(status.dryRun, true);
    assert.deepEqual(
      {
        prepared: rec.prepared,
        drains: rec.drains.length,
        heartbeats: rec.heartbeats.length,
        completions: rec.completions.length,
        webhooks: rec.webhooks.length,
        events: rec.nodeEvents.length,
      },
      { prepared: 0, drains: 0, heartbeats: 0, completions: 0, webhooks: 0, events: 0 },
    );
    const decisions = status.decisions.join('\n');
    assert.match(
      decisions,
      /dry run: cordon ip-10-0-1-23\.ec2\.internal, taint aws-node-termination-handler\/asg-lifecycle-termination=/,
    );
    assert.match(decisions, /dry run: drain ip-10-0-1-23\.ec2\.internal \(attempt 1\)/);
    assert.match(decisions, /dry run: complete lifecycle action of i-\w+ with CONTINUE/);
    assert.match(decisions, /dry run: would send the webhook/);
    assert.match(decisions, /dry run: would record event ASGLifecycle/);
  });

  it('with CORDON_ONLY cordons, does not drain, and still completes the lifecycle action', async () => {
    const { rec, status } = await run(asgTerminateEvent(), {
      settings: { cordonOnly: true, emitKubernetesEvents: true },
    });
    assert.equal(status.phase, 'Done');
    assert.equal(rec.prepared, 1);
    assert.equal(rec.drains.length, 0);
    assert.equal(rec.heartbeats.length, 0);
    assert.deepEqual(
      rec.completions.map((c) => c.result),
      ['CONTINUE'],
    );
    assert.deepEqual(rec.nodeEvents, [
      { reason: 'ASGLifecycle', type: 'Normal' },
      { reason: 'Cordon', type: 'Normal' },
    ]);
  });

  it('sends one webhook per event with NTH fields, and NTH events on the node', async () => {
    const event = spotInterruptionEvent();
    const { rec, status } = await run(event, { settings: { webhookEnabled: true, emitKubernetesEvents: true } });
    assert.equal(status.phase, 'Done');
    assert.equal(rec.heartbeats.length, 0, 'no lifecycle action, no heartbeat');
    assert.equal(rec.webhooks.length, 1);
    const data = rec.webhooks[0] as NotificationData;
    assert.equal(data.EventID, event.eventId);
    assert.equal(data.Kind, 'SPOT_ITN');
    assert.equal(data.InstanceID, event.instanceId);
    assert.equal(data.NodeName, 'ip-10-0-1-23.ec2.internal');
    assert.equal(data.StartTime, event.time);
    assert.deepEqual(data.Pods, ['default/app-1']);
    assert.equal(data.NodeProcessed, true);
    assert.deepEqual(rec.nodeEvents, [
      { reason: 'SpotInterruption', type: 'Normal' },
      { reason: 'CordonAndDrain', type: 'Normal' },
    ]);
  });

  it('reports a drain it gave up on as CordonAndDrainError, completes with ABANDON, and fails with a reason a person can act on', async () => {
    const { rec, status, error } = await run(asgTerminateEvent(), {
      drainFailures: 99,
      settings: { drainMaxAttempts: 2, emitKubernetesEvents: true, webhookEnabled: true },
    });
    assert.ok(error instanceof WorkflowFailedError);
    assert.match(
      String(error.cause?.message),
      /draining node ip-10-0-1-23\.ec2\.internal of i-\w+ failed after 2 attempt\(s\): pods left on the node \(attempt 2\)/,
    );
    assert.equal(status.phase, 'Failed');
    assert.deepEqual(
      rec.completions.map((c) => c.result),
      ['ABANDON'],
    );
    assert.deepEqual(rec.nodeEvents.at(-1), { reason: 'CordonAndDrainError', type: 'Warning' });
    assert.equal((rec.webhooks[0] as NotificationData).NodeProcessed, false);
    assert.equal(rec.heartbeatsRunning, 0);
  });
});
