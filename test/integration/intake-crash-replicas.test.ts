// The starter on the whole stack when it crashes at the worst moment (Temporal has the event, the
// message is not deleted yet) and when three replicas read one queue full of duplicates: every
// instance gets one workflow, one drain and one CompleteLifecycleAction.
import assert from 'node:assert/strict';
import { SendMessageCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { Client, Connection } from '@temporalio/client';
import { statusQuery, terminationWorkflowId } from '../../common/names.js';
import { recommendedQueueAttributes } from '../../starter/queue-settings.js';
import {
  awsClients,
  createGroupWithHook,
  createQueue,
  receiveNotifications,
  terminateInstance,
  waitFor,
  type GroupWithHook,
  type QueueRef,
} from '../helpers/aws.js';
import { injectFault, lifecycleCalls } from '../helpers/emulator.js';
import { activitySpans } from '../helpers/history.js';
import { nodeWithPod } from '../helpers/instance-node.js';
import { KubeFixture } from '../helpers/kube.js';
import { startTnth, type TnthProcess } from '../helpers/processes.js';
import { stackVar, testCluster } from '../helpers/stack-env.js';
import { stackClient, uniqueTaskQueue } from '../helpers/temporal.js';
import { executionsOf, messagesIn, signalledEvents } from '../starter/stack.js';

const managedTag = 'aws-node-termination-handler/managed';
const crashRuns = 10;
const replicaInstances = 5;

describe('integration: the starter crashing between hand-off and delete, and three starters on one queue', function () {
  this.timeout(15 * 60_000);
  let client: Client;
  let connection: Connection;
  const aws = awsClients();
  const kube = new KubeFixture();
  const groups: GroupWithHook[] = [];
  const processes: TnthProcess[] = [];
  const taskQueue = uniqueTaskQueue('intake-crash');
  const env = (queue: QueueRef | undefined) => ({
    TEMPORAL_TASK_QUEUE: taskQueue,
    KUBECONFIG: stackVar('SERVICE_KUBECONFIG'),
    ...(queue ? { QUEUE_URL: queue.url } : {}),
  });
  const start = (what: 'worker' | 'starter', queue?: QueueRef) => {
    const proc = startTnth(what, env(queue));
    processes.push(proc);
    return proc;
  };

  before(async () => {
    ({ client, connection } = await stackClient());
    await kube.ensureNamespace();
    // One worker for both tests, on their task queue.
    start('worker');
  });

  after(async function () {
    this.timeout(120_000);
    await Promise.all(processes.map((p) => p.stop()));
    await kube.cleanup();
    await Promise.all(groups.map((g) => g.delete().catch(() => undefined)));
    await connection?.close();
  });

  /** A group of `count` instances, each with its node and one pod, its hook notifying `queue`. */
  async function groupWithNodes(count: number, queue: QueueRef): Promise<GroupWithHook> {
    const group = await createGroupWithHook({
      desiredCapacity: count,
      heartbeatTimeout: 120,
      defaultResult: 'ABANDON',
      tags: { [managedTag]: 'true' },
      queue,
    });
    groups.push(group);
    for (const instanceId of group.instanceIds) await nodeWithPod(kube, aws.ec2, instanceId);
    return group;
  }

  /** One workflow, one drain and one CompleteLifecycleAction (CONTINUE) for each instance of the groups. */
  async function assertOnceEach(of: GroupWithHook[]): Promise<{ signals: number; duplicatesIgnored: number }> {
    let signals = 0;
    let duplicatesIgnored = 0;
    for (const group of of) {
      for (const instanceId of group.instanceIds) {
        const handle = client.workflow.getHandle(terminationWorkflowId(testCluster, instanceId));
        const status = await waitFor(
          `the termination of ${instanceId}`,
          async () => {
            const s = await handle.query(statusQuery).catch(() => undefined);
            return s?.phase === 'Done' && s;
          },
          { timeoutMs: 120_000, intervalMs: 500 },
        );
        assert.equal((await executionsOf(client, instanceId)).length, 1, `${instanceId}: more than one workflow`);
        const drains = (await activitySpans(handle)).filter((s) => s.type === 'drainNode');
        assert.equal(drains.length, 1, `${instanceId}: ${drains.length} drains`);
        const completions = await lifecycleCalls({ group: group.groupName, actions: ['CompleteLifecycleAction'] });
        assert.deepEqual(
          completions.filter((c) => c.instanceId === instanceId).map((c) => [c.outcome, c.result]),
          [['ok', 'CONTINUE']],
          `${instanceId}: not exactly one CompleteLifecycleAction`,
        );
        signals += (await signalledEvents(handle)).length;
        duplicatesIgnored += status.duplicatesIgnored;
      }
    }
    return { signals, duplicatesIgnored };
  }

  it(`loses nothing and does nothing twice when the starter is killed after the hand-off and before the delete (${crashRuns} runs)`, async () => {
    // Every run on a queue, a group and starters of its own, all runs at once.
    const runs = Array.from({ length: crashRuns }, async (_, run) => {
      const queue = await createQueue(aws.sqs, 'tnth-crash');
      // The visibility timeout recommended for production: the message the killed starter did not
      // delete comes back after it, as it would in a cluster.
      await aws.sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: queue.url,
          Attributes: { VisibilityTimeout: String(recommendedQueueAttributes.VisibilityTimeout) },
        }),
      );
      const group = await groupWithNodes(1, queue);
      const instanceId = group.instanceIds[0]!;
      // The worst moment, found by a fault: Temporal has accepted the event, the delete fails.
      const fault = await injectFault({
        action: 'DeleteMessageBatch',
        errorCode: 'InternalError',
        params: { QueueUrl: queue.url },
      });
      const doomed = start('starter', queue);
      const since = new Date().toISOString();
      await terminateInstance(group, instanceId);
      await waitFor(
        `run ${run + 1}: a refused delete after the hand-off`,
        async () =>
          (await lifecycleCalls()).some(
            (c) =>
              c.action === 'DeleteMessageBatch' &&
              c.queue === queue.name &&
              c.outcome === 'InternalError' &&
              c.time >= since,
          ),
        { timeoutMs: 120_000, intervalMs: 200 },
      );
      doomed.child.kill('SIGKILL');
      await doomed.exited;
      await fault.remove();
      const next = start('starter', queue);
      const handle = client.workflow.getHandle(terminationWorkflowId(testCluster, instanceId));
      await waitFor(
        `run ${run + 1}: the redelivered message handed off to the same workflow`,
        async () => (await signalledEvents(handle)).length >= 2,
        { timeoutMs: 120_000, intervalMs: 500 },
      );
      await waitFor(`run ${run + 1}: the queue empty`, async () => (await messagesIn(aws.sqs, queue.url)) === 0, {
        timeoutMs: 60_000,
      });
      assert.equal(await next.stop(), 0);
      return group;
    });
    const crashed = await Promise.all(runs);
    const { signals, duplicatesIgnored } = await assertOnceEach(crashed);
    console.log(
      `    ${crashRuns} crashes: ${crashRuns} workflows, ${crashRuns} drains, ${crashRuns} completions; ${signals} signals, ${duplicatesIgnored} duplicates ignored`,
    );
    assert.equal(duplicatesIgnored, crashRuns, 'each redelivery reached its workflow and was ignored there');
  });

  it('does each termination once with three starters reading one queue of duplicated notices', async () => {
    const holding = await createQueue(aws.sqs, 'tnth-replicas-hold');
    const queue = await createQueue(aws.sqs, 'tnth-replicas');
    const group = await groupWithNodes(replicaInstances, holding);
    for (const instanceId of group.instanceIds) await terminateInstance(group, instanceId);
    const notices = await receiveNotifications(aws.sqs, holding.url, {
      count: replicaInstances,
      what: 'the lifecycle notifications',
      timeoutMs: 30_000,
    });
    // Every notice three times, all on the queue at once, before any starter reads it.
    for (let copy = 0; copy < 3; copy++) {
      for (const notice of notices)
        await aws.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: notice.raw }));
    }
    for (let replica = 0; replica < 3; replica++) start('starter', queue);
    await waitFor('the queue empty', async () => (await messagesIn(aws.sqs, queue.url)) === 0, { timeoutMs: 60_000 });
    const { signals, duplicatesIgnored } = await assertOnceEach([group]);
    console.log(
      `    3 starters, ${replicaInstances * 3} messages for ${replicaInstances} instances: ${replicaInstances} workflows, ${replicaInstances} drains, ${replicaInstances} completions; ${signals} signals, ${duplicatesIgnored} duplicates ignored`,
    );
    assert.equal(signals, replicaInstances * 3);
    assert.equal(duplicatesIgnored, replicaInstances * 2);
  });
});
