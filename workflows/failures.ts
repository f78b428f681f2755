import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';

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

/** The pods a failed drain attempt reported left on the node. */
export function podsLeft(error: unknown): string[] | undefined {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if (current instanceof ApplicationFailure) {
      const details = current.details?.[0] as { podsLeft?: string[] } | undefined;
      if (details?.podsLeft) return details.podsLeft;
    }
  }
  return undefined;
}

/**
 * True when a drain attempt was interrupted rather than failed: its retries (a worker's shutdown,
 * a lost worker, the API server out of reach) ran out of the attempt's time without the drain
 * itself deciding anything.
 */
export function wasInterrupted(error: unknown): boolean {
  return error instanceof ActivityFailure && (error.retryState === 'TIMEOUT' || error.cause instanceof TimeoutFailure);
}
