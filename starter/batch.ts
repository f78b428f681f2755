import type { Logger } from 'pino';
import type { InterruptionEvent } from '../common/events.js';
import type { HandOff } from './hand-off.js';
import { parseMessage } from './messages/parse.js';
import type { StarterMetrics } from './metrics.js';
import type { MessageQueue, QueueMessage } from './queue.js';

export interface BatchContext {
  queue: MessageQueue;
  handOff: HandOff;
  metrics: StarterMetrics;
  logger: Logger;
  /** Lifecycle hooks this service owns (LIFECYCLE_HOOK_NAMES); others' actions are left alone. */
  ownsHook?: (hookName: string) => boolean;
}

type Outcome = 'handed-off' | 'no-action' | 'rejected' | 'hand-off-failed';

/**
 * Handles one received batch. A message is deleted only once Temporal accepted every one of its events;
 * the messages whose hand-off failed are returned, for the caller to hold until Temporal is back; a bad
 * message is left alone, so the queue's redrive policy moves it to the dead-letter queue after
 * maxReceiveCount receives. Never throws.
 */
export async function processBatch(messages: QueueMessage[], context: BatchContext): Promise<QueueMessage[]> {
  const { queue, metrics, logger } = context;
  const outcomes = await Promise.all(
    messages.map(async (message) => ({ message, outcome: await processMessage(message, context) })),
  );
  const done = outcomes.filter(({ outcome }) => outcome === 'handed-off' || outcome === 'no-action');
  const failed = outcomes.filter(({ outcome }) => outcome === 'hand-off-failed').map(({ message }) => message);
  // NTH's monitor counts a batch none of whose messages it could process as an error of its own.
  if (done.length === 0 && outcomes.length > 0) metrics.nthEventErrors.inc(metrics.nthMonitorError);

  if (done.length > 0) {
    try {
      const notDeleted = await queue.delete(done.map(({ message }) => message));
      const notDeletedIds = new Set(notDeleted.map((failure) => failure.messageId));
      for (const { message, outcome } of done) {
        if (!notDeletedIds.has(message.messageId)) metrics.deleted.inc({ outcome });
      }
      // Harmless: the message comes back, and its events reach the same workflow again, which drops them.
      for (const failure of notDeleted) logger.warn(failure, 'SQS did not delete a handed-off message');
    } catch (error) {
      logger.warn({ err: error, messages: done.length }, 'deleting handed-off messages failed; they will come back');
    }
  }
  return failed;
}

async function processMessage(message: QueueMessage, context: BatchContext): Promise<Outcome> {
  const { metrics, logger } = context;
  const { messageId, receiveCount } = message;
  const result = parseMessage(message.body);
  if (!result.ok) {
    const { reason, path, message: problem, messageType = 'unknown' } = result.error;
    metrics.rejected.inc({ kind: messageType, reason });
    logger.warn(
      { messageId, receiveCount, messageType, reason, path, error: problem },
      'bad message left for the redrive policy',
    );
    return 'rejected';
  }
  const events = result.events.filter((event) => {
    if (!('lifecycleHookName' in event) || (context.ownsHook?.(event.lifecycleHookName) ?? true)) return true;
    logger.info(
      { messageId, instanceId: event.instanceId, hook: event.lifecycleHookName, group: event.autoScalingGroupName },
      'lifecycle hook not in LIFECYCLE_HOOK_NAMES: its action is left alone',
    );
    return false;
  });
  if (events.length === 0) {
    logger.info({ messageId, messageType: result.messageType }, 'message needs no action; deleting it');
    return 'no-action';
  }
  const handOffs = await Promise.allSettled(events.map((event) => handOffOne(event, context)));
  const failures = handOffs.filter((outcome) => outcome.status === 'rejected');
  if (failures.length > 0) {
    const refused = failures.find((f) => isInvalidArgument(f.reason));
    if (refused) {
      // Not an outage but a request Temporal refuses (a search attribute the namespace lacks, say):
      // no wait fixes it, so it is said loudly, per message.
      logger.error(
        { messageId, receiveCount, messageType: result.messageType, error: String(refused.reason) },
        'Temporal refused the hand-off as invalid; the message stays in the queue until that is fixed',
      );
      return 'hand-off-failed';
    }
    // While Temporal is down this is the rule, said once by the availability gate, not per message.
    logger.debug(
      { messageId, receiveCount, messageType: result.messageType, error: String(failures[0]?.reason) },
      'hand-off failed; the message stays in the queue',
    );
    return 'hand-off-failed';
  }
  if (message.sentAt !== undefined) metrics.messageAgeSeconds.observe((Date.now() - message.sentAt) / 1000);
  logger.info(
    {
      messageId,
      messageType: result.messageType,
      events: events.map(({ kind, instanceId, eventId }) => ({ kind, instanceId, eventId })),
    },
    'handed off',
  );
  return 'handed-off';
}

async function handOffOne(event: InterruptionEvent, context: BatchContext): Promise<void> {
  const stopTimer = context.metrics.handOffSeconds.startTimer({ kind: event.kind });
  try {
    await context.handOff(event);
    stopTimer();
    context.metrics.handedOff.inc({ kind: event.kind });
  } catch (error) {
    context.metrics.handOffFailures.inc({ kind: event.kind });
    throw error;
  }
}

/** gRPC's INVALID_ARGUMENT, anywhere in the error's causes. */
function isInvalidArgument(error: unknown): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if ((current as { code?: unknown }).code === grpcInvalidArgument) return true;
  }
  return false;
}

const grpcInvalidArgument = 3;
