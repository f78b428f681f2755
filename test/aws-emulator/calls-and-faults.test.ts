import assert from 'node:assert/strict';
import { RecordLifecycleActionHeartbeatCommand } from '@aws-sdk/client-auto-scaling';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import {
  awsClients,
  awsError,
  completeAction,
  createGroupWithHook,
  terminateInstance,
  type GroupWithHook,
} from '../helpers/aws.js';
import { clearLifecycleCalls, injectFault, lifecycleCalls, type InjectedFault } from '../helpers/emulator.js';

const clients = awsClients();
// No retries: an injected error reaches the test as the service would first see it.
const once = awsClients({ maxAttempts: 1 });

describe('AWS emulator: fault injection and the call log', function () {
  const groups: GroupWithHook[] = [];
  const faults: InjectedFault[] = [];
  async function waitingGroup(desiredCapacity = 1): Promise<GroupWithHook> {
    const g = await createGroupWithHook({ desiredCapacity }, clients);
    groups.push(g);
    for (const instanceId of g.instanceIds) await terminateInstance(g, instanceId);
    return g;
  }
  function heartbeat(g: GroupWithHook, instanceId: string) {
    return once.autoScaling.send(
      new RecordLifecycleActionHeartbeatCommand({
        AutoScalingGroupName: g.groupName,
        LifecycleHookName: g.hookName,
        InstanceId: instanceId,
      }),
    );
  }
  afterEach(async function () {
    for (const fault of faults.splice(0)) await fault.remove();
    for (const created of groups.splice(0)) await created.delete();
  });

  it('fails every matching call with the injected AWS error and logs its code as the outcome', async function () {
    const g = await waitingGroup();
    const [instanceId] = g.instanceIds as [string];
    faults.push(
      await injectFault({
        action: 'RecordLifecycleActionHeartbeat',
        errorCode: 'Throttling',
        params: { AutoScalingGroupName: g.groupName },
      }),
    );

    for (let attempt = 0; attempt < 2; attempt++) {
      await assert.rejects(heartbeat(g, instanceId), (error) => {
        assert.deepEqual(awsError(error), { code: 'Throttling', message: 'Rate exceeded', status: 400 });
        return true;
      });
    }

    const heartbeats = await lifecycleCalls({ group: g.groupName, actions: ['RecordLifecycleActionHeartbeat'] });
    assert.deepEqual(
      heartbeats.map((call) => [call.instanceId, call.outcome]),
      [
        [instanceId, 'Throttling'],
        [instanceId, 'Throttling'],
      ],
    );
    await faults.pop()!.remove();
    await heartbeat(g, instanceId);
  });

  it('fails about the given fraction of calls at rate 0.5', async function () {
    const g = await waitingGroup();
    const [instanceId] = g.instanceIds as [string];
    faults.push(
      await injectFault({
        action: 'RecordLifecycleActionHeartbeat',
        errorCode: 'Throttling',
        rate: 0.5,
        params: { AutoScalingGroupName: g.groupName },
      }),
    );

    const outcomes = await Promise.all(
      Array.from({ length: 40 }, () =>
        heartbeat(g, instanceId).then(
          () => 'ok',
          (error: unknown) => awsError(error).code,
        ),
      ),
    );

    const failed = outcomes.filter((outcome) => outcome === 'Throttling').length;
    // Binomial(40, 0.5) falls outside 5..35 about once in ten million runs.
    assert.ok(failed >= 5 && failed <= 35, `${failed} of 40 calls failed`);
    assert.equal(outcomes.length - failed, outcomes.filter((outcome) => outcome === 'ok').length);
  });

  it('stops failing once a fault with a count is spent', async function () {
    const g = await waitingGroup();
    const [instanceId] = g.instanceIds as [string];
    await injectFault({
      action: 'RecordLifecycleActionHeartbeat',
      errorCode: 'ServiceUnavailable',
      count: 1,
      params: { InstanceId: instanceId },
    });

    await assert.rejects(heartbeat(g, instanceId), (error) => {
      assert.deepEqual(awsError(error).status, 503);
      return true;
    });
    await heartbeat(g, instanceId);
  });

  it('removes one fault by its id and leaves the others', async function () {
    const g = await waitingGroup();
    const [instanceId] = g.instanceIds as [string];
    const removed = await injectFault({
      action: 'RecordLifecycleActionHeartbeat',
      errorCode: 'Throttling',
      params: { InstanceId: instanceId },
    });
    faults.push(
      await injectFault({
        action: 'CompleteLifecycleAction',
        errorCode: 'Throttling',
        params: { InstanceId: instanceId },
      }),
    );

    await removed.remove();

    await heartbeat(g, instanceId);
    await assert.rejects(completeAction(g, { instanceId, result: 'CONTINUE' }, once), { name: 'Throttling' });
  });

  it('logs one entry per DeleteMessageBatch entry, with the instance and token of the message it deleted', async function () {
    const g = await waitingGroup(2);
    const { Messages = [] } = await clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: g.queue!.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    assert.equal(Messages.length, 2);

    await clients.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: g.queue!.url,
        Entries: [
          ...Messages.map((message, n) => ({ Id: String(n), ReceiptHandle: message.ReceiptHandle })),
          { Id: 'stale', ReceiptHandle: 'not-a-receipt-handle' },
        ],
      }),
    );

    const started = await lifecycleCalls({ group: g.groupName, actions: ['LifecycleActionStarted'] });
    const deletes = (await lifecycleCalls({ actions: ['DeleteMessageBatch'] })).filter(
      (call) => call.queue === g.queue!.name,
    );
    assert.deepEqual(
      deletes.map((call) => [call.instanceId, call.token, call.outcome]).sort(),
      [...started.map((call) => [call.instanceId, call.token, 'ok']), [null, null, 'ReceiptHandleIsInvalid']].sort(),
    );
  });

  it('forgets the entries about one group on DELETE /_emulator/lifecycle-calls?group=', async function () {
    const g = await waitingGroup();
    const other = await waitingGroup();

    await clearLifecycleCalls(g.groupName);

    assert.deepEqual(await lifecycleCalls({ group: g.groupName }), []);
    assert.notDeepEqual(await lifecycleCalls({ group: other.groupName }), []);
  });
});
