import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeleteQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Client, Connection } from '@temporalio/client';
import { launchStatusQuery, launchWorkflowId, statusQuery, terminationWorkflowId } from '../../common/names.js';
import type { NodeChanges } from '../../common/status.js';
import type { LaunchStatus, TerminationStatus } from '../../common/status.js';
import {
  awsClients,
  createGroupWithHook,
  createQueue,
  describeInstance,
  groupInstances,
  completeAction,
  LAUNCHING,
  putHook,
  receiveNotifications,
  terminateInstance,
  waitFor,
  type GroupWithHook,
  type QueueRef,
} from '../helpers/aws.js';
import { lifecycleCalls } from '../helpers/emulator.js';
import { KubeFixture, mergePatch } from '../helpers/kube.js';
import { startTnth, type TnthProcess } from '../helpers/processes.js';
import { stackVar, testCluster } from '../helpers/stack-env.js';
import { stackClient, uniqueTaskQueue } from '../helpers/temporal.js';
import { eventBridgeMessage, spotInterruptionMessage } from '../helpers/events.js';

const managedTag = 'aws-node-termination-handler/managed';
const rebalanceTaint = 'aws-node-termination-handler/rebalance-recommendation';
const uninitialized = 'node.cloudprovider.kubernetes.io/uninitialized';

const rebalance = (instanceId: string) =>
  eventBridgeMessage('EC2 Instance Rebalance Recommendation', 'aws.ec2', instanceId, { 'instance-id': instanceId });

describe('integration: an action per kind, undone when nothing follows; warm pools and launch readiness (whole stack)', function () {
  this.timeout(240_000);
  let client: Client;
  let connection: Connection;
  const groups: GroupWithHook[] = [];
  const kube = new KubeFixture();
  const aws = awsClients();
  const workflowIds: string[] = [];
  const queues: QueueRef[] = [];
  let queue: QueueRef;
  let worker: TnthProcess;
  let starter: TnthProcess;
  let webhookServer: Server;
  const webhooks: { Kind: string; State: string; InstanceID: string }[] = [];

  const send = (body: unknown) =>
    aws.sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: JSON.stringify(body) }));
  const termination = (instanceId: string) => {
    workflowIds.push(terminationWorkflowId(testCluster, instanceId));
    return client.workflow.getHandle(terminationWorkflowId(testCluster, instanceId));
  };
  const phaseOf = (instanceId: string): Promise<TerminationStatus | undefined> =>
    termination(instanceId)
      .query(statusQuery)
      .catch(() => undefined);

  /** An instance of a managed group, with its node Ready and a pod on it. */
  async function instanceWithNode(group: GroupWithHook) {
    const instanceId = group.instanceIds[0]!;
    const nodeName = (await describeInstance(aws.ec2, instanceId))?.PrivateDnsName;
    assert.ok(nodeName, 'the emulator gives the instance a private DNS name');
    await kube.node({ name: nodeName, instanceId });
    await kube.nodeReady(nodeName);
    const pod = await kube.replicaSetPod(nodeName, { gracePeriodSeconds: 1 });
    await kube.podRunning(pod.metadata!.name!);
    return { instanceId, nodeName, pod };
  }

  before(async () => {
    ({ client, connection } = await stackClient());
    await kube.ensureNamespace();
    queue = await createQueue(aws.sqs, 'tnth-event-policy');
    webhookServer = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        webhooks.push(JSON.parse(body) as (typeof webhooks)[number]);
        res.end();
      });
    });
    await new Promise<void>((done) => webhookServer.listen(0, '127.0.0.1', done));
    const env = {
      TEMPORAL_TASK_QUEUE: uniqueTaskQueue('event-policy'),
      KUBECONFIG: stackVar('SERVICE_KUBECONFIG'),
      QUEUE_URL: queue.url,
      WEBHOOK_URL: `http://127.0.0.1:${(webhookServer.address() as AddressInfo).port}/`,
      WEBHOOK_TEMPLATE: '{"Kind":"{{ .Kind }}","State":"{{ .State }}","InstanceID":"{{ .InstanceID }}"}',
      REBALANCE_ACTION: 'cordon',
      TAINT_NODE: 'true',
      // The shortest undo there is, so the test sees it; the default hour is the workflow tests'.
      UNDO_AFTER: '10',
      NODE_TERMINATION_GRACE_PERIOD: '20',
      SHUTDOWN_GRACE_PERIOD: '5',
    };
    worker = startTnth('worker', env);
    starter = startTnth('starter', env);
  });

  after(async () => {
    // The terminations stay open for DUPLICATE_WINDOW (10 minutes); the test is done with them.
    await Promise.all(
      [...new Set(workflowIds)].map((id) =>
        client.workflow
          .getHandle(id)
          .terminate('test done')
          .catch(() => undefined),
      ),
    );
    const codes = await Promise.all([starter?.stop(), worker?.stop()]);
    await kube.cleanup();
    await Promise.all(groups.map((g) => g.delete()));
    await Promise.all([queue, ...queues].map((q) => q && aws.sqs.send(new DeleteQueueCommand({ QueueUrl: q.url }))));
    await connection?.close();
    webhookServer?.close();
    assert.deepEqual(
      codes,
      [0, 0],
      `exit codes of starter and worker; worker output:\n${worker?.output().slice(-2000)}`,
    );
  });

  it('cordons and taints on a rebalance recommendation with action cordon, and uncordons and untaints when no termination follows', async () => {
    const group = await createGroupWithHook({ queue: false, tags: { [managedTag]: 'true' } });
    groups.push(group);
    const { instanceId, nodeName } = await instanceWithNode(group);
    // Someone else's taint, there before: the undo must leave it.
    await kube.kube.core.patchNode(
      {
        name: nodeName,
        body: { spec: { taints: [{ key: 'example.com/dedicated', value: 'gpu', effect: 'NoSchedule' }] } },
      },
      mergePatch(),
    );
    await send(rebalance(instanceId));

    const watching = await waitFor(
      'the node cordoned and tainted, the workflow watching',
      async () => {
        const status = await phaseOf(instanceId);
        return status?.phase === 'Watching' && status;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const cordoned = await kube.kube.core.readNode({ name: nodeName });
    assert.equal(cordoned.spec?.unschedulable, true);
    assert.ok(cordoned.spec?.taints?.some((t) => t.key === rebalanceTaint));
    assert.ok(Date.parse(watching.undoAt!) - Date.now() <= 10_000, 'undone within UNDO_AFTER');

    const undone = await waitFor(
      'the undo',
      async () => {
        const status = await phaseOf(instanceId);
        return status?.phase === 'Undone' && status;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const node = await kube.kube.core.readNode({ name: nodeName });
    assert.ok(!node.spec?.unschedulable, 'uncordoned');
    assert.deepEqual(
      node.spec?.taints?.map((t) => t.key),
      ['example.com/dedicated'],
      'only the taint tnth added is gone',
    );
    assert.equal(undone.attempt, 0, 'no drain');
    assert.deepEqual(
      webhooks.filter((w) => w.InstanceID === instanceId).map((w) => [w.Kind, w.State]),
      [
        ['REBALANCE_RECOMMENDATION', 'Watching'],
        ['REBALANCE_RECOMMENDATION', 'Undone'],
      ],
    );
  });

  it('escalates a rebalance cordon to a drain when a Spot interruption and the scale-in follow: one workflow, one completion', async () => {
    const group = await createGroupWithHook({
      queue,
      heartbeatTimeout: 120,
      tags: { [managedTag]: 'true' },
      // The starter takes the hook's test notification off the shared queue.
      drainTestNotification: false,
    });
    groups.push(group);
    const { instanceId, nodeName, pod } = await instanceWithNode(group);
    await send(rebalance(instanceId));
    await waitFor('the workflow watching', async () => (await phaseOf(instanceId))?.phase === 'Watching', {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    await send(spotInterruptionMessage(instanceId));
    // The scale-in follows once the Spot interruption is in: two messages sent at once reach the
    // workflow in either order, and this test is about the Spot interruption's escalation.
    await waitFor(
      'the Spot interruption to escalate the cordon',
      async () =>
        (await phaseOf(instanceId))?.decisions.some((d) =>
          d.startsWith('escalated from cordon to drain by spot-interruption'),
        ),
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    await terminateInstance(group, instanceId);

    const done = await waitFor(
      'the drain and the completion',
      async () => {
        const status = await phaseOf(instanceId);
        return status?.phase === 'Done' && status.lifecycle?.result === 'CONTINUE' && status;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    await kube.podGone(pod.metadata!.name!);
    assert.ok((await kube.kube.core.readNode({ name: nodeName })).spec?.unschedulable, 'still cordoned');
    assert.match(done.decisions.join('\n'), /escalated from cordon to drain by spot-interruption/);
    assert.equal(done.nodeChanges?.cordoned, true);
    const runs = [];
    for await (const run of client.workflow.list({ query: `InstanceId="${instanceId}"` })) runs.push(run);
    assert.equal(runs.length, 1, 'one workflow for the three events');
    const completions = await lifecycleCalls({ group: group.groupName, actions: ['CompleteLifecycleAction'] });
    assert.deepEqual(
      completions.map((c) => [c.outcome, c.result]),
      [['ok', 'CONTINUE']],
    );
    const kinds = webhooks.filter((w) => w.InstanceID === instanceId).map((w) => w.Kind);
    assert.equal(kinds.filter((k) => k === 'REBALANCE_RECOMMENDATION').length, 1, 'one webhook for the cordon');
    assert.equal(kinds.filter((k) => k === 'SPOT_ITN').length, 1, 'one webhook for the drain');
  });

  it('completes a launch into the warm pool with CONTINUE at once, with no node', async () => {
    // The emulator has no warm pool: its LAUNCHING hook holds a real action, and the test hands tnth
    // the documented warm-pool form of that action's notification (EC2 -> WarmPool).
    const group = await createGroupWithHook({
      transition: LAUNCHING,
      heartbeatTimeout: 300,
      drainTestNotification: true,
    });
    groups.push(group);
    const instanceId = group.instanceIds[0]!;
    const [held] = await receiveNotifications(aws.sqs, group.queue!.url, {
      what: 'the launch notification',
      match: (body) => body.EC2InstanceId === instanceId,
    });
    assert.equal((await groupInstances(group)).get(instanceId), 'Pending:Wait');
    await send({ ...held!.body, Origin: 'EC2', Destination: 'WarmPool' });

    workflowIds.push(launchWorkflowId(testCluster, instanceId));
    const handle = client.workflow.getHandle(launchWorkflowId(testCluster, instanceId));
    const status = await waitFor(
      'the launch workflow to finish',
      async () => (await handle.result().catch(() => undefined)) as LaunchStatus | undefined,
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    assert.deepEqual([status.phase, status.result, status.nodeName], ['Done', 'CONTINUE', undefined]);
    assert.match(status.decisions.join('\n'), /into the warm pool/);
    const completions = await lifecycleCalls({ group: group.groupName, actions: ['CompleteLifecycleAction'] });
    assert.deepEqual(
      completions.map((c) => [c.outcome, c.result]),
      [['ok', 'CONTINUE']],
    );
    await waitFor(
      'the instance out of Pending:Wait',
      async () => (await groupInstances(group)).get(instanceId) === 'InService',
    );
  });

  it('completes a launch into the group only once the startup taint is gone from its Ready node', async () => {
    const group = await createGroupWithHook({
      transition: LAUNCHING,
      heartbeatTimeout: 300,
      queue,
      drainTestNotification: false,
    });
    groups.push(group);
    const instanceId = group.instanceIds[0]!;
    const handle = client.workflow.getHandle(launchWorkflowId(testCluster, instanceId));
    workflowIds.push(launchWorkflowId(testCluster, instanceId));
    await waitFor(
      'the launch workflow waiting for the node',
      async () => (await handle.query<LaunchStatus>(launchStatusQuery).catch(() => undefined))?.deadline !== undefined,
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const nodeName = (await describeInstance(aws.ec2, instanceId))?.PrivateDnsName;
    // Registered as the cloud provider has it: tainted until the cloud controller has initialised it.
    await kube.node({
      name: nodeName!,
      instanceId,
      taints: [{ key: uninitialized, value: 'true', effect: 'NoSchedule' }],
    });
    await kube.nodeReady(nodeName!);
    // The wait has seen the Ready node and said why it goes on waiting.
    await waitFor(
      'the wait to see the startup taint on the Ready node',
      async () => {
        const description = await handle.describe();
        const pending = description.raw.pendingActivities?.[0];
        const payload = pending?.heartbeatDetails?.payloads?.[0]?.data;
        const details = payload ? (JSON.parse(Buffer.from(payload).toString()) as { lastError?: string }) : undefined;
        return details?.lastError === `startup taints remain: ${uninitialized}`;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    assert.deepEqual(await lifecycleCalls({ group: group.groupName, actions: ['CompleteLifecycleAction'] }), []);
    assert.equal((await handle.query<LaunchStatus>(launchStatusQuery)).phase, 'WaitingForNode');

    await kube.kube.core.patchNode({ name: nodeName!, body: { spec: { taints: [] } } }, mergePatch());
    const status = (await handle.result()) as LaunchStatus;
    assert.deepEqual([status.phase, status.result, status.nodeName], ['Done', 'CONTINUE', nodeName]);
    const completions = await lifecycleCalls({ group: group.groupName, actions: ['CompleteLifecycleAction'] });
    assert.deepEqual(
      completions.map((c) => [c.outcome, c.result]),
      [['ok', 'CONTINUE']],
    );
  });

  it('drains a scale-in back into the warm pool and, when the instance returns to the group, uncordons and untaints its node', async () => {
    // The emulator has no warm pool: its hooks hold real actions, and the test hands tnth the
    // documented warm-pool forms of their notifications. A LAUNCHING hook (its own queue) brings the
    // instance in; a TERMINATING hook (another queue) holds its scale-in.
    const group = await createGroupWithHook({
      transition: LAUNCHING,
      heartbeatTimeout: 300,
      tags: { [managedTag]: 'true' },
    });
    groups.push(group);
    const instanceId = group.instanceIds[0]!;
    const [launched] = await receiveNotifications(aws.sqs, group.queue!.url, {
      what: 'the first launch notification',
      match: (body) => body.EC2InstanceId === instanceId,
    });
    const nodeName = (await describeInstance(aws.ec2, instanceId))?.PrivateDnsName;
    await kube.node({ name: nodeName!, instanceId });
    await kube.nodeReady(nodeName!);
    const pod = await kube.replicaSetPod(nodeName!, { gracePeriodSeconds: 1 });
    await kube.podRunning(pod.metadata!.name!);
    await completeAction(group, { instanceId, result: 'CONTINUE' });
    await waitFor('the instance InService', async () => (await groupInstances(group)).get(instanceId) === 'InService');

    const terminations = await createQueue(aws.sqs, 'tnth-warm-pool-terminations');
    queues.push(terminations);
    await putHook(aws, {
      groupName: group.groupName,
      hookName: 'tnth-terminate',
      queueArn: terminations.arn,
      heartbeatTimeout: 120,
    });
    await terminateInstance(group, instanceId, { decrement: false });
    const [held] = await receiveNotifications(aws.sqs, terminations.url, {
      what: 'the scale-in notification',
      match: (body) =>
        body.EC2InstanceId === instanceId && body.LifecycleTransition === 'autoscaling:EC2_INSTANCE_TERMINATING',
    });
    await send({ ...held!.body, Origin: 'AutoScalingGroup', Destination: 'WarmPool' });

    await waitFor(
      'the drain and the completion of the scale-in into the pool',
      async () => {
        const status = await phaseOf(instanceId);
        return status?.phase === 'Done' && status.lifecycle?.result === 'CONTINUE';
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    await kube.podGone(pod.metadata!.name!);
    const drained = await kube.kube.core.readNode({ name: nodeName! });
    assert.equal(drained.spec?.unschedulable, true);
    const recorded = JSON.parse(drained.metadata?.annotations?.['tnth/warm-pool-changes'] ?? '{}') as NodeChanges;
    assert.equal(recorded.cordoned, true);
    assert.deepEqual(
      recorded.taints.map((t) => t.key),
      ['aws-node-termination-handler/asg-lifecycle-termination'],
    );

    // Back from the pool into the group. The emulator cannot hold a second launch of this instance,
    // so the action is one Auto Scaling no longer knows: its completion finds it gone. The node is
    // given back before that.
    workflowIds.push(launchWorkflowId(testCluster, instanceId));
    await send({
      ...launched!.body,
      Origin: 'WarmPool',
      Destination: 'AutoScalingGroup',
      RequestId: randomUUID(),
      LifecycleActionToken: randomUUID(),
      Time: new Date().toISOString(),
    });
    const handle = client.workflow.getHandle(launchWorkflowId(testCluster, instanceId));
    const status = await waitFor(
      'the launch back into the group to finish',
      async () => (await handle.result().catch(() => undefined)) as LaunchStatus | undefined,
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    assert.equal(status.nodeName, nodeName);
    assert.match(status.decisions.join('\n'), /back from the warm pool: uncordoned/);
    const back = await kube.kube.core.readNode({ name: nodeName! });
    assert.ok(!back.spec?.unschedulable, 'uncordoned');
    assert.deepEqual(back.spec?.taints ?? [], [], 'untainted');
    assert.equal(back.metadata?.annotations?.['tnth/warm-pool-changes'], undefined);
  });
});
