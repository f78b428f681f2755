// The starter against the stack's real SQS (the AWS emulator) and Temporal, as the intake tests use it:
// an in-process starter on a queue and task queue of its own, fixture bodies with fresh instance ids,
// and the workflows a test created, found and terminated.
import { randomBytes } from 'node:crypto';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, WorkflowNotFoundError } from '@temporalio/common';
import { pino } from 'pino';
import type { InterruptionEvent } from '../../common/events.js';
import { interruptionSignal, launchWorkflowId, terminationWorkflowId } from '../../common/names.js';
import { loadStarterConfig } from '../../starter/config.js';
import { StarterMetrics } from '../../starter/metrics.js';
import { runStarter, type StarterOptions } from '../../starter/starter.js';
import { awsClients, uniqueName } from '../helpers/aws.js';
import { stackClient } from '../helpers/temporal.js';
import { uniqueTaskQueue } from '../helpers/temporal.js';
import { readGoodFixture } from './fixtures.js';
import { testCluster } from '../helpers/stack-env.js';

/** A fresh 17-digit instance id: workflow ids derive from it, so tests sharing the stack never meet. */
export const freshInstanceId = (): string => `i-${randomBytes(9).toString('hex').slice(0, 17)}`;

/** Every instance id in a fixture body (the 17-digit ones of test/fixtures/messages). */
export function instanceIdsIn(body: string): string[] {
  return [...new Set(body.match(/i-[0-9a-f]{17}/g) ?? [])];
}

/** The fixture with each of its instance ids replaced by a fresh one, and the old -> new mapping. */
export function withFreshInstances(fixture: string): { body: string; renamed: Map<string, string> } {
  let body = readGoodFixture(fixture);
  const renamed = new Map(instanceIdsIn(body).map((old) => [old, freshInstanceId()]));
  for (const [old, fresh] of renamed) body = body.replaceAll(old, fresh);
  return { body, renamed };
}

export async function send(sqs: SQSClient, queueUrl: string, body: string): Promise<string> {
  const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
  return MessageId ?? '';
}

/** Messages in the queue, visible or received and not yet deleted or back. */
export async function messagesIn(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
}

export interface RunningStarter {
  metrics: StarterMetrics;
  taskQueue: string;
  /** SIGTERM's equivalent: stop polling, finish hand-offs in flight; resolves when it returned. */
  stop(): Promise<void>;
}

/** A starter in this process on `queueUrl`, with a task queue no worker polls: its workflows just wait. */
export function startStarter(
  queueUrl: string,
  env: Record<string, string> = {},
  options: Partial<StarterOptions> = {},
): RunningStarter {
  const taskQueue = uniqueTaskQueue('intake');
  const config = loadStarterConfig({
    ...process.env,
    CLUSTER_NAME: testCluster,
    QUEUE_URL: queueUrl,
    TEMPORAL_TASK_QUEUE: taskQueue,
    STARTER_POLLERS: '2',
    ...env,
  });
  const metrics = new StarterMetrics();
  const stop = new AbortController();
  const running = runStarter(config, {
    logger: pino({ level: process.env.STARTER_TEST_LOG_LEVEL ?? 'silent' }),
    signal: stop.signal,
    metrics,
    ...options,
  });
  return {
    metrics,
    taskQueue,
    stop: async () => {
      stop.abort();
      await running;
    },
  };
}

/** The workflow ids an instance can have; the tests terminate whichever exist. */
export const workflowIdsOf = (instanceId: string): string[] => [
  terminationWorkflowId(testCluster, instanceId),
  launchWorkflowId(testCluster, instanceId),
];

export async function exists(handle: WorkflowHandle): Promise<boolean> {
  try {
    await handle.describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

/** Every execution, open or closed, whose InstanceId search attribute is `instanceId`. */
export async function executionsOf(client: Client, instanceId: string) {
  const executions = [];
  for await (const execution of client.workflow.list({ query: `InstanceId = "${instanceId}"` })) {
    executions.push(execution);
  }
  return executions;
}

/** The events the workflow was signalled with, in order. */
export async function signalledEvents(handle: WorkflowHandle): Promise<InterruptionEvent[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).flatMap((event) => {
    const signalled = event.workflowExecutionSignaledEventAttributes;
    if (!signalled || signalled.signalName !== interruptionSignal.name) return [];
    const payload = signalled.input?.payloads?.[0];
    return payload ? [defaultPayloadConverter.fromPayload<InterruptionEvent>(payload)] : [];
  });
}

/** Terminates what the test started; a workflow that never started or already closed is fine. */
export async function terminateAll(client: Client, instanceIds: Iterable<string>): Promise<void> {
  await Promise.all(
    [...instanceIds].flatMap(workflowIdsOf).map((id) =>
      client.workflow
        .getHandle(id)
        .terminate('intake test cleanup')
        .catch(() => undefined),
    ),
  );
}

/**
 * A queue with a dead-letter queue after `maxReceiveCount` receives and the given attributes, as
 * production queues are set up; both URLs go into `created` for the test to delete.
 */
export async function queueWithRedrive(
  sqs: SQSClient,
  prefix: string,
  maxReceiveCount: number,
  attributes: Record<string, string>,
  created: string[],
): Promise<{ url: string; dlqUrl: string }> {
  const name = uniqueName(prefix);
  const { QueueUrl: dlqUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  );
  const { QueueUrl: url } = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: Attributes!.QueueArn,
          maxReceiveCount: String(maxReceiveCount),
        }),
        ...attributes,
      },
    }),
  );
  created.push(url!, dlqUrl!);
  return { url: url!, dlqUrl: dlqUrl! };
}

export interface IntakeStack {
  client: Client;
  sqs: SQSClient;
  /** Instances whose workflows the test started: terminated after it. */
  instanceIds: string[];
  /** Queues the test made: deleted after it. */
  queueUrls: string[];
}

/** Connections to the stack for one `describe`, and the cleanup of what its tests made. */
export function useIntakeStack(): IntakeStack {
  const stack = { instanceIds: [], queueUrls: [] } as unknown as IntakeStack;
  let connection: { close(): Promise<void> } | undefined;
  before(async () => {
    const clients = await stackClient();
    stack.client = clients.client;
    connection = clients.connection;
    stack.sqs = awsClients().sqs;
  });
  after(async function () {
    this.timeout(120_000);
    await terminateAll(stack.client, stack.instanceIds);
    await Promise.all(
      stack.queueUrls.map((url) => stack.sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => undefined)),
    );
    await connection?.close();
  });
  return stack;
}
