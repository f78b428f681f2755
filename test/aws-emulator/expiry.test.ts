import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { RecordLifecycleActionHeartbeatCommand } from '@aws-sdk/client-auto-scaling';
import {
  awsClients,
  completeAction,
  createGroupWithHook,
  ec2State,
  groupInstances,
  terminateInstance,
  waitFor,
  type GroupWithHook,
} from '../helpers/aws.js';
import { lifecycleCalls } from '../helpers/emulator.js';

const clients = awsClients();

// Expiry runs on the group's own clock: the `timeScale` tag speeds it up without changing the numbers
// the API accepts and returns (HeartbeatTimeout stays 30), and without touching other tests' groups.
describe('AWS emulator: lifecycle action expiry', function () {
  const groups: GroupWithHook[] = [];
  afterEach(async function () {
    for (const created of groups.splice(0)) await created.delete();
  });

  for (const defaultResult of ['ABANDON', 'CONTINUE'] as const) {
    it(`applies DefaultResult ${defaultResult} when no heartbeat arrives within HeartbeatTimeout`, async function () {
      // 30 s at a hundredth of real time: the action expires 0.3 s after it starts.
      const g = await createGroupWithHook({ heartbeatTimeout: 30, defaultResult, timeScale: 0.01 }, clients);
      groups.push(g);
      const [instanceId] = g.instanceIds as [string];

      await terminateInstance(g, instanceId);

      await waitFor('the expired instance to be terminated', async () =>
        (await ec2State(clients.ec2, instanceId)) === 'terminated' ? true : undefined,
      );
      assert.equal((await groupInstances(g)).has(instanceId), false);
      const [started, expired, ...rest] = await lifecycleCalls({
        group: g.groupName,
        actions: ['LifecycleActionStarted', 'LifecycleActionExpired', 'LifecycleActionCompleted'],
      });
      assert.deepEqual(rest, []);
      assert.equal(started!.action, 'LifecycleActionStarted');
      assert.deepEqual(
        { action: expired!.action, result: expired!.result, reason: expired!.reason, token: expired!.token },
        { action: 'LifecycleActionExpired', result: defaultResult, reason: 'HeartbeatTimeout', token: started!.token },
      );
      const waitedMs = Date.parse(expired!.time) - Date.parse(started!.time);
      assert.ok(waitedMs >= 290, `expired after ${waitedMs} ms, before the scaled 300 ms heartbeat timeout`);
      await assert.rejects(completeAction(g, { instanceId, result: 'CONTINUE' }), {
        name: 'ValidationError',
        message: `No active Lifecycle Action found with instance ID ${instanceId}`,
      });
    });
  }

  it('keeps the instance waiting past HeartbeatTimeout while heartbeats arrive', async function () {
    // 30 s at a twentieth of real time: 1.5 s between heartbeats would expire it; they come every 0.25 s.
    const g = await createGroupWithHook({ heartbeatTimeout: 30, timeScale: 0.05 }, clients);
    groups.push(g);
    const [instanceId] = g.instanceIds as [string];
    await terminateInstance(g, instanceId);

    const until = Date.now() + 3_000;
    while (Date.now() < until) {
      await clients.autoScaling.send(
        new RecordLifecycleActionHeartbeatCommand({
          AutoScalingGroupName: g.groupName,
          LifecycleHookName: g.hookName,
          InstanceId: instanceId,
        }),
      );
      await sleep(250);
    }

    assert.equal((await groupInstances(g)).get(instanceId), 'Terminating:Wait');
    assert.deepEqual(await lifecycleCalls({ group: g.groupName, actions: ['LifecycleActionExpired'] }), []);
    await completeAction(g, { instanceId, result: 'CONTINUE' });
  });
});
