import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { nthEventId, type NotificationData } from '../../common/notification.js';
import { spotInterruptionEvent } from '../helpers/events.js';
import { runTermination, useStack } from './harness.js';

describe('termination workflow: dry run, CORDON_ONLY and notifications', function () {
  this.timeout(60_000);
  const stack = useStack();

  it('in dry run changes nothing in AWS or Kubernetes and records every decision', async () => {
    const { rec, status } = await runTermination(stack, {
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
    assert.match(decisions, /dry run: complete lifecycle action of i-\w+ \(test-hook\) with CONTINUE/);
    assert.match(decisions, /dry run: would send the webhook/);
    assert.match(decisions, /dry run: would record event ASGLifecycle/);
  });

  it('with CORDON_ONLY cordons, does not drain, and still completes the lifecycle action', async () => {
    const { rec, status } = await runTermination(stack, {
      settings: { cordonOnly: true, emitKubernetesEvents: true },
    });
    assert.equal(status.phase, 'Done');
    assert.equal(rec.prepared, 1);
    assert.equal(rec.drains.length, 0);
    assert.equal(rec.heartbeatsRunning, 0);
    assert.ok(
      rec.heartbeats.every((h) => h.end! <= rec.completions[0]!.at),
      'a loop ran into the completion',
    );
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
    const { rec, status } = await runTermination(
      stack,
      { settings: { webhookEnabled: true, emitKubernetesEvents: true } },
      { event },
    );
    assert.equal(status.phase, 'Done');
    assert.equal(rec.heartbeats.length, 0, 'no lifecycle action, no heartbeat');
    assert.equal(rec.webhooks.length, 1);
    const data = rec.webhooks[0] as NotificationData;
    // NTH's event id: its prefix and the EventBridge id in hexadecimal (pkg/monitor/sqsevent/spot-itn-event.go).
    assert.equal(data.EventID, `spot-itn-event-${Buffer.from(event.eventId).toString('hex')}`);
    assert.equal(data.EventID, nthEventId(event));
    assert.equal(data.Kind, 'SPOT_ITN');
    assert.equal(data.InstanceID, event.instanceId);
    assert.equal(data.NodeName, 'ip-10-0-1-23.ec2.internal');
    assert.equal(data.StartTime, event.time);
    assert.deepEqual(data.Pods, ['app-1'], "NTH's pod names, without their namespace");
    assert.equal(data.AvailabilityZone, 'us-east-1a', "the instance's node metadata, from EC2");
    assert.equal(data.NodeProcessed, true);
    assert.deepEqual(rec.nodeEvents, [
      { reason: 'SpotInterruption', type: 'Normal' },
      { reason: 'CordonAndDrain', type: 'Normal' },
    ]);
  });

  it('reports a drain it gave up on as CordonAndDrainError, completes with ABANDON, and fails with a reason a person can act on', async () => {
    const { rec, status, error } = await runTermination(stack, {
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
