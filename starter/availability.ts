import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { StarterMetrics } from './metrics.js';
import type { MessageQueue, QueueMessage } from './queue.js';

export interface AvailabilitySettings {
  /** How long a held message stays invisible; renewed well before it runs out. */
  holdVisibilitySeconds: number;
  /** First and largest wait between probes of Temporal while it is unavailable. */
  probeBackoffMs: { initial: number; max: number };
  /** Hand-offs a held message may fail while Temporal answers probes, before it goes back to the queue. */
  maxFailuresWhileHealthy: number;
}

export const defaultAvailabilitySettings: AvailabilitySettings = {
  holdVisibilitySeconds: 60,
  probeBackoffMs: { initial: 1_000, max: 15_000 },
  maxFailuresWhileHealthy: 5,
};

export interface AvailabilityDeps {
  queue: MessageQueue;
  logger: Logger;
  metrics: StarterMetrics;
  /** Resolves when Temporal answers (a health check), rejects when it does not. */
  probe(): Promise<void>;
  /** Hands the messages off again; resolves with the ones whose hand-off failed. */
  retry(messages: QueueMessage[]): Promise<QueueMessage[]>;
  onChange?(available: boolean): void;
}

interface Held {
  message: QueueMessage;
  failuresWhileHealthy: number;
}

/**
 * Temporal's availability as the starter sees it, and the messages it holds meanwhile. A refused
 * hand-off closes the gate: the pollers take no new messages, the messages whose hand-off failed stay
 * with this starter, kept invisible in the queue (their visibility renewed) instead of being received
 * again, and are handed off again once a probe of Temporal succeeds; the gate reopens when none is left.
 * Every receive counts toward the queue's maxReceiveCount: an outage costs time, never messages.
 */
export class TemporalAvailability {
  private readonly held = new Map<string, Held>();
  private keeper: Promise<void> | undefined;
  private closedAt: number | undefined;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly deps: AvailabilityDeps,
    private readonly signal: AbortSignal,
    private readonly settings: AvailabilitySettings = defaultAvailabilitySettings,
  ) {
    deps.metrics.temporalAvailable.set(1);
    deps.metrics.messagesHeld.set(0);
  }

  get available(): boolean {
    return this.closedAt === undefined;
  }

  /** Resolves once Temporal is available (at once when it is), or when the starter stops. */
  async whenAvailable(): Promise<void> {
    if (this.available || this.signal.aborted) return;
    await new Promise<void>((resolve) => {
      this.waiters.push(resolve);
      this.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  /** Takes messages whose hand-off failed; closes the gate until they are handed off. */
  async hold(messages: QueueMessage[]): Promise<void> {
    if (messages.length === 0) return;
    for (const message of messages) {
      if (!this.held.has(message.messageId)) this.held.set(message.messageId, { message, failuresWhileHealthy: 0 });
    }
    this.deps.metrics.messagesHeld.set(this.held.size);
    if (this.closedAt === undefined) {
      this.closedAt = Date.now();
      this.deps.metrics.temporalAvailable.set(0);
      this.deps.onChange?.(false);
      this.deps.logger.warn(
        { held: this.held.size },
        'Temporal is not accepting hand-offs: polling paused, the messages received are held invisible until it is back',
      );
    }
    await this.extend(messages);
    this.keeper ??= this.keep().finally(() => (this.keeper = undefined));
  }

  /** Resolves once the keeper has finished: everything held was handed off or given back. */
  async settled(): Promise<void> {
    await this.keeper;
  }

  private async keep(): Promise<void> {
    const { probeBackoffMs, holdVisibilitySeconds } = this.settings;
    const renewEveryMs = (holdVisibilitySeconds * 1000) / 3;
    let delayMs = probeBackoffMs.initial;
    let renewedAt = Date.now();
    while (this.held.size > 0) {
      if (this.signal.aborted) {
        await this.giveBack(
          [...this.held.values()].map((h) => h.message),
          0,
          'the starter is stopping',
        );
        break;
      }
      await sleep(Math.min(delayMs, renewEveryMs), undefined, { signal: this.signal }).catch(() => undefined);
      if (this.signal.aborted) continue;
      if (Date.now() - renewedAt >= renewEveryMs * 0.9) {
        await this.extend([...this.held.values()].map((h) => h.message));
        renewedAt = Date.now();
      }
      try {
        await this.deps.probe();
      } catch {
        delayMs = Math.min(delayMs * 2, probeBackoffMs.max);
        continue;
      }
      const failed = new Set(
        (await this.deps.retry([...this.held.values()].map((h) => h.message))).map((m) => m.messageId),
      );
      const tooMany: QueueMessage[] = [];
      for (const [id, held] of this.held) {
        if (!failed.has(id)) this.held.delete(id);
        else if (++held.failuresWhileHealthy >= this.settings.maxFailuresWhileHealthy) tooMany.push(held.message);
      }
      if (tooMany.length > 0) {
        await this.giveBack(tooMany, 30, 'their hand-offs keep failing although Temporal answers');
      }
      delayMs = failed.size === 0 ? probeBackoffMs.initial : Math.min(delayMs * 2, probeBackoffMs.max);
      this.deps.metrics.messagesHeld.set(this.held.size);
    }
    this.reopen();
  }

  private reopen(): void {
    const outageMs = Date.now() - (this.closedAt ?? Date.now());
    this.closedAt = undefined;
    this.deps.metrics.temporalAvailable.set(1);
    this.deps.metrics.messagesHeld.set(this.held.size);
    this.deps.onChange?.(true);
    if (!this.signal.aborted) {
      this.deps.logger.info(
        { outageSeconds: Math.round(outageMs / 1000) },
        'Temporal accepts hand-offs again: polling resumed',
      );
    }
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Keeps messages invisible for another holdVisibilitySeconds. */
  private async extend(messages: QueueMessage[]): Promise<void> {
    try {
      const failures = await this.deps.queue.retryAfter(messages, this.settings.holdVisibilitySeconds);
      // A message SQS would not extend (its receipt expired) comes back to some poller: no longer ours.
      for (const failure of failures) {
        this.held.delete(failure.messageId);
        this.deps.logger.warn(failure, 'could not keep a held message invisible; it will be received again');
      }
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'could not keep held messages invisible; they may be received again');
    }
  }

  /** Returns messages to the queue, visible after `seconds`: another receive, another starter. */
  private async giveBack(messages: QueueMessage[], seconds: number, why: string): Promise<void> {
    for (const message of messages) this.held.delete(message.messageId);
    this.deps.metrics.messagesHeld.set(this.held.size);
    this.deps.logger.warn({ messages: messages.length, why }, 'giving held messages back to the queue');
    await this.deps.queue.retryAfter(messages, seconds).catch((error: unknown) => {
      this.deps.logger.warn({ err: error }, 'could not give held messages back; their visibility timeout will');
    });
  }
}
