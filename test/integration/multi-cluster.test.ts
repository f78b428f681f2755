// Two clusters in one account, on one Temporal namespace and (here) one API server, as many users run
// them: each cluster's worker and starter, its own queue, and one account-wide stream of lifecycle
// events (an EventBridge rule with a target per cluster) copied to both queues. Each cluster therefore
// sees every instance's termination and must handle its own alone, by the instance's tags. Each
// cluster's processes talk to AWS through an endpoint of their own (test/helpers/aws-recorder.ts),
// which is how the test tells which cluster made a lifecycle call.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import {
  DeleteMessageCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { WorkflowNotFoundError, type Client, type Connection } from '@temporalio/client';
import { defaultTaskQueue, statusQuery, terminationWorkflowId } from '../../common/names.js';
import { finishedPhases, type TerminationStatus } from '../../common/status.js';
import {
  awsClients,
  createGroupWithHook,
  createQueue,
  groupInstances,
  terminateInstance,
  waitFor,
  type GroupWithHook,
  type QueueRef,
} from '../helpers/aws.js';
import { awsRecorder, type AwsRecorder } from '../helpers/aws-recorder.js';
import { lifecycleCalls, type LifecycleCall } from '../helpers/emulator.js';
import { nodeWithPod } from '../helpers/instance-node.js';
import { KubeFixture } from '../helpers/kube.js';
import { startTnth, type TnthProcess } from '../helpers/processes.js';
import { prebuiltBundle } from '../helpers/service.js';
import { stackVar } from '../helpers/stack-env.js';
import { stackClient } from '../helpers/temporal.js';

const managedTag = 'aws-node-termination-handler/managed';
/** A hook as users set one; a drain of a few seconds needs no heartbeat, and none is shortened here. */
const hookTimeoutSeconds = 90;
const lifecycleApi = ['RecordLifecycleActionHeartbeat', 'CompleteLifecycleAction'];
const groupsPerCluster = 2;
const instancesPerGroup = 2;

interface Cluster {
  name: string;
  /** The tag its instances carry to name it: each cluster a different kind. */
  tag: Record<string, string>;
  queue: QueueRef;
  /** Its processes' AWS endpoint, which keeps the calls they made. */
  aws: AwsRecorder;
  metricsPort: number;
  worker: TnthProcess;
  starter: TnthProcess;
}

describe('integration: two clusters on one account, one namespace and one stream of events copied to both queues', function () {
  this.timeout(180_000);
  const run = randomUUID().slice(0, 8);
  const aws = awsClients();
  const kube = new KubeFixture();
  const groups: GroupWithHook[] = [];
  const workflowIds = new Set<string>();
  let client: Client;
  let connection: Connection;
  let source: QueueRef;
  let stream: { stop(): Promise<void> } | undefined;
  let a: Cluster;
  let b: Cluster;

  before(async () => {
    ({ client, connection } = await stackClient());
    await kube.ensureNamespace();
    const bundle = await prebuiltBundle();
    source = await createQueue(aws.sqs, 'tnth-account-stream');
    a = await startCluster(`a-${run}`, { [`kubernetes.io/cluster/a-${run}`]: 'owned' }, bundle);
    b = await startCluster(`b-${run}`, { 'eks:cluster-name': `b-${run}` }, bundle);
    stream = copyToEach(aws.sqs, source, [a.queue, b.queue]);
    for (const cluster of [a, b]) {
      await waitFor(
        `the worker of ${cluster.name} to start`,
        () => Promise.resolve(cluster.worker.logs().some((l) => l.msg === 'worker started')),
        { timeoutMs: 60_000, intervalMs: 200 },
      );
    }
  });

  after(async () => {
    const streamFailure = await stream?.stop().then(
      () => undefined,
      (error: unknown) => new Error('copying the account-wide stream to the queues failed', { cause: error }),
    );
    const clusters = [a, b].filter(Boolean);
    const codes = await Promise.all(clusters.flatMap((c) => [c.starter.stop(), c.worker.stop()]));
    // DUPLICATE_WINDOW (default 10 minutes) keeps every workflow open after its end.
    await Promise.all(
      [...workflowIds].map((id) =>
        client.workflow
          .getHandle(id)
          .terminate('test over')
          .catch(() => undefined),
      ),
    );
    await kube.cleanup();
    await Promise.all(groups.map((g) => g.delete()));
    const queues = [source, ...clusters.map((c) => c.queue)].filter(Boolean);
    await Promise.all(queues.map((q) => aws.sqs.send(new DeleteQueueCommand({ QueueUrl: q.url }))));
    await Promise.all(clusters.map((c) => c.aws.close()));
    await connection?.close();
    if (streamFailure) throw streamFailure;
    assert.ok(
      codes.every((code) => code === 0),
      `exit codes ${codes.join(', ')}; last output of the workers:\n${clusters.map((c) => c.worker.output().slice(-1500)).join('\n')}`,
    );
  });

  it("drains every instance once, by its own cluster; the other cluster's workflow ends OtherCluster and makes no lifecycle call", async () => {
    const created = await Promise.all(
      [a, b].flatMap((cluster) =>
        Array.from({ length: groupsPerCluster }, async () => ({
          cluster,
          group: await groupOf(cluster, source, instancesPerGroup),
        })),
      ),
    );
    const instances = await Promise.all(
      created.flatMap(({ cluster, group }) =>
        group.instanceIds.map(async (instanceId) => {
          const { nodeName, pod } = await nodeWithPod(kube, aws.ec2, instanceId);
          return { instanceId, cluster, other: cluster === a ? b : a, group, nodeName, pod: pod.metadata!.name! };
        }),
      ),
    );
    await Promise.all(instances.map((i) => terminateInstance(i.group, i.instanceId)));

    const ends = await Promise.all(
      instances.map(async (i) => ({
        ...i,
        own: await finished(i.cluster, i.instanceId),
        theirs: await finished(i.other, i.instanceId),
      })),
    );
    const problems: string[] = [];
    for (const i of ends) {
      const own = `${i.cluster.name}'s termination of ${i.instanceId}`;
      const theirs = `${i.other.name}'s termination of ${i.instanceId}`;
      if (i.own.phase !== 'Done' || i.own.lifecycle?.result !== 'CONTINUE') {
        problems.push(`${own} ended ${i.own.phase} (${i.own.lifecycle?.result}): ${i.own.lastError}`);
      }
      if (i.own.nodeName !== i.nodeName || !i.own.podsEvicted.includes(`${kube.namespace}/${i.pod}`)) {
        problems.push(`${own} did not drain ${i.nodeName}: evicted ${i.own.podsEvicted.join(', ') || 'nothing'}`);
      }
      if (i.theirs.phase !== 'OtherCluster') problems.push(`${theirs} ended ${i.theirs.phase}`);
      if (i.theirs.nodeName !== undefined || i.theirs.attempt > 0 || i.theirs.podsEvicted.length > 0) {
        problems.push(`${theirs} went to node ${i.theirs.nodeName} (${i.theirs.attempt} drain attempts)`);
      }
      if (i.theirs.heartbeatsSent > 0 || i.theirs.lifecycle?.result !== 'left-to-expire') {
        problems.push(
          `${theirs} held the action: ${i.theirs.heartbeatsSent} heartbeats, ${i.theirs.lifecycle?.result}`,
        );
      }
      for (const cluster of [i.cluster, i.other]) {
        const { taskQueue } = await workflow(cluster, i.instanceId).describe();
        if (taskQueue !== `${defaultTaskQueue}-${cluster.name}`) {
          problems.push(`${cluster.name}'s termination of ${i.instanceId} ran on task queue ${taskQueue}`);
        }
      }
    }
    assert.deepEqual(problems, [], 'terminations handled by the wrong cluster, or not handled');

    // Kubernetes: each node cordoned and drained, by its own cluster alone (the other never found it).
    for (const i of instances) {
      await kube.podGone(i.pod);
      assert.equal((await kube.kube.core.readNode({ name: i.nodeName })).spec?.unschedulable, true);
    }

    // AWS: one completion per action, every lifecycle call on it made through its own cluster's
    // endpoint, and each cluster's copy of the event taken off its own queue.
    const calls = (await Promise.all(groups.map((g) => lifecycleCalls({ group: g.groupName })))).flat();
    for (const i of instances) {
      const token = tokenOf(calls, i.instanceId);
      const onToken = calls.filter((c) => c.token === token);
      assert.deepEqual(
        onToken.filter((c) => c.action === 'CompleteLifecycleAction').map((c) => [c.outcome, c.result]),
        [['ok', 'CONTINUE']],
        `completions of ${i.instanceId}'s action`,
      );
      assert.deepEqual(
        onToken.filter((c) => c.action === 'LifecycleActionExpired'),
        [],
      );
      assert.deepEqual(
        autoScalingCallsOf(i.other, { ...i, token }),
        [],
        `${i.other.name} made Auto Scaling calls about ${i.cluster.name}'s instance ${i.instanceId}`,
      );
      assert.equal(
        i.cluster.aws.calls.filter((c) => lifecycleApi.includes(c.action) && c.params.LifecycleActionToken === token)
          .length,
        onToken.filter((c) => lifecycleApi.includes(c.action)).length,
        `the emulator logged lifecycle calls on ${i.instanceId}'s action that ${i.cluster.name} did not make`,
      );
      const deletedFrom = onToken.filter((c) => c.action.startsWith('DeleteMessage') && c.outcome === 'ok');
      for (const queue of [a.queue, b.queue]) {
        assert.ok(
          deletedFrom.some((c) => c.queue === queue.name),
          `${i.instanceId}'s event left on ${queue.name}`,
        );
      }
    }

    for (const cluster of [a, b]) {
      const others = instances.filter((i) => i.cluster !== cluster).length;
      await waitFor(
        `${cluster.name}'s worker to count ${others} instances of the other cluster as ignored`,
        async () => (await ignoredOtherCluster(cluster)) === others,
        { timeoutMs: 10_000, intervalMs: 200 },
      );
    }
  });

  it("leaves another cluster's lifecycle action alone when its event reaches this cluster's queue only", async () => {
    const group = await groupOf(b, a.queue, 1);
    const instanceId = group.instanceIds[0]!;
    const { nodeName, pod } = await nodeWithPod(kube, aws.ec2, instanceId);
    const ignoredBefore = await ignoredOtherCluster(a);
    await terminateInstance(group, instanceId);

    const status = await finished(a, instanceId);
    assert.equal(status.phase, 'OtherCluster', `${a.name}'s termination of ${b.name}'s instance`);
    assert.equal(status.heartbeatsSent, 0);
    assert.equal(status.lifecycle?.result, 'left-to-expire');
    assert.equal(status.nodeName, undefined, `${a.name} looked for ${b.name}'s node`);
    assert.ok(
      status.decisions.some((d) => d.includes(`belongs to cluster ${b.name} (tag eks:cluster-name)`)),
      status.decisions.join('\n'),
    );
    await waitFor(
      `${a.name}'s worker to count the instance as ignored`,
      async () => (await ignoredOtherCluster(a)) === ignoredBefore + 1,
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    assert.ok(
      a.aws.calls.some((c) => c.action === 'DescribeInstances' && Object.values(c.params).includes(instanceId)),
      `${a.name} decided without reading the instance's tags from EC2`,
    );

    const calls = await lifecycleCalls({ group: group.groupName });
    const token = tokenOf(calls, instanceId);
    assert.deepEqual(
      calls.filter((c) => c.token === token && (lifecycleApi.includes(c.action) || c.action.startsWith('Lifecycle'))),
      calls.filter((c) => c.token === token && c.action === 'LifecycleActionStarted'),
      'a call on the action, or its end, while it was left to its own cluster',
    );
    assert.deepEqual(autoScalingCallsOf(a, { instanceId, token, group }), [], `${a.name} called Auto Scaling about it`);
    assert.equal((await groupInstances(group)).get(instanceId), 'Terminating:Wait', 'the action is still pending');
    await assert.rejects(workflow(b, instanceId).describe(), WorkflowNotFoundError, `${b.name} saw the event`);
    const node = await kube.kube.core.readNode({ name: nodeName });
    assert.notEqual(node.spec?.unschedulable, true, `${a.name} cordoned ${b.name}'s node`);
    const left = await kube.kube.core.readNamespacedPod({ name: pod.metadata!.name!, namespace: kube.namespace });
    assert.equal(left.metadata?.deletionTimestamp, undefined, `${a.name} evicted a pod of ${b.name}'s node`);
  });

  /** A worker and a starter for cluster `name`, as its users run them, on its own queue. */
  async function startCluster(name: string, tag: Record<string, string>, bundle: string): Promise<Cluster> {
    const [queue, endpoint, ports] = await Promise.all([
      createQueue(aws.sqs, `tnth-${name}`),
      awsRecorder(),
      freePorts(3),
    ]);
    // No TEMPORAL_TASK_QUEUE: each cluster's defaults from its CLUSTER_NAME, unique to this run.
    const env = {
      CLUSTER_NAME: name,
      QUEUE_URL: queue.url,
      DELETE_SQS_MSG_IF_NODE_NOT_FOUND: 'true',
      // The queue is this cluster's copy of the account-wide stream, as the README lays it out.
      EXPECT_OTHER_CLUSTERS: 'true',
      AWS_ENDPOINT_URL: endpoint.url,
      KUBECONFIG: stackVar('SERVICE_KUBECONFIG'),
      ENABLE_PROMETHEUS_SERVER: 'true',
      WORKFLOW_BUNDLE_PATH: bundle,
    };
    return {
      name,
      tag,
      queue,
      aws: endpoint,
      metricsPort: ports,
      // The worker's SDK metrics take the port after its own.
      worker: startTnth('worker', { ...env, PROMETHEUS_SERVER_PORT: String(ports) }),
      starter: startTnth('starter', { ...env, PROMETHEUS_SERVER_PORT: String(ports + 2) }),
    };
  }

  /** A group of `size` instances of `cluster`, its hook's events (EventBridge's shape) going to `queue`. */
  async function groupOf(cluster: Cluster, queue: QueueRef, size: number): Promise<GroupWithHook> {
    const group = await createGroupWithHook({
      desiredCapacity: size,
      heartbeatTimeout: hookTimeoutSeconds,
      defaultResult: 'ABANDON',
      tags: { ...cluster.tag, [managedTag]: 'true' },
      queue,
      notificationFormat: 'eventbridge',
      drainTestNotification: false,
    });
    groups.push(group);
    return group;
  }

  function workflow(cluster: Cluster, instanceId: string) {
    const id = terminationWorkflowId(cluster.name, instanceId);
    workflowIds.add(id);
    return client.workflow.getHandle(id);
  }

  /** The termination's status once it has ended (its workflow stays open for DUPLICATE_WINDOW). */
  async function finished(cluster: Cluster, instanceId: string): Promise<TerminationStatus> {
    const handle = workflow(cluster, instanceId);
    return waitFor(
      `${cluster.name}'s termination of ${instanceId} to end`,
      async () => {
        // Not started yet, or its first task not yet run.
        const status = await handle.query(statusQuery).catch(() => undefined);
        return status && finishedPhases.includes(status.phase) && status;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
  }
});

function tokenOf(calls: LifecycleCall[], instanceId: string): string {
  const started = calls.find((c) => c.action === 'LifecycleActionStarted' && c.instanceId === instanceId);
  assert.ok(started?.token, `no lifecycle action started for ${instanceId}`);
  return started.token;
}

/** The Auto Scaling calls `cluster`'s processes made about the instance, its action or its group. */
function autoScalingCallsOf(cluster: Cluster, target: { instanceId: string; token: string; group: GroupWithHook }) {
  return cluster.aws.calls.filter(
    (c) =>
      c.params.LifecycleActionToken === target.token ||
      c.params.InstanceId === target.instanceId ||
      c.params.AutoScalingGroupName === target.group.groupName,
  );
}

async function ignoredOtherCluster(cluster: Cluster): Promise<number> {
  const metrics = await (await fetch(`http://127.0.0.1:${cluster.metricsPort}/metrics`)).text();
  return Number(/^tnth_events_ignored_total\{reason="other-cluster"\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
}

/**
 * The account-wide EventBridge rule with a target per cluster: each message of `source` is sent, body
 * unchanged, to every queue of `targets`, then deleted from `source`. `stop()` rethrows what failed.
 */
function copyToEach(sqs: SQSClient, source: QueueRef, targets: QueueRef[]): { stop(): Promise<void> } {
  let stopped = false;
  const copying = (async () => {
    while (!stopped) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: source.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      for (const message of Messages) {
        await Promise.all(
          targets.map((t) => sqs.send(new SendMessageCommand({ QueueUrl: t.url, MessageBody: message.Body }))),
        );
        await sqs.send(new DeleteMessageCommand({ QueueUrl: source.url, ReceiptHandle: message.ReceiptHandle }));
      }
    }
  })();
  // Seen at `stop()`; meanwhile the terminations' waits fail for want of events.
  copying.catch(() => undefined);
  return {
    stop: async () => {
      stopped = true;
      await copying;
    },
  };
}

/** The first of `count` consecutive ports free on 127.0.0.1. */
async function freePorts(count: number): Promise<number> {
  for (;;) {
    const first = 20_000 + Math.floor(Math.random() * 30_000);
    const servers = [];
    try {
      for (let port = first; port < first + count; port++) {
        const server = createServer();
        servers.push(server);
        await new Promise<void>((listening, refused) => {
          server.once('error', refused);
          server.listen(port, '127.0.0.1', listening);
        });
      }
      return first;
    } catch {
      // One of them is taken: try elsewhere.
    } finally {
      await Promise.all(servers.map((s) => new Promise((closed) => s.close(closed))));
    }
  }
}
