// A Temporal outage of five minutes under a production queue (redrive after five receives): the
// starter takes no new messages while Temporal is away and keeps the ones it holds invisible, so
// every notice reaches its workflow afterwards and none goes to the dead-letter queue.
import assert from 'node:assert/strict';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { recommendedQueueAttributes } from '../../starter/queue-settings.js';
import { waitFor } from '../helpers/aws.js';
import { stackVar } from '../helpers/stack-env.js';
import { metricValue } from './metric-values.js';
import { messagesIn, queueWithRedrive, startStarter, useIntakeStack, withFreshInstances } from './stack.js';
import { TcpProxy } from './tcp-proxy.js';

const messages = 500;
const outageMs = 5 * 60_000;

describe('intake through a Temporal outage of five minutes, on the stack', function () {
  this.timeout(outageMs + 5 * 60_000);
  const stack = useIntakeStack();
  const { instanceIds, queueUrls } = stack;

  it('hands off all 500 notices once Temporal is back, with none in the dead-letter queue', async () => {
    const queue = await queueWithRedrive(
      stack.sqs,
      'tnth-outage',
      5,
      {
        MessageRetentionPeriod: String(recommendedQueueAttributes.MessageRetentionPeriod),
        VisibilityTimeout: String(recommendedQueueAttributes.VisibilityTimeout),
      },
      queueUrls,
    );
    const proxy = await TcpProxy.create(stackVar('TEMPORAL_ADDRESS'));
    // The starter's own defaults: backoff, hold visibility, pollers.
    const starter = startStarter(queue.url, { TEMPORAL_ADDRESS: proxy.address, STARTER_POLLERS: '4' });
    try {
      const bodies = Array.from({ length: messages }, () => {
        const { body, renamed } = withFreshInstances('spot-interruption.eventbridge.json');
        instanceIds.push(...renamed.values());
        return body;
      });
      for (let i = 0; i < bodies.length; i += 10) {
        await stack.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queue.url,
            Entries: bodies.slice(i, i + 10).map((MessageBody, n) => ({ Id: String(n), MessageBody })),
          }),
        );
      }
      const down = Date.now();
      await waitFor(
        'the starter to stop taking messages',
        async () => (await metricValue(starter.metrics, 'tnth_starter_temporal_available')) === 0,
        {
          timeoutMs: 60_000,
          intervalMs: 200,
        },
      );
      // The outage itself: Temporal unreachable for five minutes.
      await new Promise((resolve) => setTimeout(resolve, outageMs - (Date.now() - down)));
      const held = await metricValue(starter.metrics, 'tnth_starter_messages_held');
      const receivedDuringOutage = await metricValue(starter.metrics, 'tnth_starter_messages_received_total');
      await proxy.up();
      const back = Date.now();

      const count = async () => (await stack.client.workflow.count(`TaskQueue = "${starter.taskQueue}"`)).count;
      await waitFor('a workflow for every notice', async () => (await count()) === messages, {
        timeoutMs: 180_000,
        intervalMs: 1_000,
      });
      await waitFor('the queue to be empty', async () => (await messagesIn(stack.sqs, queue.url)) === 0, {
        timeoutMs: 60_000,
      });
      const received = await metricValue(starter.metrics, 'tnth_starter_messages_received_total');
      console.log(
        `    outage ${Math.round((back - down) / 1000)} s; ${held} messages held through it (${receivedDuringOutage} received before Temporal came back); ` +
          `${received} receives for ${messages} messages; all handed off ${Math.round((Date.now() - back) / 1000)} s after Temporal was back`,
      );
      assert.equal(await messagesIn(stack.sqs, queue.dlqUrl), 0, 'live notices in the dead-letter queue');
      assert.equal(received, messages, 'a message was received more than once');
      assert.equal(await metricValue(starter.metrics, 'tnth_starter_temporal_available'), 1);
    } finally {
      await starter.stop();
      await proxy.down();
    }
  });
});
