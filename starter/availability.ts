import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { StarterMetrics } from './metrics.js';
import type { MessageQueue, QueueMessage } from './queue.js';

export interface AvailabilitySettings {
  /** How long a held message stays invisible; renewed at a third of it, on a timer of its own. */
  holdVisibilitySeconds: number;
  /** First and largest wait between probes of Temporal while it is unavailable. */
  probeBackoffMs: { initial: number; max: number };
  /** Rounds a held message may fail while Temporal accepts other hand-offs, before it goes back to the queue. */
  maxFailuresWhileAccepting: number;
}

export const defaultAvailabilitySettings: AvailabilitySettings = {
  holdVisibilitySeconds: 60,
  probeBackoffMs: { initial: 1_000, max: 15_000 },
  maxFailuresWhileAccepting: 5,
};

export interface AvailabilityDeps {
  queue: MessageQueue;
  logger: Logger;
  metrics: StarterMetrics;
  /** Hands the messages off again; resolves with the ones whose hand-off failed. */
  retry(messages: QueueMessage[]): Promise<QueueMessage[]>;
  onChange?(available: boolean): void;
}

interface Held {
  message: QueueMessage;
  /** Rounds in which this message was the probe: the probe rotates, so one bad message cannot block. */
  probes: number;
  failuresWhileAccepting: number;
}

/**
 * Temporal's availability as the starter sees it, and the messages it holds meanwhile. A refused
 * hand-off closes the gate: the pollers take no new messages, the messages whose hand-off failed stay
 * with this starter, kept invisible in the queue (their visibility renewed on a timer) instead of being
 * received again, and each round one of them is handed off as the probe; once Temporal accepts it, the
 * gate reopens and the rest follow, while the pollers take new messages again. Every receive counts toward the queue's maxReceiveCount: an outage
 * costs time, never messages. A message whose hand-off keeps failing while Temporal accepts others
 * goes back to the queue (and, in the end, to its redrive policy).
 */
export class TemporalAvailability {
  private readonly held = new Map<string, Held>();
  private keeper: Promise<void> | undefined;
  private closedAt: number | undefined;
  private lastAcceptedAt: number | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly deps: AvailabilityDeps,
    private readonly signal: AbortSignal,
    private readonly settings: AvailabilitySettings = defaultAvailabilitySettings,
  ) {
    deps.metrics.temporalAvailable.set(1);
    deps.metrics.messagesHeld.set(0);
    signal.addEventListener('abort', () => this.wakeAll(), { once: true });
  }

  get available(): boolean {
    return this.closedAt === undefined;
  }

  /** Resolves once Temporal is available (at once when it is), or when the starter stops. */
  async whenAvailable(): Promise<void> {
    if (this.available || this.signal.aborted) return;
    await new Promise<void>((resolve) => this.waiters.add(resolve));
  }

  /** Takes messages whose hand-off failed; closes the gate until Temporal accepts hand-offs again. */
  async hold(messages: QueueMessage[]): Promise<void> {
    if (messages.length === 0) return;
    for (const message of messages) {
      // A message received again has a new receipt handle: only the newest can change its visibility.
      const known = this.held.get(message.messageId);
      this.held.set(message.messageId, { probes: 0, failuresWhileAccepting: 0, ...known, message });
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
    this.keeper ??= this.keep();
    await this.extend(messages);
  }

  /** Resolves once the keeper has finished: everything held was handed off or given back. */
  async settled(): Promise<void> {
    await this.keeper;
  }

  private async keep(): Promise<void> {
    const { holdVisibilitySeconds, probeBackoffMs } = this.settings;
    const renewal = setInterval(
      () => {
        void this.extend([...this.held.values()].map((h) => h.message));
      },
      (holdVisibilitySeconds * 1000) / 3,
    );
    let accepted = false;
    try {
      let delayMs = probeBackoffMs.initial;
      while (this.held.size > 0 && !this.signal.aborted) {
        await sleep(delayMs, undefined, { signal: this.signal }).catch(() => undefined);
        if (this.signal.aborted) break;
        try {
          if (await this.round()) {
            accepted = true;
            delayMs = probeBackoffMs.initial;
          } else {
            delayMs = Math.min(delayMs * 2, probeBackoffMs.max);
          }
        } catch (error) {
          this.deps.logger.error({ err: error }, 'unexpected failure retrying held messages; trying again');
          delayMs = Math.min(delayMs * 2, probeBackoffMs.max);
        }
      }
      if (this.signal.aborted && this.held.size > 0) {
        await this.giveBack(
          [...this.held.values()].map((h) => h.message),
          0,
          'the starter is stopping',
        );
      }
    } finally {
      clearInterval(renewal);
      this.keeper = undefined;
      // Still closed: SQS took every held message back before Temporal took one.
      this.reopen(accepted);
    }
  }

  /**
   * One probe of Temporal with a held message (the least tried), then, when Temporal took it, the rest.
   * Returns whether Temporal accepted the probe.
   */
  private async round(): Promise<boolean> {
    const order = [...this.held.values()].sort((a, b) => a.probes - b.probes);
    const probe = order[0];
    if (!probe) return true;
    probe.probes += 1;
    if ((await this.deps.retry([probe.message])).length > 0) {
      // Temporal took another message a moment ago: this one may be the problem, not Temporal.
      const acceptedRecently =
        this.lastAcceptedAt !== undefined && Date.now() - this.lastAcceptedAt < 2 * this.settings.probeBackoffMs.max;
      if (acceptedRecently && ++probe.failuresWhileAccepting >= this.settings.maxFailuresWhileAccepting) {
        await this.giveBack([probe.message], 30, 'its hand-off keeps failing while Temporal accepts others');
      }
      return false;
    }
    this.lastAcceptedAt = Date.now();
    this.held.delete(probe.message.messageId);
    // Temporal takes hand-offs again: the pollers resume now; the rest of what is held follows.
    this.reopen(true);
    // Only what was held when the round began: a message held meanwhile waits for the next round.
    const rest = order.slice(1);
    const failed = new Set((await this.deps.retry(rest.map((h) => h.message))).map((m) => m.messageId));
    const stubborn: QueueMessage[] = [];
    for (const held of rest) {
      if (!failed.has(held.message.messageId)) this.held.delete(held.message.messageId);
      else if (++held.failuresWhileAccepting >= this.settings.maxFailuresWhileAccepting) stubborn.push(held.message);
    }
    if (stubborn.length > 0)
      await this.giveBack(stubborn, 30, 'their hand-offs keep failing while Temporal accepts others');
    this.deps.metrics.messagesHeld.set(this.held.size);
    return true;
  }

  private reopen(accepted: boolean): void {
    if (this.closedAt === undefined) return;
    const outageSeconds = Math.round((Date.now() - this.closedAt) / 1000);
    this.closedAt = undefined;
    this.deps.metrics.temporalAvailable.set(1);
    this.deps.metrics.messagesHeld.set(this.held.size);
    this.deps.onChange?.(true);
    if (this.signal.aborted) {
      // Nothing to say: the starter is stopping.
    } else if (accepted) {
      this.deps.logger.info({ outageSeconds }, 'Temporal accepts hand-offs again: polling resumed');
    } else {
      this.deps.logger.warn(
        { outageSeconds },
        'no message held any more (SQS took them back): polling resumed to probe Temporal',
      );
    }
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /** Keeps messages invisible for another holdVisibilitySeconds. */
  private async extend(messages: QueueMessage[]): Promise<void> {
    if (messages.length === 0) return;
    try {
      const failures = await this.deps.queue.retryAfter(messages, this.settings.holdVisibilitySeconds);
      // A message SQS would not extend (its receipt expired) comes back to some poller: no longer ours.
      for (const failure of failures) {
        this.held.delete(failure.messageId);
        this.deps.logger.warn(failure, 'could not keep a held message invisible; it will be received again');
      }
      this.deps.metrics.messagesHeld.set(this.held.size);
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'could not keep held messages invisible; retrying at the next renewal');
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
