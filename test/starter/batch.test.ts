import assert from 'node:assert/strict';
import { TemporalAvailability } from '../../starter/availability.js';
import { processBatch, type BatchContext } from '../../starter/batch.js';
import { StarterMetrics } from '../../starter/metrics.js';
import { poll } from '../../starter/poller.js';
import { metricValue } from './metric-values.js';
import { badMessage, capturingLogger, deferred, FakeQueue, goodMessage, recordingHandOff } from './fakes.js';

function context(queue: FakeQueue, handOff: BatchContext['handOff']) {
  const { logger, lines } = capturingLogger();
  const metrics = new StarterMetrics();
  const ctx: BatchContext = { queue, handOff, metrics, logger };
  return { ctx, lines, metrics };
}

/** The availability gate over a fake queue, with short timings. */
function availabilityGate(ctx: BatchContext, signal: AbortSignal) {
  return new TemporalAvailability(
    {
      queue: ctx.queue,
      logger: ctx.logger,
      metrics: ctx.metrics,
      retry: (messages) => processBatch(messages, ctx),
    },
    signal,
    { holdVisibilitySeconds: 0.3, probeBackoffMs: { initial: 20, max: 40 }, maxFailuresWhileAccepting: 3 },
  );
}

describe('starter: one batch of messages', () => {
  it('deletes a message only after Temporal accepted every one of its events', async () => {
    const queue = new FakeQueue();
    // The scheduled change names two instances; Temporal refuses the second.
    const { accepted, handOff } = recordingHandOff(new Set(['i-0a1b2c3d4e5f60011']));
    const { ctx, metrics } = context(queue, handOff);
    const failed = await processBatch(
      [
        goodMessage('m-spot', 'spot-interruption.eventbridge.json'),
        goodMessage('m-health', 'scheduled-change.eventbridge.json'),
      ],
      ctx,
    );
    assert.deepEqual(queue.deleted, ['m-spot']);
    assert.deepEqual(
      failed.map((m) => m.messageId),
      ['m-health'],
      'the message whose hand-off failed goes back to the caller, to be held',
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

  it('leaves the lifecycle actions of hooks not in LIFECYCLE_HOOK_NAMES alone, deleting their messages as needing no action', async () => {
    const queue = new FakeQueue();
    const { accepted, handOff } = recordingHandOff();
    const { ctx, lines, metrics } = context(queue, handOff);
    const owned = 'tnth-terminate';
    ctx.ownsHook = (name) => name === owned;
    const other = goodMessage('m-other', 'asg-terminate.notification.json');
    other.body = other.body.replace(`"LifecycleHookName": "${owned}"`, '"LifecycleHookName": "other-tool-hook"');
    assert.ok(other.body.includes('other-tool-hook'));
    const failed = await processBatch([goodMessage('m-ours', 'asg-terminate.eventbridge.json'), other], ctx);
    assert.deepEqual(failed, []);
    assert.deepEqual(queue.deleted.sort(), ['m-other', 'm-ours']);
    assert.deepEqual(
      accepted.map((e) => 'lifecycleHookName' in e && e.lifecycleHookName),
      [owned],
      'only the owned hook was handed off',
    );
    assert.ok(lines.some((l) => /not in LIFECYCLE_HOOK_NAMES/.test(String(l.msg)) && l.hook === 'other-tool-hook'));
    assert.equal(await metricValue(metrics, 'tnth_starter_messages_deleted_total', { outcome: 'no-action' }), 1);
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
});

describe('starter: through a Temporal outage', () => {
  it('holds the messages whose hand-off failed invisible, takes no new ones, and hands them off once Temporal answers', async () => {
    const queue = new FakeQueue([
      [goodMessage('m1', 'spot-interruption.eventbridge.json')],
      [goodMessage('m2', 'rebalance-recommendation.eventbridge.json')],
    ]);
    const refuse = new Set(['i-0a1b2c3d4e5f60007']);
    const { handOff, accepted } = recordingHandOff(refuse);
    const { ctx, lines, metrics } = context(queue, handOff);
    const stop = new AbortController();
    const availability = availabilityGate(ctx, stop.signal);
    const polling = poll(ctx, availability, stop.signal);
    await waitUntil(() => !availability.available);
    assert.equal(await metricValue(metrics, 'tnth_starter_temporal_available'), 0);
    assert.equal(await metricValue(metrics, 'tnth_starter_messages_held'), 1);
    // The message is kept invisible again and again, and no poller receives meanwhile.
    await waitUntil(() => queue.retried.filter((r) => r.messageId === 'm1').length >= 3);
    assert.ok(queue.retried.every((r) => r.seconds === 0.3));
    assert.equal(queue.receives, 1, 'a poller received while Temporal was down');
    assert.deepEqual(queue.deleted, []);

    refuse.clear();
    await waitUntil(() => queue.deleted.includes('m1') && queue.deleted.includes('m2'));
    assert.ok(availability.available);
    assert.equal(await metricValue(metrics, 'tnth_starter_temporal_available'), 1);
    assert.deepEqual(accepted.map((e) => e.kind).sort(), ['rebalance-recommendation', 'spot-interruption']);
    const said = lines.map((l) => String(l.msg));
    assert.equal(said.filter((m) => m.startsWith('Temporal is not accepting')).length, 1, 'said once when it stopped');
    assert.equal(
      said.filter((m) => m.startsWith('Temporal accepts hand-offs again')).length,
      1,
      'said once when it resumed',
    );
    stop.abort();
    await polling;
  });

  it('gives a message back to the queue when its hand-off keeps failing while Temporal accepts others', async () => {
    const queue = new FakeQueue([
      [
        goodMessage('m-bad', 'spot-interruption.eventbridge.json'),
        goodMessage('m-good', 'rebalance-recommendation.eventbridge.json'),
      ],
    ]);
    // Temporal is down for both at first; then it takes every message but one.
    const refuse = new Set(['i-0a1b2c3d4e5f60007', 'i-0a1b2c3d4e5f60009']);
    const { handOff } = recordingHandOff(refuse);
    const { ctx } = context(queue, handOff);
    const stop = new AbortController();
    const availability = availabilityGate(ctx, stop.signal);
    const polling = poll(ctx, availability, stop.signal);
    await waitUntil(() => !availability.available);
    refuse.delete('i-0a1b2c3d4e5f60009');
    await waitUntil(() => queue.deleted.includes('m-good'));
    await waitUntil(() => queue.retried.some((r) => r.messageId === 'm-bad' && r.seconds === 30));
    await waitUntil(() => availability.available);
    assert.deepEqual(queue.deleted, ['m-good']);
    stop.abort();
    await polling;
  });

  it('hands off a message held while a round of retries was running, not dropping it', async () => {
    const queue = new FakeQueue();
    const accepted: string[] = [];
    let down = true;
    const roundStarted = deferred();
    const release = deferred();
    const { ctx } = context(queue, async (event) => {
      if (down) throw new Error('14 UNAVAILABLE: connect ECONNREFUSED');
      if (event.kind === 'spot-interruption') {
        roundStarted.resolve();
        await release.promise;
      }
      accepted.push(event.kind);
    });
    const stop = new AbortController();
    const availability = availabilityGate(ctx, stop.signal);
    await availability.hold([goodMessage('m1', 'spot-interruption.eventbridge.json')]);
    down = false;
    // The keeper's round is handing m1 off when m2 is held.
    await roundStarted.promise;
    await availability.hold([goodMessage('m2', 'rebalance-recommendation.eventbridge.json')]);
    release.resolve();
    await waitUntil(() => queue.deleted.length === 2);
    assert.ok(availability.available);
    await availability.settled();
    assert.deepEqual(accepted.sort(), ['rebalance-recommendation', 'spot-interruption']);
    assert.deepEqual(queue.deleted.sort(), ['m1', 'm2']);
    stop.abort();
  });

  it('gives held messages back at once when the starter stops, for another starter to take', async () => {
    const queue = new FakeQueue([[goodMessage('m1', 'spot-interruption.eventbridge.json')]]);
    const { handOff } = recordingHandOff(new Set(['i-0a1b2c3d4e5f60007']));
    const { ctx } = context(queue, handOff);
    const stop = new AbortController();
    const availability = availabilityGate(ctx, stop.signal);
    const polling = poll(ctx, availability, stop.signal);
    await waitUntil(() => !availability.available);
    stop.abort();
    await polling;
    await availability.settled();
    assert.deepEqual(queue.retried.at(-1), { messageId: 'm1', seconds: 0 });
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
    const polling = poll(ctx, availabilityGate(ctx, stop.signal), stop.signal).then(() => (finished = true));
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
    const polling = poll(ctx, availabilityGate(ctx, stop.signal), stop.signal);
    await new Promise((resolve) => setImmediate(resolve));
    const stopped = Date.now();
    stop.abort();
    await polling;
    assert.ok(Date.now() - stopped < 100);
  });
});

async function waitUntil(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
