import assert from 'node:assert/strict';
import { Backoff } from '../../starter/backoff.js';
import { processBatch, type BatchContext } from '../../starter/batch.js';
import { StarterMetrics } from '../../starter/metrics.js';
import { poll } from '../../starter/poller.js';
import { metricValue } from './metric-values.js';
import { badMessage, capturingLogger, deferred, FakeQueue, goodMessage, recordingHandOff } from './fakes.js';

function context(queue: FakeQueue, handOff: BatchContext['handOff'], backoff = new Backoff(1_000, 60_000)) {
  const { logger, lines } = capturingLogger();
  const metrics = new StarterMetrics();
  const ctx: BatchContext = { queue, handOff, backoff, metrics, logger };
  return { ctx, lines, metrics };
}

describe('starter: one batch of messages', () => {
  it('deletes a message only after Temporal accepted every one of its events', async () => {
    const queue = new FakeQueue();
    // The scheduled change names two instances; Temporal refuses the second.
    const { accepted, handOff } = recordingHandOff(new Set(['i-0a1b2c3d4e5f60011']));
    const { ctx, metrics } = context(queue, handOff);
    await processBatch(
      [
        goodMessage('m-spot', 'spot-interruption.eventbridge.json'),
        goodMessage('m-health', 'scheduled-change.eventbridge.json'),
      ],
      ctx,
    );
    assert.deepEqual(queue.deleted, ['m-spot']);
    assert.deepEqual(
      queue.retried.map((r) => r.messageId),
      ['m-health'],
    );
    assert.deepEqual(accepted.map((e) => e.instanceId).sort(), ['i-0a1b2c3d4e5f60007', 'i-0a1b2c3d4e5f60010']);
    assert.equal(await metricValue(metrics, 'tnth_starter_hand_off_failures_total', { kind: 'scheduled-change' }), 1);
  });

  it('does not delete a message while its hand-off is still in flight', async () => {
    const queue = new FakeQueue();
    const gate = deferred();
    const { ctx } = context(queue, () => gate.promise);
    const done = processBatch([goodMessage('m1', 'rebalance-recommendation.eventbridge.json')], ctx);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(queue.deleted, []);
    gate.resolve();
    await done;
    assert.deepEqual(queue.deleted, ['m1']);
  });

  it('deletes messages that need no action, with a log line, without handing anything off', async () => {
    const queue = new FakeQueue();
    const { accepted, handOff } = recordingHandOff();
    const { ctx, lines, metrics } = context(queue, handOff);
    await processBatch(
      [
        goodMessage('m-test', 'asg-test-notification.sns.json'),
        goodMessage('m-running', 'state-change.running.eventbridge.json'),
      ],
      ctx,
    );
    assert.deepEqual(queue.deleted.sort(), ['m-running', 'm-test']);
    assert.deepEqual(accepted, []);
    assert.ok(lines.some((l) => l.messageId === 'm-test' && /no action/.test(String(l.msg))));
    assert.equal(await metricValue(metrics, 'tnth_starter_messages_deleted_total', { outcome: 'no-action' }), 2);
  });

  it('leaves bad messages for the redrive policy, counted by kind and reason and logged with their message id', async () => {
    const queue = new FakeQueue();
    const { handOff } = recordingHandOff();
    const { ctx, lines, metrics } = context(queue, handOff);
    await processBatch(
      [badMessage('m-json', 'malformed-json.json'), badMessage('m-spot', 'spot-missing-instance-id.json')],
      ctx,
    );
    assert.deepEqual(queue.deleted, []);
    assert.deepEqual(queue.retried, []);
    assert.equal(await metricValue(metrics, 'tnth_starter_messages_rejected_total', { reason: 'malformed-json' }), 1);
    assert.equal(
      await metricValue(metrics, 'tnth_starter_messages_rejected_total', {
        kind: 'spot-interruption',
        reason: 'missing-field',
      }),
      1,
    );
    const logged = lines.find((l) => l.messageId === 'm-spot');
    assert.equal(logged?.path, 'detail.instance-id');
    assert.equal(logged?.receiveCount, 3);
  });

  it('backs off after a refused hand-off and resumes at full speed after the next success', async () => {
    const queue = new FakeQueue();
    const refuse = new Set(['i-0a1b2c3d4e5f60007']);
    const { handOff } = recordingHandOff(refuse);
    const { ctx } = context(queue, handOff, new Backoff(200, 2_000));
    await processBatch([goodMessage('m1', 'spot-interruption.eventbridge.json')], ctx);
    await processBatch([goodMessage('m1', 'spot-interruption.eventbridge.json')], ctx);
    const [first, second] = queue.retried;
    assert.ok(first && second && first.seconds >= 1 && second.seconds >= first.seconds, JSON.stringify(queue.retried));
    const paused = Date.now();
    refuse.clear();
    await ctx.backoff.wait(new AbortController().signal);
    assert.ok(Date.now() - paused >= 90, 'pollers wait out the pause');
    await processBatch([goodMessage('m1', 'spot-interruption.eventbridge.json')], ctx);
    const resumed = Date.now();
    await ctx.backoff.wait(new AbortController().signal);
    assert.ok(Date.now() - resumed < 50, 'a success ends the pause');
    assert.deepEqual(queue.deleted, ['m1']);
  });
});

describe('starter: poller shutdown', () => {
  it('stops receiving when asked to stop but finishes the hand-offs of the batch in flight', async () => {
    const queue = new FakeQueue([[goodMessage('m1', 'spot-interruption.eventbridge.json')]]);
    const gate = deferred();
    const started = deferred();
    const { ctx } = context(queue, async () => {
      started.resolve();
      await gate.promise;
    });
    const stop = new AbortController();
    let finished = false;
    const polling = poll(ctx, stop.signal).then(() => (finished = true));
    await started.promise;
    stop.abort();
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(finished, false, 'the poller waits for the hand-off in flight');
    gate.resolve();
    await polling;
    assert.deepEqual(queue.deleted, ['m1']);
    assert.equal(queue.receives, 1, 'no receive after the stop');
  });

  it('abandons an idle long poll at once when asked to stop', async () => {
    const queue = new FakeQueue();
    const { handOff } = recordingHandOff();
    const { ctx } = context(queue, handOff);
    const stop = new AbortController();
    const polling = poll(ctx, stop.signal);
    await new Promise((resolve) => setImmediate(resolve));
    const stopped = Date.now();
    stop.abort();
    await polling;
    assert.ok(Date.now() - stopped < 100);
  });
});
