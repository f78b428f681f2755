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
