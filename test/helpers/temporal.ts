import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { stackVar } from './stack-env.js';

/** A client of the stack's Temporal dev server; close it in `after`. */
export async function stackClient(): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address: stackVar('TEMPORAL_ADDRESS') });
  return { client: new Client({ connection, namespace: stackVar('TEMPORAL_NAMESPACE') }), connection };
}

export async function stackNativeConnection(): Promise<NativeConnection> {
  return NativeConnection.connect({ address: stackVar('TEMPORAL_ADDRESS') });
}

/** A task queue no other test uses, so workers of concurrent tests never take each other's tasks. */
export function uniqueTaskQueue(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}
