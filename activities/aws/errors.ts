import { ApplicationFailure } from '@temporalio/activity';
import { failureTypes } from '../../common/failures.js';

/** AWS SDK v3 errors carry the service's error code as `name` and the HTTP status in `$metadata`. */
export function awsErrorCode(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

function httpStatus(error: unknown): number | undefined {
  const metadata = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return metadata?.httpStatusCode;
}

/** The Auto Scaling answer for an action that expired, was completed, or never existed. */
export function isNoActiveLifecycleAction(error: unknown): boolean {
  return (
    awsErrorCode(error) === 'ValidationError' &&
    error instanceof Error &&
    error.message.includes('No active Lifecycle Action')
  );
}

const throttlingCodes = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
  'SlowDown',
]);

/** Throttling and server-side failures: worth retrying after a backoff. */
export function isTransientAwsError(error: unknown): boolean {
  const code = awsErrorCode(error);
  const status = httpStatus(error);
  return (code !== undefined && throttlingCodes.has(code)) || (status !== undefined && status >= 500);
}

export function describeAwsError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.message.startsWith(error.name) ? error.message : `${error.name}: ${error.message}`;
}

/**
 * Codes no retry can change: the role may not make the call, or the request itself is wrong.
 * Credential errors (AuthFailure, InvalidClientTokenId, ExpiredToken) are retried: web identity
 * and instance credentials are renewed meanwhile.
 */
const refusedCodes = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'ValidationError',
  'InvalidParameterValue',
  'InvalidParameterCombination',
  'MissingParameter',
]);

/**
 * The error to throw for a failed AWS call, wrapped with what was being done: a permanent one
 * (`AwsRequestRefused`, never retried) when AWS refused the request for good, else a plain error
 * that the activity's retry policy retries (throttling, 5xx, the network).
 */
export function awsFailure(what: string, error: unknown): Error {
  const message = `${what}: ${describeAwsError(error)}`;
  const code = awsErrorCode(error);
  if (code !== undefined && refusedCodes.has(code)) {
    return ApplicationFailure.create({
      type: failureTypes.awsRefused,
      message,
      nonRetryable: true,
      cause: error instanceof Error ? error : undefined,
    });
  }
  return new Error(message, { cause: error });
}
