// A flood of hostile input on the stack's SQS: mutated and malformed bodies interleaved with good
// ones. The starter never crashes or stalls; every bad message is counted by reason and ends in the
// dead-letter queue after maxReceiveCount receives; every good one is handed off; none is lost.
import assert from 'node:assert/strict';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { parseMessage } from '../../starter/messages/parse.js';
import { waitFor } from '../helpers/aws.js';
import { readGoodFixture } from './fixtures.js';
import { metricValue } from './metric-values.js';
import { messagesIn, queueWithRedrive, startStarter, useIntakeStack, withFreshInstances } from './stack.js';

const maxReceiveCount = 2;
const goodCount = 100;

/** Ways a real body goes bad: each mutation of each fixture, deterministic. */
const mutations: [string, (body: string) => string][] = [
  ['truncated', (body) => body.slice(0, Math.floor(body.length / 2))],
  ['wrong type', (body) => body.replace(/"(i-[0-9a-f]{17})"/, '42')],
  ['unknown source', (body) => body.replace(/"source": ?"[^"]+"/, '"source":"aws.nothing"')],
  ['missing field', (body) => JSON.stringify(withoutField(JSON.parse(body) as Record<string, unknown>))],
  ['large garbage', (body) => `${body.slice(0, 100)}${'x'.repeat(200_000)}`],
  ['SNS around garbage', () => JSON.stringify({ Type: 'Notification', MessageId: 'x', Message: '{not json' })],
  ['not an object', () => '[1,2,3]'],
  ['empty', () => ''],
  ['not text SQS forbids, but odd', () => '\uFFFD\u00e9\u2028'],
];

function withoutField(document: Record<string, unknown>): Record<string, unknown> {
  const detail = document.detail as Record<string, unknown> | undefined;
  if (detail) {
    const [first] = Object.keys(detail);
    if (first) delete detail[first];
    return document;
  }
  const [first] = Object.keys(document);
  if (first) delete document[first];
  return document;
}

describe('intake under a flood of bad input, on the stack', function () {
  this.timeout(300_000);
  const stack = useIntakeStack();
  const { instanceIds, queueUrls } = stack;

  it('hands off every good message and sends every bad one to the dead-letter queue, without a crash or a stall', async () => {
    // Bad messages come back after a second, so the redrive happens within the test.
    const { url, dlqUrl } = await queueWithRedrive(
      stack.sqs,
      'tnth-flood',
      maxReceiveCount,
      { VisibilityTimeout: '1' },
      queueUrls,
    );

    const fixtures = [
      'spot-interruption.eventbridge.json',
      'asg-terminate.notification.json',
      'asg-terminate.sns.json',
      'scheduled-change.eventbridge.json',
      'state-change.stopping.eventbridge.json',
    ];
    const bad: string[] = [];
    for (const fixture of fixtures) {
      for (const [, mutate] of mutations) {
        const body = mutate(readGoodFixture(fixture));
        if (!parseMessage(body || ' ').ok) bad.push(body || ' ');
      }
    }
    const good = Array.from({ length: goodCount }, () => {
      const { body, renamed } = withFreshInstances('spot-interruption.eventbridge.json');
      instanceIds.push(...renamed.values());
      return body;
    });
    // Interleaved: a bad one after every few good ones.
    const bodies: string[] = [];
    good.forEach((body, i) => {
      bodies.push(body);
      const next = bad[i % bad.length];
      if (i < bad.length && next !== undefined) bodies.push(next);
    });
    const badSent = Math.min(bad.length, good.length);

    const starter = startStarter(url, { STARTER_POLLERS: '4' });
    try {
      for (let i = 0; i < bodies.length; i += 10) {
        // Oversized bodies go alone: a batch has the same size limit as one message.
        for (const chunk of chunked(bodies.slice(i, i + 10))) {
          await stack.sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: url,
              Entries: chunk.map((MessageBody, n) => ({ Id: String(n), MessageBody })),
            }),
          );
        }
      }
      const count = async () => (await stack.client.workflow.count(`TaskQueue = "${starter.taskQueue}"`)).count;
      await waitFor('every good message handed off', async () => (await count()) === goodCount, {
        timeoutMs: 120_000,
        intervalMs: 1_000,
      });
      await waitFor(
        'every bad message in the dead-letter queue',
        async () => (await messagesIn(stack.sqs, dlqUrl)) === badSent,
        {
          timeoutMs: 120_000,
          intervalMs: 500,
        },
      );
      await waitFor('the queue to be empty', async () => (await messagesIn(stack.sqs, url)) === 0, {
        timeoutMs: 30_000,
      });
      const rejected = (await starter.metrics.registry.getMetricsAsJSON()).find(
        (m) => m.name === 'tnth_starter_messages_rejected_total',
      );
      const byReason = new Map<string, number>();
      for (const value of rejected?.values ?? []) {
        const reason = String(value.labels.reason);
        byReason.set(reason, (byReason.get(reason) ?? 0) + value.value);
      }
      console.log(
        `    sent ${goodCount} good and ${badSent} bad; handed off ${await metricValue(starter.metrics, 'tnth_starter_events_handed_off_total')} events; ` +
          `rejected (per receive) ${[...byReason].map(([r, n]) => `${r} ${n}`).join(', ')}; in the dead-letter queue ${await messagesIn(stack.sqs, dlqUrl)}`,
      );
      assert.equal(
        await metricValue(starter.metrics, 'tnth_starter_messages_rejected_total'),
        badSent * maxReceiveCount,
      );
      assert.equal(await metricValue(starter.metrics, 'tnth_starter_temporal_available'), 1, 'the starter stalled');
    } finally {
      await starter.stop();
    }
  });
});

/** Splits a batch so that no request carries more than SQS's batch limit. */
function chunked(bodies: string[]): string[][] {
  const chunks: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const body of bodies) {
    const bytes = Buffer.byteLength(body) || 1;
    if (current.length > 0 && size + bytes > 200_000) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(body);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
