import assert from 'node:assert/strict';
import { DeleteQueueCommand } from '@aws-sdk/client-sqs';
import type { Client, Connection } from '@temporalio/client';
import { terminationWorkflowId } from '../../common/names.js';
import {
  awsClients,
  createGroupWithHook,
  createQueue,
  terminateInstance,
  waitFor,
  type GroupWithHook,
} from '../helpers/aws.js';
import { startTnth, type TnthProcess } from '../helpers/processes.js';
import { stackClient, uniqueTaskQueue } from '../helpers/temporal.js';
import { exists, messagesIn, send, signalledEvents, terminateAll, withFreshInstances } from './stack.js';
import { testCluster } from '../helpers/stack-env.js';

describe('tnth starter as a process, on the stack', function () {
  this.timeout(120_000);
  let client: Client;
  let connection: Connection;
  const sqs = awsClients().sqs;
  const instanceIds = new Set<string>();
  const processes: TnthProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  before(async () => ({ client, connection } = await stackClient()));
  after(async () => {
    await Promise.all(processes.map((p) => p.stop(5_000)));
    await terminateAll(client, instanceIds);
    await Promise.all(cleanups.map((cleanup) => cleanup().catch(() => undefined)));
    await connection?.close();
  });

  it('answers its probes, hands off a message, then on SIGTERM stops its long polls at once and exits 0', async () => {
    const queue = await createQueue(sqs, 'intake-process');
    cleanups.push(async () => void (await sqs.send(new DeleteQueueCommand({ QueueUrl: queue.url }))));
    const probes = 18000 + Math.floor(Math.random() * 1000);
    const starter = startTnth('starter', {
      QUEUE_URL: queue.url,
      TEMPORAL_TASK_QUEUE: uniqueTaskQueue('intake'),
      ENABLE_PROBES_SERVER: 'true',
      PROBES_SERVER_PORT: String(probes),
      ENABLE_PROMETHEUS_SERVER: 'true',
      PROMETHEUS_SERVER_PORT: String(probes + 1000),
    });
    processes.push(starter);
    // Ready once Temporal answered its first check and SQS its first call (a 503 before says which is missing).
    for (const path of ['/healthz', '/readyz']) {
      const status = await waitFor(`the starter's ${path} to answer 200`, () =>
        fetch(`http://127.0.0.1:${probes}${path}`).then(
          (r) => (r.status === 200 ? r.status : false),
          () => false as const,
        ),
      );
      assert.equal(status, 200, path);
    }
    const { body, renamed } = withFreshInstances('spot-interruption.eventbridge.json');
    const [instanceId] = [...renamed.values()];
    assert.ok(instanceId);
    instanceIds.add(instanceId);
    const messageId = await send(sqs, queue.url, body);
    await waitFor(
      'the termination workflow',
      () => exists(client.workflow.getHandle(terminationWorkflowId(testCluster, instanceId))),
      {
        timeoutMs: 30_000,
      },
    );
    await waitFor('the message to be deleted', async () => (await messagesIn(sqs, queue.url)) === 0);
    await waitFor('the hand-off log line', async () =>
      Promise.resolve(starter.logs().some((line) => line.msg === 'handed off' && line.messageId === messageId)),
    );

    const metrics = await (await fetch(`http://127.0.0.1:${probes + 1000}/metrics`)).text();
    assert.match(metrics, /^tnth_starter_messages_received_total [1-9]/m);

    // Idle now: every poller sits in a 20 s long poll, which SIGTERM must not wait out.
    const stopping = Date.now();
    const code = await starter.stop(15_000);
    assert.equal(code, 0, starter.output());
    assert.ok(Date.now() - stopping < 10_000, `took ${Date.now() - stopping} ms to stop`);
    assert.ok(starter.logs().some((line) => /starter stopped/.test(String(line.msg))));
  });

  it('refuses to start with a bad variable, naming it, and exits 2', async () => {
    const starter = startTnth('starter', { QUEUE_URL: 'sqs-queue-without-scheme', STARTER_POLLERS: '0' });
    processes.push(starter);
    assert.equal(await starter.exited, 2);
    assert.match(starter.output(), /QUEUE_URL="sqs-queue-without-scheme": /);
    assert.match(starter.output(), /STARTER_POLLERS="0": /);
  });

  for (const format of ['direct', 'eventbridge'] as const) {
    it(`starts the termination workflow from the emulator's own ${format} lifecycle notification and deletes its test notification`, async () => {
      const group: GroupWithHook = await createGroupWithHook({
        notificationFormat: format,
        drainTestNotification: false,
      });
      cleanups.push(() => group.delete());
      const [instanceId] = group.instanceIds;
      assert.ok(instanceId);
      instanceIds.add(instanceId);
      const queueUrl = group.queue!.url;
      const starter = startTnth('starter', { QUEUE_URL: queueUrl, TEMPORAL_TASK_QUEUE: uniqueTaskQueue('intake') });
      processes.push(starter);
      await waitFor('the test notification to be deleted', async () => (await messagesIn(sqs, queueUrl)) === 0, {
        timeoutMs: 30_000,
      });

      await terminateInstance(group, instanceId);
      const handle = client.workflow.getHandle(terminationWorkflowId(testCluster, instanceId));
      await waitFor('the termination workflow', () => exists(handle), { timeoutMs: 30_000 });
      const [event, ...more] = await signalledEvents(handle);
      assert.deepEqual(more, []);
      assert.equal(event?.kind, 'asg-terminate');
      assert.ok(event && 'lifecycleActionToken' in event && event.lifecycleActionToken.length > 0);
      assert.equal(event.autoScalingGroupName, group.groupName);
      assert.equal(event.lifecycleHookName, group.hookName);
      await waitFor('the notification to be deleted', async () => (await messagesIn(sqs, queueUrl)) === 0);
      assert.equal(await starter.stop(15_000), 0);
    });
  }
});
