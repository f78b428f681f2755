import assert from 'node:assert/strict';
import { DescribeAutoScalingInstancesCommand, SetDesiredCapacityCommand } from '@aws-sdk/client-auto-scaling';
import {
  LAUNCHING,
  awsClients,
  completeAction,
  createGroupWithHook,
  ec2State,
  groupInstances,
  receiveNotifications,
  type GroupWithHook,
} from '../helpers/aws.js';

const clients = awsClients();

describe('AWS emulator: launches through a LAUNCHING hook', function () {
  const groups: GroupWithHook[] = [];
  async function launchingGroup(options: { notificationFormat?: 'eventbridge' } = {}): Promise<GroupWithHook> {
    const g = await createGroupWithHook(
      { transition: LAUNCHING, hookName: 'warm-up', desiredCapacity: 0, ...options },
      clients,
    );
    groups.push(g);
    return g;
  }
  afterEach(async function () {
    for (const created of groups.splice(0)) await created.delete();
  });

  it('holds a new instance in Pending:Wait and notifies the hook target', async function () {
    const g = await launchingGroup();

    await clients.autoScaling.send(
      new SetDesiredCapacityCommand({ AutoScalingGroupName: g.groupName, DesiredCapacity: 1 }),
    );

    const [[instanceId, state]] = [...(await groupInstances(g))] as [[string, string]];
    assert.equal(state, 'Pending:Wait');
    const [notification] = await receiveNotifications(clients.sqs, g.queue!.url);
    const body = notification!.body;
    assert.deepEqual(
      [body.Origin, body.Destination, body.LifecycleTransition, body.EC2InstanceId, body.LifecycleHookName],
      ['EC2', 'AutoScalingGroup', LAUNCHING, instanceId, 'warm-up'],
    );
    assert.equal('NotificationMetadata' in body, false);
  });

  it('puts the instance in service on CONTINUE', async function () {
    const g = await launchingGroup();
    await clients.autoScaling.send(
      new SetDesiredCapacityCommand({ AutoScalingGroupName: g.groupName, DesiredCapacity: 1 }),
    );
    const [instanceId] = [...(await groupInstances(g)).keys()] as [string];

    await completeAction(g, { instanceId, result: 'CONTINUE' });

    const { AutoScalingInstances } = await clients.autoScaling.send(
      new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }),
    );
    assert.equal(AutoScalingInstances?.[0]?.LifecycleState, 'InService');
  });

  it('terminates the instance on ABANDON and launches another in its place', async function () {
    const g = await launchingGroup();
    await clients.autoScaling.send(
      new SetDesiredCapacityCommand({ AutoScalingGroupName: g.groupName, DesiredCapacity: 1 }),
    );
    const [instanceId] = [...(await groupInstances(g)).keys()] as [string];

    await completeAction(g, { instanceId, result: 'ABANDON' });

    assert.equal(await ec2State(clients.ec2, instanceId), 'terminated');
    const [[replacement, state]] = [...(await groupInstances(g))] as [[string, string]];
    assert.notEqual(replacement, instanceId);
    assert.equal(state, 'Pending:Wait');
  });

  it('sends the launch event in the EventBridge format when the group asks for it', async function () {
    const g = await launchingGroup({ notificationFormat: 'eventbridge' });

    await clients.autoScaling.send(
      new SetDesiredCapacityCommand({ AutoScalingGroupName: g.groupName, DesiredCapacity: 1 }),
    );

    const [event] = await receiveNotifications(clients.sqs, g.queue!.url);
    assert.equal(event!.body['detail-type'], 'EC2 Instance-launch Lifecycle Action');
    const detail = event!.body.detail as Record<string, unknown>;
    assert.deepEqual(
      [detail.Origin, detail.Destination, detail.LifecycleTransition],
      ['EC2', 'AutoScalingGroup', LAUNCHING],
    );
  });
});
