import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Client, Connection } from '@temporalio/client';
import { searchAttributes } from '../../common/search-attributes.js';
import { launchWorkflowId, statusQuery, terminationWorkflowId } from '../../common/names.js';
import type { LaunchStatus, TerminationStatus } from '../../common/status.js';
import {
  awsClients,
  createGroupWithHook,
  createQueue,
  groupInstances,
  LAUNCHING,
  describeInstance,
  ec2State,
  terminateInstance,
  waitFor,
  type GroupWithHook,
  type QueueRef,
} from '../helpers/aws.js';
import { lifecycleCalls } from '../helpers/emulator.js';
import { activitySpans } from '../helpers/history.js';
import { KubeFixture } from '../helpers/kube.js';
import { startTnth, type TnthProcess } from '../helpers/processes.js';
import { stackVar, testCluster } from '../helpers/stack-env.js';
import { stackClient, uniqueTaskQueue } from '../helpers/temporal.js';
import { spotInterruptionMessage } from '../helpers/events.js';

const managedTag = 'aws-node-termination-handler/managed';

describe('integration: an ASG scale-in on the whole stack (worker, starter, emulator, kube-apiserver, kwok)', function () {
  this.timeout(240_000);
  let client: Client;
  let connection: Connection;
  const groups: GroupWithHook[] = [];
  const kube = new KubeFixture();
  const aws = awsClients();
  const metricsPort = 19000 + Math.floor(Math.random() * 500) * 2;
  let queue: QueueRef;
  let worker: TnthProcess;
  let starter: TnthProcess;
  let webhookServer: Server;
  const webhooks: { authorization: string | undefined; body: string }[] = [];
  const webhookSecret = `SECRET-${randomUUID()}`;

  /** One worker and one starter for the suite, as a user runs them, on the suite's own queue and task queue. */
  before(async () => {
    ({ client, connection } = await stackClient());
    await kube.ensureNamespace();
    queue = await createQueue(aws.sqs, 'tnth-integration');
    webhookServer = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        webhooks.push({ authorization: req.headers.authorization, body });
        res.end();
      });
    });
    await new Promise<void>((done) => webhookServer.listen(0, '127.0.0.1', done));
    const webhookPort = (webhookServer.address() as AddressInfo).port;
    const env = {
      WEBHOOK_URL: `http://127.0.0.1:${webhookPort}/hooks/${webhookSecret}`,
      WEBHOOK_HEADERS: JSON.stringify({ Authorization: `Bearer ${webhookSecret}` }),
      WEBHOOK_TEMPLATE: '{"text":"{{ .Kind }} {{ .InstanceID }} {{ .NodeName }} {{ .EventID }}"}',
      EMIT_KUBERNETES_EVENTS: 'true',
      TEMPORAL_TASK_QUEUE: uniqueTaskQueue('integration'),
      KUBECONFIG: stackVar('SERVICE_KUBECONFIG'),
      QUEUE_URL: queue.url,
      HEARTBEAT_INTERVAL: '5',
      NODE_TERMINATION_GRACE_PERIOD: '6',
      DRAIN_RETRY_INTERVAL: '3',
      DUPLICATE_WINDOW: '0',
      SHUTDOWN_GRACE_PERIOD: '5',
      ENABLE_PROMETHEUS_SERVER: 'true',
      PROMETHEUS_SERVER_PORT: String(metricsPort),
      ENABLE_OUT_OF_SERVICE_TAINT: 'true',
    };
    // This worker bundles its workflows from source at start, as `npm run dev` does; the suite's other
    // workers take its prebuilt bundle, as the Docker image's do.
    worker = startTnth('worker', { ...env, WORKFLOW_BUNDLE_PATH: '' });
    starter = startTnth('starter', { ...env, PROMETHEUS_SERVER_PORT: String(metricsPort + 1000) });
  });

  after(async () => {
    const codes = await Promise.all([starter?.stop(), worker?.stop()]);
    await kube.cleanup();
    await Promise.all(groups.map((g) => g.delete()));
    await connection?.close();
    webhookServer?.close();
    assert.deepEqual(
      codes,
      [0, 0],
      `exit codes of starter and worker; worker output:\n${worker?.output().slice(-2000)}`,
    );
  });

  it('drains the node through a blocking PDB, holds the action with one heartbeat loop at a time, and completes it once', async () => {
    const group = await createGroupWithHook({
      heartbeatTimeout: 60,
      defaultResult: 'ABANDON',
      tags: { [managedTag]: 'true' },
      queue,
      drainTestNotification: false,
    });
    groups.push(group);
    const instanceId = group.instanceIds[0]!;
    const nodeName = (await describeInstance(aws.ec2, instanceId))?.PrivateDnsName;
    assert.ok(nodeName, 'the emulator gives the instance a private DNS name');
    await kube.node({ name: nodeName, instanceId });
    await kube.nodeReady(nodeName);
    const appPod = await kube.replicaSetPod(nodeName, { gracePeriodSeconds: 1 });
    const daemonPod = await kube.daemonSetPod(nodeName);
    await kube.podRunning(appPod.metadata!.name!);
    const pdb = await kube.pdb({ app: appPod.metadata!.labels!.app! });

    await terminateInstance(group, instanceId);
    const handle = client.workflow.getHandle(terminationWorkflowId(testCluster, instanceId));
    const blocked = await waitFor(
      'two drain attempts refused by the PDB',
      async () => {
        const status = await handle.query(statusQuery).catch(() => undefined);
        return status !== undefined && status.attempt >= 2 && status.phase === 'WaitingToRetry' && status;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    assert.match(blocked.lastError ?? '', /PodDisruptionBudget/);
    assert.deepEqual(blocked.podsLeft, [
      { pod: `${kube.namespace}/${appPod.metadata!.name}`, reason: 'eviction refused by a PodDisruptionBudget' },
    ]);
    const found = client.workflow.list({ query: `InstanceId="${instanceId}"` });
    const listed = [];
    for await (const execution of found) listed.push(execution);
    assert.equal(listed.length, 1, 'the termination is found by its InstanceId search attribute');
    assert.equal(listed[0]!.typedSearchAttributes.get(searchAttributes.autoScalingGroupName), group.groupName);

    const outOfService = async () =>
      (await kube.kube.core.readNode({ name: nodeName })).spec?.taints?.some(
        (t) => t.key === 'node.kubernetes.io/out-of-service' && t.effect === 'NoExecute',
      ) ?? false;
    assert.equal(await outOfService(), false, 'the out-of-service taint is on while pods are still being drained');
    await kube.setPdbStatus(pdb.metadata!.name!, { disruptionsAllowed: 1 });
    const status = (await handle.result()) as TerminationStatus;
    assert.equal(await outOfService(), true, 'the out-of-service taint is not on once the drain succeeded');
    assert.equal(status.phase, 'Done');
    assert.equal(status.lifecycle?.result, 'CONTINUE');
    assert.ok(status.attempt >= 3);

    // Kubernetes: cordoned, tainted per kind only when TAINT_NODE, the app pod gone, the DaemonSet pod left.
    const node = await kube.kube.core.readNode({ name: nodeName });
    assert.equal(node.spec?.unschedulable, true);
    await kube.podGone(appPod.metadata!.name!);
    await kube.kube.core.readNamespacedPod({ name: daemonPod.metadata!.name!, namespace: kube.namespace });

    // AWS: one completion, after every heartbeat; the instance terminated; the message deleted.
    const calls = await lifecycleCalls({ group: group.groupName });
    const completions = calls.filter((c) => c.action === 'CompleteLifecycleAction');
    assert.equal(completions.length, 1, 'exactly one CompleteLifecycleAction');
    assert.deepEqual([completions[0]!.outcome, completions[0]!.result], ['ok', 'CONTINUE']);
    await waitFor('the instance is terminated', async () => (await ec2State(aws.ec2, instanceId)) === 'terminated');

    // Heartbeats only inside a heartbeat activity of the hold, those never overlapping (one loop at a
    // time), one covering each attempt, all stopped before the completion.
    const spans = await activitySpans(handle);
    const heartbeatSpans = spans
      .filter((s) => s.type === 'lifecycleHeartbeat')
      .sort((a, b) => a.scheduledAt - b.scheduledAt);
    const drainSpans = spans.filter((s) => s.type === 'drainNode');
    const heartbeats = calls
      .filter((c) => c.action === 'RecordLifecycleActionHeartbeat')
      .map((c) => Date.parse(c.time));
    assert.ok(heartbeats.length >= 2, `heartbeats were sent (${heartbeats.length})`);
    for (const at of heartbeats) {
      assert.ok(
        heartbeatSpans.some((s) => s.scheduledAt <= at && at <= (s.closedAt ?? Infinity)),
        `heartbeat at ${new Date(at).toISOString()} outside every heartbeat activity`,
      );
    }
    heartbeatSpans.forEach((span, i) => {
      assert.ok(span.closedAt !== undefined, 'every heartbeat activity closed');
      const next = heartbeatSpans[i + 1];
      if (next) assert.ok(span.closedAt <= next.scheduledAt, `heartbeat loops ${i + 1} and ${i + 2} overlapped`);
    });
    for (const [i, drain] of drainSpans.entries()) {
      assert.ok(
        heartbeatSpans.some((s) => s.scheduledAt <= drain.scheduledAt + 1000 && s.closedAt! >= drain.closedAt!),
        `no heartbeat loop covered attempt ${i + 1}`,
      );
    }
    assert.ok(Math.max(...heartbeatSpans.map((s) => s.closedAt!)) <= Date.parse(completions[0]!.time));

    const deleted = calls.filter((c) => c.action === 'DeleteMessage' || c.action === 'DeleteMessageBatch');
    assert.ok(deleted.length >= 1, 'the lifecycle notification was deleted from the queue');

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /^tnth_heartbeat_loops_running 0$/m, 'the leak canary is back at 0');
    assert.match(metrics, /^tnth_lifecycle_actions_completed_total\{result="CONTINUE"\} \d+$/m);
  });

  it('holds a launching instance until its node is Ready, then completes the launch hook with CONTINUE', async () => {
    const group = await createGroupWithHook({
      transition: LAUNCHING,
      heartbeatTimeout: 300,
      queue,
      drainTestNotification: false,
    });
    groups.push(group);
    const instanceId = group.instanceIds[0]!;
    assert.equal((await groupInstances(group)).get(instanceId), 'Pending:Wait');
    const handle = client.workflow.getHandle(launchWorkflowId(testCluster, instanceId));
    const waiting = await waitFor(
      'the launch workflow waiting for the node',
      async () => (await handle.query<LaunchStatus>('status').catch(() => undefined))?.deadline !== undefined,
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    assert.ok(waiting);
    const nodeName = (await describeInstance(aws.ec2, instanceId))?.PrivateDnsName;
    await kube.node({ name: nodeName!, instanceId });
    const status = (await handle.result()) as LaunchStatus;
    assert.deepEqual([status.phase, status.result, status.nodeName], ['Done', 'CONTINUE', nodeName]);
    await waitFor('the instance InService', async () => (await groupInstances(group)).get(instanceId) === 'InService');
    const completions = await lifecycleCalls({ group: group.groupName, actions: ['CompleteLifecycleAction'] });
    assert.equal(completions.length, 1);
  });

  it('drains on a Spot interruption from an EventBridge message, sends one webhook and records NTH events, with no secret in the logs', async () => {
    const group = await createGroupWithHook({ queue: false, tags: { [managedTag]: 'true' } });
    groups.push(group);
    const instanceId = group.instanceIds[0]!;
    const nodeName = (await describeInstance(aws.ec2, instanceId))?.PrivateDnsName;
    await kube.node({ name: nodeName!, instanceId });
    await kube.nodeReady(nodeName!);
    const pod = await kube.replicaSetPod(nodeName!, { gracePeriodSeconds: 1 });
    await kube.podRunning(pod.metadata!.name!);
    const eventId = randomUUID();
    await aws.sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: JSON.stringify(spotInterruptionMessage(instanceId, eventId)),
      }),
    );
    const status = await waitFor(
      'the Spot termination to finish',
      async () =>
        (await client.workflow
          .getHandle(terminationWorkflowId(testCluster, instanceId))
          .result()
          .catch(() => undefined)) as TerminationStatus | undefined,
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    assert.equal(status.phase, 'Done');
    assert.deepEqual(status.kinds, ['spot-interruption']);
    await kube.podGone(pod.metadata!.name!);

    // NTH's event id: its prefix and the EventBridge id in hexadecimal.
    const nthEventId = `spot-itn-event-${Buffer.from(eventId).toString('hex')}`;
    const mine = webhooks.filter((w) => w.body.includes(nthEventId));
    assert.equal(mine.length, 1, 'one webhook for the event');
    assert.deepEqual(JSON.parse(mine[0]!.body), { text: `SPOT_ITN ${instanceId} ${nodeName} ${nthEventId}` });
    assert.equal(mine[0]!.authorization, `Bearer ${webhookSecret}`);

    const { items } = await kube.kube.core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: `involvedObject.name=${nodeName}`,
    });
    assert.deepEqual(items.map((e) => e.reason).sort(), ['CordonAndDrain', 'SpotInterruption']);
    assert.doesNotMatch(worker.output() + starter.output(), new RegExp(webhookSecret), 'a secret reached the logs');
  });
});
