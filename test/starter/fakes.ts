import { pino, type Logger } from 'pino';
import type { InterruptionEvent } from '../../common/events.js';
import type { BatchFailure, MessageQueue, QueueMessage } from '../../starter/queue.js';
import { readBadFixture, readGoodFixture } from './fixtures.js';

/** A queue in memory: what was received, deleted and put back for retry. */
export class FakeQueue implements MessageQueue {
  readonly deleted: string[] = [];
  readonly retried: { messageId: string; seconds: number }[] = [];
  receives = 0;

  constructor(private readonly batches: QueueMessage[][] = []) {}

  async receive(signal: AbortSignal): Promise<QueueMessage[]> {
    this.receives += 1;
    const batch = this.batches.shift();
    if (batch) return batch;
    // Nothing left: a long poll that only ends when the starter stops.
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    throw Object.assign(new Error('aborted'), { name: 'AbortError' });
  }

  async delete(messages: QueueMessage[]): Promise<BatchFailure[]> {
    this.deleted.push(...messages.map((m) => m.messageId));
    return Promise.resolve([]);
  }

  async retryAfter(messages: QueueMessage[], seconds: number): Promise<BatchFailure[]> {
    this.retried.push(...messages.map((m) => ({ messageId: m.messageId, seconds })));
    return Promise.resolve([]);
  }
}

export function goodMessage(messageId: string, fixture: string): QueueMessage {
  return { messageId, receiptHandle: `rh-${messageId}`, body: readGoodFixture(fixture), receiveCount: 1 };
}

export function badMessage(messageId: string, fixture: string): QueueMessage {
  return { messageId, receiptHandle: `rh-${messageId}`, body: readBadFixture(fixture), receiveCount: 3 };
}

/** A logger whose JSON lines the test can read. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

/** A hand-off that records every event and fails for the instance ids in `refuse`. */
export function recordingHandOff(refuse: Set<string> = new Set()) {
  const accepted: InterruptionEvent[] = [];
  const handOff = async (event: InterruptionEvent): Promise<void> => {
    await Promise.resolve();
    if (refuse.has(event.instanceId)) throw new Error('14 UNAVAILABLE: connect ECONNREFUSED');
    accepted.push(event);
  };
  return { accepted, handOff };
}

export interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
