// What the processes last saw of the services they need (Temporal, SQS): the readiness probes answer
// from it, so a process cut off from one of them stops being Ready and says which and why.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { ProbeResult } from './http-server.js';

export class Reachability {
  private lastOkAt: number | undefined;
  private failingSince: number | undefined;
  private lastError: string | undefined;
  /** When the last check or call ended, either way: a process whose calls stop ending is stuck. */
  lastAttemptAt: number | undefined;

  constructor(readonly service: string) {}

  succeeded(now = Date.now()): void {
    this.lastAttemptAt = now;
    this.lastOkAt = now;
    this.failingSince = undefined;
    this.lastError = undefined;
  }

  failed(error: unknown, now = Date.now()): void {
    this.lastAttemptAt = now;
    this.failingSince ??= now;
    this.lastError = error instanceof Error ? error.message : String(error);
  }

  /** Reached at the last try; false before the first one succeeded. */
  get ok(): boolean {
    return this.lastOkAt !== undefined && this.failingSince === undefined;
  }

  probe(now = Date.now()): ProbeResult {
    if (this.ok) return { ok: true, reason: `${this.service} reachable` };
    if (this.failingSince === undefined) return { ok: false, reason: `${this.service} not reached yet` };
    const seconds = Math.round((now - this.failingSince) / 1000);
    return { ok: false, reason: `${this.service} unreachable for ${seconds} s: ${this.lastError ?? 'unknown error'}` };
  }
}

/**
 * Runs `check` every `everyMs` until `signal` aborts, recording each outcome in `reach`; a change is
 * logged once, not every failure.
 */
export async function checkPeriodically(
  reach: Reachability,
  check: () => Promise<void>,
  everyMs: number,
  signal: AbortSignal,
  logger: Logger,
): Promise<void> {
  while (!signal.aborted) {
    const wasOk = reach.ok;
    try {
      await check();
      reach.succeeded();
      if (!wasOk) logger.info({ service: reach.service }, `${reach.service} reachable`);
    } catch (error) {
      reach.failed(error);
      if (wasOk) logger.warn({ service: reach.service, err: error }, `${reach.service} unreachable: not ready`);
    }
    await sleep(everyMs, undefined, { signal }).catch(() => undefined);
  }
}

/** A 0/1 gauge of `reach`, read at each scrape. */
export function reachableGauge(registry: Registry, name: string, reach: Reachability): void {
  new Gauge({
    name,
    help: `1 while ${reach.service} answered the last check or call, 0 while it does not (or before the first answer)`,
    registers: [registry],
    collect() {
      this.set(reach.ok ? 1 : 0);
    },
  });
}
