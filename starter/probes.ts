import type { Probes } from '../common/http-server.js';
import type { Reachability } from '../common/reachability.js';

/** Five minutes without a receive ending, while the pollers may receive: they are stuck. */
export const stuckPollersMs = 5 * 60_000;

/** What the starter's probes read: its reach of Temporal and SQS, the hand-off gate, its stop. */
export interface StarterProbeState {
  temporal: Reachability;
  sqs: Reachability;
  /** Temporal accepts hand-offs (the availability gate is open). */
  temporalAvailable(): boolean;
  /** Since when the pollers may receive: the start, or the gate's last reopening. */
  availableSince(): number;
  stopping(): boolean;
}

/**
 * Ready while it polls: Temporal answers and accepts hand-offs, SQS answers, and it is not stopping.
 * Live unless its receives stopped ending while they could run: the starter retries Temporal and
 * SQS by itself, so a restart mends only stuck pollers (a long poll ends within 20 s, a hung call
 * within 30 s).
 */
export function starterProbes(state: StarterProbeState, now = () => Date.now()): Probes {
  return {
    live: () => {
      const since = Math.max(state.sqs.lastAttemptAt ?? 0, state.availableSince());
      const idle = now() - since;
      if (state.temporalAvailable() && !state.stopping() && idle > stuckPollersMs)
        return { ok: false, reason: `no SQS receive has ended for ${Math.round(idle / 1000)} s: pollers stuck` };
      return { ok: true, reason: state.stopping() ? 'stopping' : 'polling' };
    },
    ready: () => {
      if (state.stopping()) return { ok: false, reason: 'stopping: no new receives' };
      if (!state.temporalAvailable())
        return { ok: false, reason: 'Temporal refuses hand-offs: holding messages, no new receives' };
      for (const reach of [state.temporal, state.sqs]) {
        const result = reach.probe(now());
        if (!result.ok) return result;
      }
      return { ok: true, reason: 'Temporal and SQS reachable' };
    },
  };
}
