// The stack's AWS emulator (moto with the project's lifecycle extension, dev/aws) as tests use it:
// clients, a group with a lifecycle hook and an SQS target, the emulator's call log and faults.
// The emulator is shared by every test and every test run at once: names are unique, reads of the
// call log filter by group, and faults are scoped by request parameters and removed by id.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  PutLifecycleHookCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  CreateLaunchTemplateCommand,
  DeleteLaunchTemplateCommand,
  DescribeInstancesCommand,
  EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { stackVar } from './stack-env.js';

export const TERMINATING = 'autoscaling:EC2_INSTANCE_TERMINATING';
export const LAUNCHING = 'autoscaling:EC2_INSTANCE_LAUNCHING';
export const TEST_NOTIFICATION = 'autoscaling:TEST_NOTIFICATION';
/** Group tag: the group's lifecycle clocks run at this fraction of real time (0.01: 30 s pass in 0.3 s). */
export const TIME_SCALE_TAG = 'tnth:emulator:time-scale';
/** Group tag: `direct` (Auto Scaling's own notification) or `eventbridge` bodies on the hook's queue. */
export const NOTIFICATION_FORMAT_TAG = 'tnth:emulator:notification-format';
/** The role ARN hooks are given; the emulator keeps it but checks no permission. */
export const NOTIFICATION_ROLE_ARN = 'arn:aws:iam::123456789012:role/tnth-asg-notifications';
const IMAGE_ID = 'ami-12c6146b';
const ZONE = 'us-east-1a';

export function emulatorUrl(): string {
  return stackVar('AWS_ENDPOINT_URL');
}

function clientConfig(maxAttempts?: number) {
  return {
    endpoint: emulatorUrl(),
    region: stackVar('AWS_REGION'),
    credentials: { accessKeyId: stackVar('AWS_ACCESS_KEY_ID'), secretAccessKey: stackVar('AWS_SECRET_ACCESS_KEY') },
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  };
}

export interface AwsClients {
  autoScaling: AutoScalingClient;
  sqs: SQSClient;
  ec2: EC2Client;
}

/** Clients of the emulator; `maxAttempts: 1` shows an injected error instead of retrying it away. */
export function awsClients(options: { maxAttempts?: number } = {}): AwsClients {
  const config = clientConfig(options.maxAttempts);
  return { autoScaling: new AutoScalingClient(config), sqs: new SQSClient(config), ec2: new EC2Client(config) };
}

/** What an AWS SDK v3 error says: its AWS error code (the SDK's `name`), message and HTTP status. */
export function awsError(error: unknown): { code: string; message: string; status: number | undefined } {
  const failure = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
  return { code: failure.name, message: failure.message, status: failure.$metadata?.httpStatusCode };
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** Polls `check` until it returns a value other than undefined / false; fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  { timeoutMs = 10_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

// ---- a group with a lifecycle hook and an SQS target -----------------------------------------

export interface QueueRef {
  url: string;
  arn: string;
  name: string;
}

export async function createQueue(sqs: SQSClient, prefix = 'tnth-test'): Promise<QueueRef> {
  const name = uniqueName(prefix);
  const { QueueUrl: url } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  if (!url || !Attributes?.QueueArn) throw new Error(`creating queue ${name} returned no URL or ARN`);
  return { url, arn: Attributes.QueueArn, name };
}

export interface GroupWithHookOptions {
  heartbeatTimeout?: number;
  defaultResult?: 'CONTINUE' | 'ABANDON';
  /** Where notifications go: a new queue (default), an existing one, or none (`false`). */
  queue?: QueueRef | false;
  transition?: typeof TERMINATING | typeof LAUNCHING;
  hookName?: string;
  notificationMetadata?: string;
  desiredCapacity?: number;
  /** Default 10, or the desired capacity when larger. */
  maxSize?: number;
  /** Fraction of real time the group's lifecycle clocks run at (e.g. 0.01); default the stack's. */
  timeScale?: number;
  notificationFormat?: 'direct' | 'eventbridge';
  /** Group tags propagated to its instances. */
  tags?: Record<string, string>;
  /** Receive and delete the hook's test notification (default true), so the queue holds only lifecycle notifications. */
  drainTestNotification?: boolean;
}

export interface GroupWithHook {
  groupName: string;
  groupArn: string;
  hookName: string;
  queue: QueueRef | undefined;
  /** The instances the group started with. */
  instanceIds: string[];
  clients: AwsClients;
  /** Deletes the group (like ForceDelete), its launch template and its queue when the helper made it. */
  delete(): Promise<void>;
}

/**
 * A group of `desiredCapacity` instances (default 1) with one lifecycle hook (TERMINATING by default)
 * whose target is an SQS queue. A LAUNCHING hook is added before the first launch, so the group's
 * initial instances wait in Pending:Wait.
 */
export async function createGroupWithHook(
  options: GroupWithHookOptions = {},
  clients: AwsClients = awsClients(),
): Promise<GroupWithHook> {
  const groupName = uniqueName('tnth-group');
  const hookName = options.hookName ?? 'tnth-drain';
  const template = `${groupName}-template`;
  const ownQueue = options.queue === undefined;
  const queue = options.queue === false ? undefined : (options.queue ?? (await createQueue(clients.sqs)));
  const tags = [
    ...Object.entries(options.tags ?? {}).map(([Key, Value]) => ({ Key, Value, PropagateAtLaunch: true })),
    ...(options.timeScale === undefined ? [] : [{ Key: TIME_SCALE_TAG, Value: String(options.timeScale) }]),
    ...(options.notificationFormat === undefined
      ? []
      : [{ Key: NOTIFICATION_FORMAT_TAG, Value: options.notificationFormat }]),
  ];
  await clients.ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: template,
      LaunchTemplateData: { ImageId: IMAGE_ID, InstanceType: 't3.medium' },
    }),
  );
  await clients.autoScaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: groupName,
      LaunchTemplate: { LaunchTemplateName: template },
      MinSize: 0,
      MaxSize: options.maxSize ?? Math.max(10, options.desiredCapacity ?? 1),
      DesiredCapacity: options.desiredCapacity ?? 1,
      AvailabilityZones: [ZONE],
      Tags: tags.length > 0 ? tags : undefined,
      LifecycleHookSpecificationList: [
        {
          LifecycleHookName: hookName,
          LifecycleTransition: options.transition ?? TERMINATING,
          HeartbeatTimeout: options.heartbeatTimeout ?? 300,
          DefaultResult: options.defaultResult ?? 'ABANDON',
          NotificationMetadata: options.notificationMetadata,
          NotificationTargetARN: queue?.arn,
          RoleARN: queue ? NOTIFICATION_ROLE_ARN : undefined,
        },
      ],
    }),
  );
  const { AutoScalingGroups } = await clients.autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }),
  );
  const group = AutoScalingGroups?.[0];
  if (!group?.AutoScalingGroupARN) throw new Error(`group ${groupName} was not created`);
  if (queue && (options.drainTestNotification ?? true)) {
    await receiveNotifications(clients.sqs, queue.url, {
      count: 1,
      what: `the test notification of ${groupName}`,
      match: (body) => body.Event === TEST_NOTIFICATION || asRecord(body.detail)?.Event === TEST_NOTIFICATION,
    });
  }
  return {
    groupName,
    groupArn: group.AutoScalingGroupARN,
    hookName,
    queue,
    instanceIds: (group.Instances ?? []).map((instance) => instance.InstanceId ?? ''),
    clients,
    delete: async () => {
      await clients.autoScaling.send(
        new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: groupName, ForceDelete: true }),
      );
      await clients.ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateName: template }));
      if (queue && ownQueue) await clients.sqs.send(new DeleteQueueCommand({ QueueUrl: queue.url }));
    },
  };
}

export async function putHook(
  clients: AwsClients,
  input: { groupName: string; hookName: string; queueArn?: string; heartbeatTimeout?: number },
): Promise<void> {
  await clients.autoScaling.send(
    new PutLifecycleHookCommand({
      AutoScalingGroupName: input.groupName,
      LifecycleHookName: input.hookName,
      LifecycleTransition: TERMINATING,
      HeartbeatTimeout: input.heartbeatTimeout,
      NotificationTargetARN: input.queueArn,
      RoleARN: input.queueArn ? NOTIFICATION_ROLE_ARN : undefined,
    }),
  );
}

/** Scale-in of one instance, as TerminateInstanceInAutoScalingGroup with the capacity decremented by default. */
export async function terminateInstance(
  group: GroupWithHook,
  instanceId: string,
  { decrement = true }: { decrement?: boolean } = {},
): Promise<void> {
  await group.clients.autoScaling.send(
    new TerminateInstanceInAutoScalingGroupCommand({
      InstanceId: instanceId,
      ShouldDecrementDesiredCapacity: decrement,
    }),
  );
}

export async function completeAction(
  group: GroupWithHook,
  input: { instanceId: string; token?: string; result: 'CONTINUE' | 'ABANDON' },
  clients: AwsClients = group.clients,
): Promise<void> {
  await clients.autoScaling.send(
    new CompleteLifecycleActionCommand({
      AutoScalingGroupName: group.groupName,
      LifecycleHookName: group.hookName,
      InstanceId: input.instanceId,
      LifecycleActionToken: input.token,
      LifecycleActionResult: input.result,
    }),
  );
}

// ---- reading state ---------------------------------------------------------------------------

/** Instance id -> lifecycle state of the group's members, as DescribeAutoScalingGroups reports them. */
export async function groupInstances(group: GroupWithHook): Promise<Map<string, string>> {
  const { AutoScalingGroups } = await group.clients.autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group.groupName] }),
  );
  return new Map(
    (AutoScalingGroups?.[0]?.Instances ?? []).map((instance) => [
      instance.InstanceId ?? '',
      instance.LifecycleState ?? '',
    ]),
  );
}

export async function describeInstance(ec2: EC2Client, instanceId: string): Promise<Instance | undefined> {
  const { Reservations } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return Reservations?.[0]?.Instances?.[0];
}

/** The EC2 state name (`running`, `terminated`, ...). */
export async function ec2State(ec2: EC2Client, instanceId: string): Promise<string | undefined> {
  return (await describeInstance(ec2, instanceId))?.State?.Name;
}

// ---- notifications ---------------------------------------------------------------------------

export interface Notification {
  body: Record<string, unknown>;
  raw: string;
  message: Message;
}

export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/**
 * Receives `count` messages from the queue (polling until `timeoutMs`), parses their JSON bodies and,
 * unless `keep`, deletes them. Messages `match` rejects go back on the queue.
 */
export async function receiveNotifications(
  sqs: SQSClient,
  queueUrl: string,
  {
    count = 1,
    timeoutMs = 10_000,
    keep = false,
    what = `${count} message(s) on ${queueUrl}`,
    match = () => true,
  }: {
    count?: number;
    timeoutMs?: number;
    keep?: boolean;
    what?: string;
    match?: (body: Record<string, unknown>) => boolean;
  } = {},
): Promise<Notification[]> {
  const received: Notification[] = [];
  await waitFor(
    what,
    async () => {
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      for (const message of Messages ?? []) {
        const raw = message.Body ?? '';
        const body = asRecord(JSON.parse(raw)) ?? {};
        if (!match(body)) {
          // Back on the queue at once, for whoever reads it next.
          await sqs.send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: queueUrl,
              ReceiptHandle: message.ReceiptHandle,
              VisibilityTimeout: 0,
            }),
          );
          continue;
        }
        received.push({ body, raw, message });
        if (!keep)
          await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
      }
      return received.length >= count;
    },
    { timeoutMs, intervalMs: 0 },
  );
  return received;
}
