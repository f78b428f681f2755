import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff } from './backoff.js';
import type { TemporalAvailability } from './availability.js';
import { processBatch, type BatchContext } from './batch.js';
import type { Reachability } from '../common/reachability.js';

/** SQS itself failing (throttling, network): each poller backs off on its own, 1 s up to 30 s. */
const receiveBackoff = { initialMs: 1_000, maxMs: 30_000 };

/**
 * One long-polling loop. Stops receiving when `signal` aborts (an in-flight long poll is abandoned), but
 * a batch already received is finished: its hand-offs complete and its messages are deleted.
 */
export async function poll(
  context: BatchContext,
  availability: TemporalAvailability,
  signal: AbortSignal,
  sqs?: Reachability,
): Promise<void> {
  const sqsBackoff = new Backoff(receiveBackoff.initialMs, receiveBackoff.maxMs);
  while (!signal.aborted) {
    // While Temporal is unavailable no poller takes new messages.
    await availability.whenAvailable();
    if (signal.aborted) break;
    let messages;
    try {
      messages = await context.queue.receive(signal);
      sqsBackoff.success();
      sqs?.succeeded();
    } catch (error) {
      if (signal.aborted) break;
      sqs?.failed(error);
      const delay = sqsBackoff.failure();
      context.metrics.nthEventErrors.inc(context.metrics.nthMonitorError);
      context.logger.error({ err: error, retryInMs: delay }, 'receiving from SQS failed');
      await sleep(delay, undefined, { signal }).catch(() => undefined);
      continue;
    }
    if (messages.length > 0) {
      // Counted here, once per receive: a held message handed off again is not received again.
      context.metrics.received.inc(messages.length);
      context.metrics.receiveBatchSize.observe(messages.length);
      const failed = await processBatch(messages, context).catch((error: unknown) => {
        context.logger.error({ err: error }, 'unexpected failure handling a batch; its messages will come back');
        return [];
      });
      await availability.hold(failed);
    }
  }
}
