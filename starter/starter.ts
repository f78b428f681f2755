import { SQSClient } from '@aws-sdk/client-sqs';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { Logger } from 'pino';
import { temporalConnectionOptions } from '../common/temporal-connection.js';
import { Backoff } from './backoff.js';
import { ownsLifecycleHook } from '../common/config.js';
import type { StarterConfig } from './config.js';
import { temporalHandOff, type HandOff } from './hand-off.js';
import { StarterMetrics } from './metrics.js';
import { poll } from './poller.js';
import { SqsQueue, type MessageQueue } from './queue.js';

export interface StarterOptions {
  logger: Logger;
  /** Aborting it stops polling; runStarter resolves once the hand-offs in flight are done. */
  signal: AbortSignal;
  metrics?: StarterMetrics;
  /** How long Temporal may take to accept one event before the hand-off counts as failed. */
  handOffTimeoutMs?: number;
  /** The pause of all pollers after a failed hand-off: doubles from initialMs up to maxMs. */
  temporalBackoff?: { initialMs: number; maxMs: number };
  /** Wraps the hand-off, to observe it (the benchmark times each one). */
  wrapHandOff?: (handOff: HandOff) => HandOff;
  queue?: MessageQueue;
}

/**
 * A few gRPC-level retries smooth over a blip; longer outages are the starter's backoff's job, which
 * leaves the messages in the queue meanwhile rather than holding them in a retrying call.
 */
const grpcAttempts = 3;

/** Runs the pollers until `options.signal` aborts. Connects to Temporal lazily: a server that is down
 * at start is a failed hand-off like any other, retried with backoff, not a crash. */
export async function runStarter(config: StarterConfig, options: StarterOptions): Promise<void> {
  const { logger, signal } = options;
  const metrics = options.metrics ?? new StarterMetrics();
  const connection = Connection.lazy({
    ...(await temporalConnectionOptions(config)),
    interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: grpcAttempts }))],
    // grpc-js stretches reconnect attempts to two minutes apart by default; once Temporal is back the
    // starter should notice within seconds.
    channelArgs: { 'grpc.initial_reconnect_backoff_ms': 250, 'grpc.max_reconnect_backoff_ms': 5_000 },
  });
  const sqs = new SQSClient({
    ...(config.AWS_REGION ? { region: config.AWS_REGION } : {}),
    ...(config.AWS_ENDPOINT_URL ? { endpoint: config.AWS_ENDPOINT_URL } : {}),
  });
  try {
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const handOff = temporalHandOff(client, config.TEMPORAL_TASK_QUEUE, options.handOffTimeoutMs ?? 10_000);
    const { initialMs, maxMs } = options.temporalBackoff ?? { initialMs: 1_000, maxMs: 60_000 };
    const context = {
      queue: options.queue ?? new SqsQueue(sqs, config.QUEUE_URL),
      handOff: options.wrapHandOff?.(handOff) ?? handOff,
      backoff: new Backoff(initialMs, maxMs),
      metrics,
      logger,
      ownsHook: (name: string) => ownsLifecycleHook(config, name),
    };
    logger.info(
      {
        queueUrl: config.QUEUE_URL,
        temporalAddress: config.TEMPORAL_ADDRESS,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        pollers: config.STARTER_POLLERS,
      },
      'starter polling',
    );
    await Promise.all(Array.from({ length: config.STARTER_POLLERS }, () => poll(context, signal)));
    logger.info('starter stopped: polling ended and hand-offs in flight finished');
  } finally {
    sqs.destroy();
    await connection.close();
  }
}
