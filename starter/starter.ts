import { SQSClient } from '@aws-sdk/client-sqs';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { Logger } from 'pino';
import { checkPeriodically, type Reachability } from '../common/reachability.js';
import { temporalConnectionOptions } from '../common/temporal-connection.js';
import { defaultAvailabilitySettings, TemporalAvailability } from './availability.js';
import { processBatch, type BatchContext } from './batch.js';
import { ownsLifecycleHook } from '../common/config.js';
import type { StarterConfig } from './config.js';
import { searchAttributeNames } from '../common/search-attributes.js';
import { temporalHandOff, type HandOff } from './hand-off.js';
import { StarterMetrics } from './metrics.js';
import { poll } from './poller.js';
import { SqsQueue, type MessageQueue } from './queue.js';
import { queueSettingWarnings } from './queue-settings.js';

export interface StarterOptions {
  logger: Logger;
  /** Aborting it stops polling; runStarter resolves once the hand-offs in flight are done. */
  signal: AbortSignal;
  metrics?: StarterMetrics;
  /** How long Temporal may take to accept one event before the hand-off counts as failed. */
  handOffTimeoutMs?: number;
  /** The wait between probes of Temporal while it is unavailable: doubles from initialMs up to maxMs. */
  temporalBackoff?: { initialMs: number; maxMs: number };
  /** How long messages held through an outage stay invisible before their visibility is renewed. */
  holdVisibilitySeconds?: number;
  /** Told when Temporal stops or starts accepting hand-offs (readiness follows it). */
  onAvailabilityChange?: (available: boolean) => void;
  /** Wraps the hand-off, to observe it (the benchmark times each one). */
  wrapHandOff?: (handOff: HandOff) => HandOff;
  queue?: MessageQueue;
  /** Where the starter records whether Temporal answers (checked every few seconds) and SQS receives. */
  reachability?: { temporal: Reachability; sqs: Reachability };
}

/** How often readiness asks Temporal whether it answers, and how long an answer may take. */
const temporalCheckMs = 10_000;
const temporalCheckTimeoutMs = 5_000;

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
    // A call that hangs must not hold the pollers or the keeping of held messages: long polls take 20 s.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
  });
  // The search-attribute check, awaited before the connection closes however the starter ends: a
  // call the client is still retrying when its channel closes throws from the retry's timer and
  // takes the process down. It never rejects.
  let attributesChecked: Promise<void> = Promise.resolve();
  try {
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const handOffTimeoutMs = options.handOffTimeoutMs ?? 10_000;
    const handOff = temporalHandOff(
      client,
      { taskQueue: config.TEMPORAL_TASK_QUEUE, cluster: config.CLUSTER_NAME },
      handOffTimeoutMs,
    );
    const context: BatchContext = {
      queue: options.queue ?? new SqsQueue(sqs, config.QUEUE_URL),
      handOff: options.wrapHandOff?.(handOff) ?? handOff,
      metrics,
      logger,
      ownsHook: (name: string) => ownsLifecycleHook(config, name),
    };
    const availability = new TemporalAvailability(
      {
        queue: context.queue,
        logger,
        metrics,
        retry: (messages) => processBatch(messages, context),
        ...(options.onAvailabilityChange ? { onChange: options.onAvailabilityChange } : {}),
      },
      signal,
      {
        ...defaultAvailabilitySettings,
        ...(options.temporalBackoff
          ? { probeBackoffMs: { initial: options.temporalBackoff.initialMs, max: options.temporalBackoff.maxMs } }
          : {}),
        ...(options.holdVisibilitySeconds ? { holdVisibilitySeconds: options.holdVisibilitySeconds } : {}),
      },
    );
    logger.info(
      {
        queueUrl: config.QUEUE_URL,
        temporalAddress: config.TEMPORAL_ADDRESS,
        namespace: config.TEMPORAL_NAMESPACE,
        cluster: config.CLUSTER_NAME,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        pollers: config.STARTER_POLLERS,
      },
      'starter polling',
    );
    const reach = options.reachability;
    const checking = reach
      ? checkPeriodically(
          reach.temporal,
          async () => {
            await connection.withDeadline(Date.now() + temporalCheckTimeoutMs, () =>
              connection.workflowService.getSystemInfo({}),
            );
          },
          temporalCheckMs,
          signal,
          logger,
        )
      : Promise.resolve();
    await checkQueue(context.queue, handOffTimeoutMs, logger, reach?.sqs);
    // Not awaited before polling.
    attributesChecked = checkSearchAttributes(client, config.TEMPORAL_NAMESPACE, logger);
    await Promise.all(
      Array.from({ length: config.STARTER_POLLERS }, () => poll(context, availability, signal, reach?.sqs)),
    );
    await checking;
    // Messages still held go back to the queue for another starter.
    await availability.settled();
    logger.info('starter stopped: polling ended and hand-offs in flight finished');
  } finally {
    sqs.destroy();
    await attributesChecked;
    await connection.close();
  }
}

/** Warns, once at start, about queue settings that could lose messages. */
async function checkQueue(
  queue: MessageQueue,
  handOffTimeoutMs: number,
  logger: Logger,
  sqs: Reachability | undefined,
): Promise<void> {
  if (!queue.attributes) return;
  try {
    const attributes = await queue.attributes();
    // SQS answered: the starter need not wait for its first long poll to be Ready.
    sqs?.succeeded();
    for (const warning of queueSettingWarnings(attributes, handOffTimeoutMs)) {
      logger.warn({ queueSetting: warning }, `queue setting: ${warning}`);
    }
  } catch (error) {
    logger.warn({ err: error }, 'could not read the queue attributes to check them (sqs:GetQueueAttributes)');
  }
}

/**
 * Says at start, as an error, which of the workflows' search attributes the namespace lacks: Temporal
 * refuses every hand-off that sets one it does not know. Temporal down, or an identity that may not
 * list them, is no reason to stop: the hand-offs say the rest.
 */
async function checkSearchAttributes(client: Client, namespace: string, logger: Logger): Promise<void> {
  try {
    const { customAttributes } = await client.connection.withDeadline(Date.now() + 10_000, () =>
      client.connection.operatorService.listSearchAttributes({ namespace }),
    );
    const missing = searchAttributeNames.filter((name) => !(name in (customAttributes ?? {})));
    if (missing.length > 0) {
      logger.error(
        { namespace, missing },
        `namespace ${namespace} lacks the search attributes ${missing.join(', ')}: Temporal refuses every hand-off until they exist (temporal operator search-attribute create --name <name> --type Keyword)`,
      );
    }
  } catch (error) {
    logger.debug({ error: String(error) }, 'could not list the namespace search attributes');
  }
}
