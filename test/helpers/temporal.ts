import { randomUUID } from 'node:crypto';
import {
  Client,
  Connection,
  defaultGrpcRetryOptions,
  isRetryableError,
  makeGrpcRetryInterceptor,
} from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { stackVar } from './stack-env.js';

/**
 * The dev server, on SQLite, under the whole suite's load on two cores, now and then answers a call
 * for a few seconds with "Namespace default is not found." (seen in CI during signal-with-start; the
 * namespace is never deleted). The tests' own calls retry that as the client retries an unavailable
 * server, so a test fails for what it tests, not for the dev server's registry. The services under
 * test get no such help: a hand-off or an activity retries as in production.
 */
const retryOptions = defaultGrpcRetryOptions();
/** gRPC's status code NOT_FOUND. */
const grpcNotFound = 5;
const testRetries = makeGrpcRetryInterceptor({
  ...retryOptions,
  retryableDecider: (attempt, status) =>
    attempt < 10 &&
    (isRetryableError(status) ||
      ((status.code as number) === grpcNotFound && /^Namespace \S+ is not found\.$/.test(status.details))),
});

/** A client of the stack's Temporal dev server; close it in `after`. */
export async function stackClient(): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({
    address: stackVar('TEMPORAL_ADDRESS'),
    interceptors: [testRetries],
  });
  return { client: new Client({ connection, namespace: stackVar('TEMPORAL_NAMESPACE') }), connection };
}

export async function stackNativeConnection(): Promise<NativeConnection> {
  return NativeConnection.connect({ address: stackVar('TEMPORAL_ADDRESS') });
}

/** A task queue no other test uses, so workers of concurrent tests never take each other's tasks. */
export function uniqueTaskQueue(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}
