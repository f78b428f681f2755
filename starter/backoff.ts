import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Exponential backoff with jitter, shared by the pollers: when Temporal refuses one hand-off, every poller
 * pauses instead of each finding out on its own, and the first success resumes them all.
 */
export class Backoff {
  private failures = 0;
  private pausedUntil = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {}

  /** Records a failure; returns how long everyone now waits. */
  failure(): number {
    this.failures += 1;
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** (this.failures - 1));
    // Full jitter on the upper half keeps restarted starters from retrying in lockstep.
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + delay);
    return delay;
  }

  success(): void {
    this.failures = 0;
    this.pausedUntil = 0;
  }

  /** Waits out the current pause; returns early, without throwing, when `signal` aborts. */
  async wait(signal: AbortSignal): Promise<void> {
    const remaining = this.pausedUntil - Date.now();
    if (remaining <= 0 || signal.aborted) return;
    await sleep(remaining, undefined, { signal }).catch(() => undefined);
  }
}
