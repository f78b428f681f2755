import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { nthEventId, type NotificationData } from '../../common/notification.js';
import { asgTerminateEvent, spotInterruptionEvent } from '../helpers/events.js';
import { runTermination, useStack } from './harness.js';

describe('termination workflow: dry run, CORDON_ONLY and notifications', function () {
  this.timeout(60_000);
  const stack = useStack();

  it('in dry run changes nothing in AWS or Kubernetes, and records and logs each thing it would do, with the event and the instance', async () => {
    const event = asgTerminateEvent();
    const { rec, status } = await runTermination(
      stack,
      { settings: { dryRun: true, webhookEnabled: true, emitKubernetesEvents: true, taintNode: true } },
      { event },
    );
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
    assert.equal(rec.rehearsals, 1, 'the dry run read the pods of the node once');
    // One decision each, in the status and as one log line each, naming the event and the instance.
    const node = 'ip-10-0-1-23.ec2.internal';
    const eventId = nthEventId(event);
    const wanted = [
      `would cordon node ${node}`,
      `would taint node ${node} with aws-node-termination-handler/asg-lifecycle-termination=${eventId.slice(0, 63)}:NoSchedule`,
      `would label node ${node} with node.kubernetes.io/exclude-from-external-load-balancers=aws-node-termination-handler`,
      `would evict pod default/app-1 from node ${node}`,
      `would evict pod default/app-2 from node ${node}`,
      `would leave pod kube-system/node-agent-x (DaemonSet) on node ${node}`,
      `would drain node ${node} (attempt 1)`,
      `would complete lifecycle action of ${event.instanceId} (test-hook) with CONTINUE`,
      `would send the webhook for event ${eventId}`,
    ];
    for (const line of wanted) {
      assert.ok(status.decisions.includes(`dry run: ${line}`), `status.decisions lacks "dry run: ${line}"`);
      const logged = rec.logs.filter((l) => l.message === line);
      assert.equal(logged.length, 1, `log lines "${line}": ${logged.length}`);
      const { dryRun, instanceId, eventIds, workflowId } = logged[0]!.attrs;
      assert.deepEqual(
        { dryRun, instanceId, eventIds },
        { dryRun: true, instanceId: event.instanceId, eventIds: [eventId] },
      );
      assert.match(String(workflowId), /^termination-/, 'the line names its workflow');
      assert.equal(logged[0]!.level, 'info');
    }
    assert.ok(
      rec.logs.some((l) => l.message.startsWith('would record event ASGLifecycle on node')),
      'the Kubernetes event it would record',
    );
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
