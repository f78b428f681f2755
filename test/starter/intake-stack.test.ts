import assert from 'node:assert/strict';
import { CreateQueueCommand, DeleteQueueCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Client, Connection } from '@temporalio/client';
import type { InterruptionEvent } from '../../common/events.js';
import { searchAttributes } from '../../common/search-attributes.js';
import { workflowFor } from '../../starter/routing.js';
import { awsClients, createQueue, uniqueName, waitFor, type QueueRef } from '../helpers/aws.js';
import { stackVar, testCluster } from '../helpers/stack-env.js';
import { stackClient } from '../helpers/temporal.js';
import { readBadFixture } from './fixtures.js';
import { goodMessages } from './message-expectations.js';
import { metricValue } from './metric-values.js';
import {
  executionsOf,
  exists,
  messagesIn,
  send,
  signalledEvents,
  startStarter,
  terminateAll,
  withFreshInstances,
  type RunningStarter,
} from './stack.js';
import { TcpProxy } from './tcp-proxy.js';

/** The expected events of a fixture, with its instance ids renamed as in the body that was sent. */
function expectedEvents(fixture: string, renamed: Map<string, string>): InterruptionEvent[] {
  return (goodMessages[fixture]?.events ?? []).map((event) => ({
    ...event,
    instanceId: renamed.get(event.instanceId) ?? event.instanceId,
  }));
}

describe('intake against the stack: SQS (AWS emulator) and Temporal', function () {
  this.timeout(120_000);
  let client: Client;
  let connection: Connection;
  let sqs: SQSClient;
  const instanceIds = new Set<string>();
  const queues: string[] = [];

  before(async () => {
    ({ client, connection } = await stackClient());
    sqs = awsClients().sqs;
  });

  after(async () => {
    await terminateAll(client, instanceIds);
    await Promise.all(queues.map((url) => sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => undefined)));
    await connection?.close();
  });

  async function newQueue(prefix: string): Promise<QueueRef> {
    const queue = await createQueue(sqs, prefix);
    queues.push(queue.url);
    return queue;
  }

  describe('each message kind and format starts exactly one workflow per instance it names', () => {
    let queue: QueueRef;
    let starter: RunningStarter;

    before(async () => {
      queue = await newQueue('intake-kinds');
      starter = startStarter(queue.url);
    });
    after(async () => {
      await starter?.stop();
    });

    for (const [fixture, { events }] of Object.entries(goodMessages).filter(([, m]) => m.events.length > 0)) {
      it(`${fixture}: ${events.map((e) => `${e.kind} -> ${workflowFor(testCluster, e).workflowType}`).join(', ')}`, async () => {
        const { body, renamed } = withFreshInstances(fixture);
        renamed.forEach((fresh) => instanceIds.add(fresh));
        await send(sqs, queue.url, body);
        for (const event of expectedEvents(fixture, renamed)) {
          const { workflowId, workflowType } = workflowFor(testCluster, event);
          const handle = client.workflow.getHandle(workflowId);
          await waitFor(`${workflowId} to start`, () => exists(handle));
          const description = await handle.describe();
          assert.equal(description.type, workflowType);
          assert.equal(description.taskQueue, starter.taskQueue);
          assert.equal(description.typedSearchAttributes.get(searchAttributes.instanceId), event.instanceId);
          assert.equal(description.typedSearchAttributes.get(searchAttributes.interruptionKind), event.kind);
          if ('autoScalingGroupName' in event) {
            assert.equal(
              description.typedSearchAttributes.get(searchAttributes.autoScalingGroupName),
              event.autoScalingGroupName,
            );
          }
          assert.deepEqual(await signalledEvents(handle), [event]);
          const executions = await waitFor(`${event.instanceId} in visibility`, async () => {
            const found = await executionsOf(client, event.instanceId);
            return found.length > 0 && found;
          });
          assert.equal(executions.length, 1, `one workflow for ${event.instanceId}`);
        }
      });
    }

    it('deletes messages that need no action and starts nothing for them', async () => {
      const noAction = Object.entries(goodMessages).filter(([, m]) => m.events.length === 0);
      const sent = await Promise.all(
        noAction.map(async ([fixture]) => {
          const { body, renamed } = withFreshInstances(fixture);
          renamed.forEach((fresh) => instanceIds.add(fresh));
          await send(sqs, queue.url, body);
          return [...renamed.values()];
        }),
      );
      await waitFor('the queue to be empty', async () => (await messagesIn(sqs, queue.url)) === 0);
      assert.ok(
        (await metricValue(starter.metrics, 'tnth_starter_messages_deleted_total', { outcome: 'no-action' })) >=
          noAction.length,
      );
      for (const instanceId of sent.flat()) {
        assert.deepEqual(await executionsOf(client, instanceId), [], instanceId);
      }
    });
  });

  it('starts one workflow for a message delivered five times, and delivers each copy to it', async () => {
    const queue = await newQueue('intake-dup');
    const { body, renamed } = withFreshInstances('asg-terminate.notification.json');
    const [instanceId] = [...renamed.values()];
    assert.ok(instanceId);
    instanceIds.add(instanceId);
    // Five copies in the queue at once: concurrent pollers hand them off in parallel, the hardest case.
    for (let copy = 0; copy < 5; copy++) await send(sqs, queue.url, body);
    const starter = startStarter(queue.url, { STARTER_POLLERS: '4' });
    try {
      await waitFor(
        'five hand-offs',
        async () => (await metricValue(starter.metrics, 'tnth_starter_events_handed_off_total')) >= 5,
      );
      await waitFor('the queue to be empty', async () => (await messagesIn(sqs, queue.url)) === 0);
    } finally {
      await starter.stop();
    }
    const [event] = expectedEvents('asg-terminate.notification.json', renamed);
    const handle = client.workflow.getHandle(workflowFor(testCluster, event!).workflowId);
    const signalled = await signalledEvents(handle);
    assert.equal(signalled.length, 5);
    assert.equal(new Set(signalled.map((e) => e.eventId)).size, 1, 'every copy carries the same event id');
    const executions = await waitFor('the workflow in visibility', async () => {
      const found = await executionsOf(client, instanceId);
      return found.length > 0 && found;
    });
    assert.equal(executions.length, 1);
  });

  it('holds a message while Temporal is unreachable and hands it off once Temporal is back, without crashing', async () => {
    const queue = await newQueue('intake-outage');
    const proxy = await TcpProxy.create(stackVar('TEMPORAL_ADDRESS'));
    const starter = startStarter(
      queue.url,
      { TEMPORAL_ADDRESS: proxy.address },
      { temporalBackoff: { initialMs: 200, maxMs: 1_000 }, handOffTimeoutMs: 2_000 },
    );
    const failures = () => metricValue(starter.metrics, 'tnth_starter_hand_off_failures_total');
    const held = () => metricValue(starter.metrics, 'tnth_starter_messages_held');
    try {
      for (const phase of ['down from the start', 'down after having been up']) {
        const { body, renamed } = withFreshInstances('spot-interruption.eventbridge.json');
        const [instanceId] = [...renamed.values()];
        assert.ok(instanceId);
        instanceIds.add(instanceId);
        const handle = client.workflow.getHandle(
          workflowFor(testCluster, expectedEvents('spot-interruption.eventbridge.json', renamed)[0]!).workflowId,
        );
        const failedBefore = await failures();
        await send(sqs, queue.url, body);
        await waitFor(`a refused hand-off (Temporal ${phase})`, async () => (await failures()) >= failedBefore + 1, {
          timeoutMs: 30_000,
        });
        await waitFor('the starter to hold the message', async () => (await held()) === 1, { timeoutMs: 30_000 });
        assert.equal(await metricValue(starter.metrics, 'tnth_starter_temporal_available'), 0);
        assert.equal(await messagesIn(sqs, queue.url), 1, 'the message stays in the queue');
        assert.equal(await exists(handle), false);
        assert.equal(
          await metricValue(starter.metrics, 'tnth_starter_messages_deleted_total'),
          phase.startsWith('down from') ? 0 : 1,
        );

        await proxy.up();
        await waitFor('the hand-off once Temporal is back', () => exists(handle), {
          timeoutMs: 30_000,
          intervalMs: 200,
        });
        await waitFor('the message to be deleted', async () => (await messagesIn(sqs, queue.url)) === 0, {
          timeoutMs: 30_000,
        });
        await proxy.down();
      }
    } finally {
      await starter.stop();
      await proxy.down();
    }
  });

  it('leaves bad messages to the redrive policy, which moves them to the dead-letter queue, while the starter keeps handing off', async () => {
    const deadLetters = await newQueue('intake-dlq');
    const maxReceiveCount = 2;
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: uniqueName('intake-redrive'),
        Attributes: {
          // Short, so the bad messages come back quickly; the starter does not touch their visibility.
          VisibilityTimeout: '1',
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetters.arn, maxReceiveCount }),
        },
      }),
    );
    assert.ok(QueueUrl);
    queues.push(QueueUrl);
    const badBodies = [readBadFixture('malformed-json.json'), readBadFixture('spot-missing-instance-id.json')];
    for (const body of badBodies) await send(sqs, QueueUrl, body);
    const starter = startStarter(QueueUrl);
    try {
      await waitFor(
        'both bad messages in the dead-letter queue',
        async () => (await messagesIn(sqs, deadLetters.url)) === 2,
        {
          timeoutMs: 60_000,
          intervalMs: 250,
        },
      );
      const rejected = await metricValue(starter.metrics, 'tnth_starter_messages_rejected_total');
      assert.ok(rejected >= badBodies.length * maxReceiveCount, `rejected ${rejected} times`);
      assert.equal(
        (await metricValue(starter.metrics, 'tnth_starter_messages_rejected_total', { reason: 'malformed-json' })) >=
          maxReceiveCount,
        true,
      );
      assert.equal(
        await metricValue(starter.metrics, 'tnth_starter_messages_deleted_total'),
        0,
        'no bad message deleted',
      );

      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: deadLetters.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      assert.deepEqual(
        Messages.map((m) => m.Body).sort(),
        [...badBodies].sort(),
        'the dead-letter queue holds the bodies unchanged',
      );

      // The same starter still works.
      const { body, renamed } = withFreshInstances('rebalance-recommendation.eventbridge.json');
      renamed.forEach((fresh) => instanceIds.add(fresh));
      await send(sqs, QueueUrl, body);
      const [event] = expectedEvents('rebalance-recommendation.eventbridge.json', renamed);
      await waitFor('a good message after the bad ones', () =>
        exists(client.workflow.getHandle(workflowFor(testCluster, event!).workflowId)),
      );
      await waitFor('the queue to be empty', async () => (await messagesIn(sqs, QueueUrl)) === 0);
    } finally {
      await starter.stop();
    }
  });
});
