import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';
import { interruptionTypes } from '../common/failures.js';
import type { PodLeft } from '../common/status.js';

/** The innermost message: ActivityFailure wraps the activity's own error, the one a person can act on. */
export function errorMessage(error: unknown): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

/** The type of the first ApplicationFailure in the chain, or the name of the innermost error. */
export function failureType(error: unknown): string {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if (current instanceof ApplicationFailure && current.type) return current.type;
    if (!(current.cause instanceof Error)) return current.name;
  }
  return 'Error';
}

/** The pods a failed drain attempt reported left on the node, each with why. */
export function podsLeft(error: unknown): PodLeft[] | undefined {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if (current instanceof ApplicationFailure) {
      const details = current.details?.[0] as { podsLeft?: string[]; left?: PodLeft[] } | undefined;
      // Details recorded before the drain gave reasons name the pods only.
      if (details?.left) return details.left;
      if (details?.podsLeft) return details.podsLeft.map((pod) => ({ pod, reason: 'left on the node' }));
    }
  }
  return undefined;
}

/**
 * True when a drain attempt was interrupted rather than failed: Temporal retried it until the
 * attempt's time ran out (retry state TIMEOUT) and the last try was cut short by a lost worker (a
 * timeout), a worker's shutdown, or an API server out of reach. A failure that stayed the same on
 * every try (a 500, a bug) is a failed attempt: it counts.
 */
export function wasInterrupted(error: unknown): boolean {
  if (!(error instanceof ActivityFailure) || error.retryState !== 'TIMEOUT') return false;
  const timeout = error.cause;
  // The last try failed and no retry fits in the time left: its own failure is the cause.
  if (timeout instanceof ApplicationFailure) return interruptionTypes.some((t) => t === timeout.type);
  if (!(timeout instanceof TimeoutFailure)) return false;
  if (timeout.timeoutType !== 'SCHEDULE_TO_CLOSE') return true;
  // Retries that stop for want of time end in a schedule-to-close timeout carrying the last try's
  // failure; the SDK leaves that cause in the raw failure only.
  const last = timeout.failure?.cause;
  if (!last) return true;
  if (last.timeoutFailureInfo) return true;
  const type = last.applicationFailureInfo?.type ?? '';
  return interruptionTypes.some((t) => t === type);
}
