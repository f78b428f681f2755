import assert from 'node:assert/strict';
import {
  CreateAutoScalingGroupCommand,
  DeleteAutoScalingGroupCommand,
  DescribeLifecycleHooksCommand,
  PutLifecycleHookCommand,
} from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand, DeleteLaunchTemplateCommand } from '@aws-sdk/client-ec2';
import { DeleteQueueCommand } from '@aws-sdk/client-sqs';
import {
  NOTIFICATION_ROLE_ARN,
  TERMINATING,
  TEST_NOTIFICATION,
  awsClients,
  awsError,
  createQueue,
  receiveNotifications,
  uniqueName,
  type QueueRef,
} from '../helpers/aws.js';

const clients = awsClients();

describe('AWS emulator: PutLifecycleHook and DescribeLifecycleHooks', function () {
  let groupName: string;
  let queue: QueueRef;

  beforeEach(async function () {
    groupName = uniqueName('tnth-hooks');
    queue = await createQueue(clients.sqs);
    await clients.ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: groupName,
        LaunchTemplateData: { ImageId: 'ami-12c6146b', InstanceType: 't3.medium' },
      }),
    );
    await clients.autoScaling.send(
      new CreateAutoScalingGroupCommand({
        AutoScalingGroupName: groupName,
        LaunchTemplate: { LaunchTemplateName: groupName },
        MinSize: 0,
        MaxSize: 1,
        AvailabilityZones: ['us-east-1a'],
      }),
    );
  });
  afterEach(async function () {
    await clients.autoScaling.send(
      new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: groupName, ForceDelete: true }),
    );
    await clients.ec2.send(new DeleteLaunchTemplateCommand({ LaunchTemplateName: groupName }));
    await clients.sqs.send(new DeleteQueueCommand({ QueueUrl: queue.url }));
  });

  it('returns every field PutLifecycleHook was given, with the global timeout AWS derives', async function () {
    await clients.autoScaling.send(
      new PutLifecycleHookCommand({
        AutoScalingGroupName: groupName,
        LifecycleHookName: 'drain',
        LifecycleTransition: TERMINATING,
        NotificationTargetARN: queue.arn,
        RoleARN: NOTIFICATION_ROLE_ARN,
        NotificationMetadata: '{"cluster":"prod"}',
        HeartbeatTimeout: 120,
        DefaultResult: 'CONTINUE',
      }),
    );

    const { LifecycleHooks } = await clients.autoScaling.send(
      new DescribeLifecycleHooksCommand({ AutoScalingGroupName: groupName }),
    );

    assert.deepEqual(LifecycleHooks, [
      {
        LifecycleHookName: 'drain',
        AutoScalingGroupName: groupName,
        LifecycleTransition: TERMINATING,
        NotificationTargetARN: queue.arn,
        RoleARN: NOTIFICATION_ROLE_ARN,
        NotificationMetadata: '{"cluster":"prod"}',
        HeartbeatTimeout: 120,
        GlobalTimeout: 12000, // 100 x HeartbeatTimeout, under the 48-hour cap
        DefaultResult: 'CONTINUE',
      },
    ]);
  });

  it('caps the global timeout at 48 hours', async function () {
    await clients.autoScaling.send(
      new PutLifecycleHookCommand({
        AutoScalingGroupName: groupName,
        LifecycleHookName: 'drain',
        LifecycleTransition: TERMINATING,
        HeartbeatTimeout: 7200,
      }),
    );

    const { LifecycleHooks } = await clients.autoScaling.send(
      new DescribeLifecycleHooksCommand({ AutoScalingGroupName: groupName }),
    );

    assert.equal(LifecycleHooks?.[0]?.GlobalTimeout, 172800);
  });

  it('sends the SQS target a test notification when the hook is created', async function () {
    await clients.autoScaling.send(
      new PutLifecycleHookCommand({
        AutoScalingGroupName: groupName,
        LifecycleHookName: 'drain',
        LifecycleTransition: TERMINATING,
        NotificationTargetARN: queue.arn,
        RoleARN: NOTIFICATION_ROLE_ARN,
      }),
    );

    const [notification] = await receiveNotifications(clients.sqs, queue.url);
    const body = notification!.body;
    assert.deepEqual(Object.keys(body), [
      'AccountId',
      'RequestId',
      'AutoScalingGroupARN',
      'AutoScalingGroupName',
      'Service',
      'Event',
      'Time',
    ]);
    assert.equal(body.Event, TEST_NOTIFICATION);
    assert.equal(body.Service, 'AWS Auto Scaling');
    assert.equal(body.AutoScalingGroupName, groupName);
    assert.match(String(body.AutoScalingGroupARN), new RegExp(`:autoScalingGroupName/${groupName}$`));
  });

  it('refuses a hook whose target queue does not exist, as AWS does', async function () {
    const missing = `arn:aws:sqs:us-east-1:123456789012:${uniqueName('missing')}`;

    await assert.rejects(
      clients.autoScaling.send(
        new PutLifecycleHookCommand({
          AutoScalingGroupName: groupName,
          LifecycleHookName: 'drain',
          LifecycleTransition: TERMINATING,
          NotificationTargetARN: missing,
          RoleARN: NOTIFICATION_ROLE_ARN,
        }),
      ),
      (error) => {
        assert.deepEqual(awsError(error), {
          code: 'ValidationError',
          message:
            `Unable to publish test message to notification target ${missing} using IAM role ${NOTIFICATION_ROLE_ARN}. ` +
            'Please check your target and role configuration and try to put lifecycle hook again.',
          status: 400,
        });
        return true;
      },
    );
  });
});
