import assert from 'node:assert/strict';
import {
  RecordLifecycleActionHeartbeatCommand,
  SetDesiredCapacityCommand,
  UpdateAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  TERMINATING,
  awsClients,
  awsError,
  completeAction,
  createGroupWithHook,
  ec2State,
  groupInstances,
  receiveNotifications,
  terminateInstance,
  type GroupWithHook,
  type GroupWithHookOptions,
} from '../helpers/aws.js';
import { lifecycleCalls, type LifecycleCall } from '../helpers/emulator.js';

const clients = awsClients();

describe('AWS emulator: terminations through a TERMINATING hook', function () {
  const groups: GroupWithHook[] = [];
  async function group(options: GroupWithHookOptions = {}): Promise<GroupWithHook> {
    const created = await createGroupWithHook(options, clients);
    groups.push(created);
    return created;
  }
  afterEach(async function () {
    for (const created of groups.splice(0)) await created.delete();
  });

  function heartbeat(g: GroupWithHook, input: { instanceId?: string; token?: string }) {
    return clients.autoScaling.send(
      new RecordLifecycleActionHeartbeatCommand({
        AutoScalingGroupName: g.groupName,
        LifecycleHookName: g.hookName,
        InstanceId: input.instanceId,
        LifecycleActionToken: input.token,
      }),
    );
  }

  it('holds the instance until three heartbeats and CONTINUE, then terminates it, logging every step', async function () {
    const g = await group({ heartbeatTimeout: 60, defaultResult: 'ABANDON', notificationMetadata: 'node-pool=a' });
    const [instanceId] = g.instanceIds as [string];

    await terminateInstance(g, instanceId);
    const [notification] = await receiveNotifications(clients.sqs, g.queue!.url);
    const token = String(notification!.body.LifecycleActionToken);
    assert.deepEqual(Object.keys(notification!.body), [
      'Origin',
      'LifecycleHookName',
      'Destination',
      'AccountId',
      'RequestId',
      'LifecycleTransition',
      'AutoScalingGroupName',
      'Service',
      'Time',
      'EC2InstanceId',
      'NotificationMetadata',
      'LifecycleActionToken',
    ]);
    assert.deepEqual(
      { ...notification!.body, RequestId: undefined, Time: undefined, LifecycleActionToken: undefined },
      {
        Origin: 'AutoScalingGroup',
        LifecycleHookName: g.hookName,
        Destination: 'EC2',
        AccountId: '123456789012',
        RequestId: undefined,
        LifecycleTransition: TERMINATING,
        AutoScalingGroupName: g.groupName,
        Service: 'AWS Auto Scaling',
        Time: undefined,
        EC2InstanceId: instanceId,
        NotificationMetadata: 'node-pool=a',
        LifecycleActionToken: undefined,
      },
    );
    assert.match(String(notification!.body.Time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    await heartbeat(g, { instanceId, token });
    await heartbeat(g, { token });
    await heartbeat(g, { instanceId });
    assert.equal((await groupInstances(g)).get(instanceId), 'Terminating:Wait');
    assert.equal(await ec2State(clients.ec2, instanceId), 'running');

    await completeAction(g, { instanceId, token, result: 'CONTINUE' });

    assert.equal(await ec2State(clients.ec2, instanceId), 'terminated');
    assert.equal((await groupInstances(g)).has(instanceId), false);
    const calls = await lifecycleCalls({ group: g.groupName });
    const step = (action: string, result?: string, instance: string | null = instanceId) => ({
      action,
      instanceId: instance,
      token: instance && token,
      hook: instance && g.hookName,
      group: g.groupName,
      outcome: 'ok',
      result,
    });
    const shape = ({ action, instanceId, token, hook, group, outcome, result }: LifecycleCall) => ({
      action,
      instanceId,
      token,
      hook,
      group,
      outcome,
      result,
    });
    assert.deepEqual(calls.map(shape), [
      step('DeleteMessage', undefined, null), // the test notification, drained by createGroupWithHook
      step('LifecycleActionStarted'),
      step('DeleteMessage'),
      step('RecordLifecycleActionHeartbeat'),
      step('RecordLifecycleActionHeartbeat'),
      step('RecordLifecycleActionHeartbeat'),
      step('CompleteLifecycleAction', 'CONTINUE'),
      step('LifecycleActionCompleted', 'CONTINUE'),
    ]);
    const { state, transition, heartbeatTimeout, globalTimeout, defaultResult, timeScale } = calls[1]!;
    assert.deepEqual(
      { state, transition, heartbeatTimeout, globalTimeout, defaultResult, timeScale },
      {
        state: 'Terminating:Wait',
        transition: TERMINATING,
        heartbeatTimeout: 60,
        globalTimeout: 6000,
        defaultResult: 'ABANDON',
        timeScale: 1,
      },
    );
    const times = calls.map((call) => Date.parse(call.time));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => a - b),
    );
  });

  it('gives every termination a fresh lifecycle action token', async function () {
    const g = await group({ desiredCapacity: 2 });

    for (const instanceId of g.instanceIds) await terminateInstance(g, instanceId);

    const notifications = await receiveNotifications(clients.sqs, g.queue!.url, { count: 2 });
    const tokens = new Set(notifications.map((n) => n.body.LifecycleActionToken));
    assert.equal(tokens.size, 2);
  });

  it('sends the instance a SetDesiredCapacity decrease removes through the hook', async function () {
    const g = await group({ desiredCapacity: 2 });

    await clients.autoScaling.send(
      new SetDesiredCapacityCommand({ AutoScalingGroupName: g.groupName, DesiredCapacity: 1 }),
    );

    const [notification] = await receiveNotifications(clients.sqs, g.queue!.url);
    const states = await groupInstances(g);
    assert.equal(states.get(String(notification!.body.EC2InstanceId)), 'Terminating:Wait');
    assert.deepEqual([...states.values()].sort(), ['InService', 'Terminating:Wait']);
  });

  it('sends the instances an UpdateAutoScalingGroup decrease removes through the hook', async function () {
    const g = await group({ desiredCapacity: 3 });

    await clients.autoScaling.send(
      new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: g.groupName, DesiredCapacity: 1 }),
    );

    const notifications = await receiveNotifications(clients.sqs, g.queue!.url, { count: 2 });
    const states = await groupInstances(g);
    for (const n of notifications) assert.equal(states.get(String(n.body.EC2InstanceId)), 'Terminating:Wait');
  });

  it('terminates the instance on ABANDON as well', async function () {
    const g = await group();
    const [instanceId] = g.instanceIds as [string];
    await terminateInstance(g, instanceId);

    await completeAction(g, { instanceId, result: 'ABANDON' });

    assert.equal(await ec2State(clients.ec2, instanceId), 'terminated');
    const [completed] = await lifecycleCalls({ group: g.groupName, actions: ['LifecycleActionCompleted'] });
    assert.equal(completed!.result, 'ABANDON');
  });

  it('refuses a second CompleteLifecycleAction with the error AWS gives', async function () {
    const g = await group();
    const [instanceId] = g.instanceIds as [string];
    await terminateInstance(g, instanceId);
    const [notification] = await receiveNotifications(clients.sqs, g.queue!.url);
    const token = String(notification!.body.LifecycleActionToken);
    await completeAction(g, { instanceId, token, result: 'CONTINUE' });

    await assert.rejects(completeAction(g, { instanceId, token, result: 'CONTINUE' }), (error) => {
      assert.deepEqual(awsError(error), {
        code: 'ValidationError',
        message: `No active Lifecycle Action found with instance ID ${instanceId}`,
        status: 400,
      });
      return true;
    });
    const completions = await lifecycleCalls({ group: g.groupName, actions: ['CompleteLifecycleAction'] });
    assert.deepEqual(
      completions.map((call) => call.outcome),
      ['ok', 'ValidationError'],
    );
  });

  it('refuses heartbeats for unknown instances and for completed actions with the error AWS gives', async function () {
    const g = await group();
    const [instanceId] = g.instanceIds as [string];

    await assert.rejects(heartbeat(g, { instanceId: 'i-0123456789abcdef0' }), (error) => {
      assert.deepEqual(awsError(error), {
        code: 'ValidationError',
        message: 'No active Lifecycle Action found with instance ID i-0123456789abcdef0',
        status: 400,
      });
      return true;
    });
    await terminateInstance(g, instanceId);
    await completeAction(g, { instanceId, result: 'CONTINUE' });
    await assert.rejects(heartbeat(g, { instanceId }), {
      name: 'ValidationError',
      message: `No active Lifecycle Action found with instance ID ${instanceId}`,
    });
  });

  it('launches a replacement at once when the termination does not decrement the capacity', async function () {
    const g = await group();
    const [instanceId] = g.instanceIds as [string];

    await terminateInstance(g, instanceId, { decrement: false });

    const states = await groupInstances(g);
    assert.equal(states.get(instanceId), 'Terminating:Wait');
    states.delete(instanceId);
    assert.deepEqual([...states.values()], ['InService']);
  });

  it('puts the EventBridge event on the queue when the group asks for that format', async function () {
    const g = await group({ notificationFormat: 'eventbridge', notificationMetadata: 'm' });
    const [instanceId] = g.instanceIds as [string];

    await terminateInstance(g, instanceId);

    const [event] = await receiveNotifications(clients.sqs, g.queue!.url);
    const body = event!.body;
    assert.deepEqual(Object.keys(body), [
      'version',
      'id',
      'detail-type',
      'source',
      'account',
      'time',
      'region',
      'resources',
      'detail',
    ]);
    assert.equal(body['detail-type'], 'EC2 Instance-terminate Lifecycle Action');
    assert.equal(body.source, 'aws.autoscaling');
    assert.equal(body.account, '123456789012');
    assert.equal(body.region, 'us-east-1');
    assert.match(String(body.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(body.resources, [g.groupArn]);
    const detail = body.detail as Record<string, unknown>;
    assert.deepEqual(Object.keys(detail), [
      'LifecycleActionToken',
      'AutoScalingGroupName',
      'LifecycleHookName',
      'EC2InstanceId',
      'LifecycleTransition',
      'NotificationMetadata',
      'Origin',
      'Destination',
    ]);
    assert.deepEqual(
      { ...detail, LifecycleActionToken: undefined },
      {
        LifecycleActionToken: undefined,
        AutoScalingGroupName: g.groupName,
        LifecycleHookName: g.hookName,
        EC2InstanceId: instanceId,
        LifecycleTransition: TERMINATING,
        NotificationMetadata: 'm',
        Origin: 'AutoScalingGroup',
        Destination: 'EC2',
      },
    );
  });
});
