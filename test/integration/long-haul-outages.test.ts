import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, Connection, WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import {
  drainBudgetStatusQuery,
  drainBudgetWorkflowId,
  statusQuery,
  terminationWorkflowId,
} from '../../common/names.js';
import { finishedPhases, type TerminationStatus } from '../../common/status.js';
import {
  awsClients,
  createGroupWithHook,
  createQueue,
  receiveNotifications,
  terminateInstance,
  waitFor,
  type GroupWithHook,
} from '../helpers/aws.js';
import { DeleteQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { injectFault, lifecycleCalls } from '../helpers/emulator.js';
import { checkHold } from '../helpers/hold-report.js';
import { activitySpans } from '../helpers/history.js';
import { nodeWithPod } from '../helpers/instance-node.js';
import { KubeFixture } from '../helpers/kube.js';
import { prebuiltBundle, startService, type Service } from '../helpers/service.js';
import { stackVar, testCluster } from '../helpers/stack-env.js';
import { stackClient } from '../helpers/temporal.js';
import { OwnTemporal } from '../helpers/temporal-server.js';
import { TcpProxy } from '../starter/tcp-proxy.js';

/** Longer than the five to six minutes short calls used to retry before failing the termination. */
const outageSeconds = 390;
/** A realistic hook: every outage here is shorter than what it allows between heartbeats, or AWS-independent. */
const hookTimeoutSeconds = 120;
/** The Temporal server's downtime, over a heartbeat's due time. */
const temporalDownSeconds = 90;
/**
 * Temporal stops answering for longer than the hook and one heartbeat interval (120 + 78 s): at least
 * two heartbeats fall due meanwhile, and a loop that waited on Temporal after the first would let the
 * action expire.
 */
const temporalStalledSeconds = 210;
const managedTag = 'aws-node-termination-handler/managed';

interface Outcome {
  status: TerminationStatus;
  figures: string;
}

/**
 * Terminations that live through outages on the real stack, with the defaults a user gets: the API
 * server unreachable for 6.5 minutes mid-drain, EC2's DescribeInstances throttled for as long, the
 * Temporal server restarted mid-drain, and the worker's connection to Temporal passing nothing for
 * longer than the hook allows. Each completes its lifecycle action once, with the hook held
 * throughout. They run at once, each on its own group, queue and task queue.
 */
describe('integration: long terminations live through outages and restarts', function () {
  this.timeout(900_000);
  const aws = awsClients();
  const kube = new KubeFixture();
  const groups: GroupWithHook[] = [];
  const services: Service[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const outcomes = new Map<string, Promise<Outcome | { error: unknown }>>();
  const figures: string[] = [];
  let client: Client;
  let connection: Connection;
  let bundlePath: string;

  /** A one-instance group whose hook notifies `queue` (its test notification read off a queue no starter reads). */
  async function blockedInstance(queue: Service['queue'], withBudget: boolean, starterReads = true) {
    const group = await createGroupWithHook({
      heartbeatTimeout: hookTimeoutSeconds,
      defaultResult: 'ABANDON',
      tags: { [managedTag]: 'true' },
      queue,
      drainTestNotification: !starterReads,
    });
    groups.push(group);
    const instanceId = group.instanceIds[0]!;
    const { pod } = await nodeWithPod(kube, aws.ec2, instanceId);
    const pdb = withBudget ? await kube.pdb({ app: pod.metadata!.labels!.app! }) : undefined;
    return { group, instanceId, pod, pdb };
  }

  async function service(name: string, env: Record<string, string> = {}): Promise<Service> {
    const started = await startService(`outage-${name}`, { WORKFLOW_BUNDLE_PATH: bundlePath, ...env });
    services.push(started);
    return started;
  }

  const draining = (handle: WorkflowHandle) =>
    waitFor(
      'the drain to run',
      async () => {
        const status = await handle.query(statusQuery).catch(() => undefined);
        return status?.phase === 'Draining' && status;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );

  async function finish(name: string, group: GroupWithHook, handle: WorkflowHandle, outage: string): Promise<Outcome> {
    // The workflow stays open for DUPLICATE_WINDOW (the default 600 s) after it is done.
    const status = await waitFor(
      `${name}: the termination to end`,
      async () => {
        const current = await handle.query(statusQuery).catch(() => undefined);
        return current && finishedPhases.includes(current.phase) && current;
      },
      { timeoutMs: 600_000, intervalMs: 1_000 },
    );
    assert.equal(status.phase, 'Done', `${name}: ${status.decisions.join('; ')}`);
    assert.equal(status.lifecycle?.result, 'CONTINUE');
    const report = await checkHold(group.groupName, hookTimeoutSeconds, handle);
    const { raw } = await handle.describe();
    return {
      status,
      figures: `${name.padEnd(34)} ${outage}; held ${report.heldSeconds} s, heartbeats ${report.heartbeats.ok} ok ${report.heartbeats.failed} failed, smallest slack ${report.minSlackSeconds} s, attempts ${status.attempt} (+${status.attemptsInterrupted} interrupted), history ${raw.workflowExecutionInfo?.historyLength?.toString()} events`,
    };
  }

  /** The worker reaches the API server through a proxy the test takes down, as a stopped server. */
  async function apiServerOutage(): Promise<Outcome> {
    const proxy = await TcpProxy.create('127.0.0.1:6443');
    await proxy.up();
    cleanups.push(() => proxy.down());
    const dir = mkdtempSync(join(tmpdir(), 'tnth-kubeconfig-'));
    cleanups.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      readFileSync(stackVar('SERVICE_KUBECONFIG'), 'utf8').replace(
        'https://127.0.0.1:6443',
        `https://${proxy.address}`,
      ),
    );
    const svc = await service('apiserver', { KUBECONFIG: kubeconfig });
    const { group, instanceId, pod, pdb } = await blockedInstance(svc.queue, true);
    await terminateInstance(group, instanceId);
    const handle = client.workflow.getHandle(terminationWorkflowId(testCluster, instanceId));
    await draining(handle);
    await proxy.down();
    const downAt = Date.now();
    // The budget allows the eviction while the worker cannot see it; the drain finds it when it can.
    await sleep(outageSeconds * 500);
    await kube.setPdbStatus(pdb!.metadata!.name!, { disruptionsAllowed: 1 });
    await sleep(downAt + outageSeconds * 1000 - Date.now());
    await proxy.up();
    const outage = `API server unreachable ${Math.round((Date.now() - downAt) / 1000)} s`;
    const outcome = await finish('kube-apiserver stopped mid-drain', group, handle, outage);
    await kube.podGone(pod.metadata!.name!);
    return outcome;
  }

  /** DescribeInstances of this instance answers RequestLimitExceeded from before the first event. */
  async function ec2Throttled(): Promise<Outcome> {
    const svc = await service('ec2');
    const { group, instanceId, pod } = await blockedInstance(svc.queue, false);
    const fault = await injectFault({
      action: 'DescribeInstances',
      errorCode: 'RequestLimitExceeded',
      params: { InstanceIds: instanceId },
    });
    cleanups.push(() => fault.remove());
    await terminateInstance(group, instanceId);
    const throttledAt = Date.now();
    const handle = client.workflow.getHandle(terminationWorkflowId(testCluster, instanceId));
    await sleep(outageSeconds * 1000);
    const status = await handle.query(statusQuery);
    assert.equal(status.phase, 'ResolvingNode', 'the termination kept retrying DescribeInstances');
    await fault.remove();
    const outage = `DescribeInstances throttled ${Math.round((Date.now() - throttledAt) / 1000)} s`;
    const outcome = await finish('EC2 throttled before the drain', group, handle, outage);
    await kube.podGone(pod.metadata!.name!);
    return outcome;
  }

  /**
   * A Temporal server of the test's own and a service on it, whose drain attempts outlast the outage
   * (the budget holds the drain through it, or the attempt count would say nothing of the restart).
   */
  async function serviceOnOwnTemporal(name: string, env: Record<string, string> = {}) {
    const server = await OwnTemporal.start();
    cleanups.push(() => server.dispose());
    const svc = await service(name, {
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: 'default',
      NODE_TERMINATION_GRACE_PERIOD: '300',
      ...env,
    });
    return { server, svc };
  }

  /**
   * Stops the server for `temporalDownSeconds` (longer than a 120 s hook's heartbeat interval, 78 s:
   * a heartbeat falls due while it is down), then starts it again on its database; `own` is the
   * test's connection before, closed, and the one returned is connected again.
   */
  async function restartTemporal(server: OwnTemporal, own: { connection: Connection }) {
    await own.connection.close();
    await server.stop();
    const downAt = Date.now();
    await sleep(temporalDownSeconds * 1000);
    await server.restart();
    const restartedAt = Date.now();
    const reconnected = await server.client();
    cleanups.push(() => reconnected.connection.close());
    return {
      own: reconnected,
      downAt,
      restartedAt,
      outage: `Temporal down ${Math.round((restartedAt - downAt) / 1000)} s`,
    };
  }

  /** A Temporal server of its own, stopped and started again on the same database mid-drain. */
  async function temporalRestart(): Promise<Outcome> {
    const { server, svc } = await serviceOnOwnTemporal('temporal');
    const { group, instanceId, pod, pdb } = await blockedInstance(svc.queue, true);
    const before = await server.client();
    await terminateInstance(group, instanceId);
    const id = terminationWorkflowId(testCluster, instanceId);
    await draining(before.client.workflow.getHandle(id));
    const { own, downAt, restartedAt, outage } = await restartTemporal(server, before);
    // The hold went on without Temporal: the heartbeat that fell due meanwhile was sent.
    const heartbeats = await lifecycleCalls({ group: group.groupName, actions: ['RecordLifecycleActionHeartbeat'] });
    assert.ok(
      heartbeats.some((c) => c.outcome === 'ok' && Date.parse(c.time) > downAt && Date.parse(c.time) < restartedAt),
      `no heartbeat while Temporal was down: ${heartbeats.map((c) => `${c.time} ${c.outcome}`).join(', ')}`,
    );
    await kube.setPdbStatus(pdb!.metadata!.name!, { disruptionsAllowed: 1 });
    const outcome = await finish('Temporal restarted mid-drain', group, own.client.workflow.getHandle(id), outage);
    await kube.podGone(pod.metadata!.name!);
    return outcome;
  }

  /**
   * A live drain budget (`DRAIN_BUDGET=1`) across a restart of its Temporal server: one termination
   * holds the place, its drain blocked by a PDB, while another waits in line. After the restart the
   * book still names both; the holder's drain ends and gives the place to the waiter; the two drains
   * never ran at once and both hooks were held throughout.
   */
  async function budgetThroughTemporalRestart(): Promise<Outcome> {
    const { server, svc } = await serviceOnOwnTemporal('budget-restart', { DRAIN_BUDGET: '1' });
    const holder = await blockedInstance(svc.queue, true);
    const waiter = await blockedInstance(svc.queue, false);
    let own = await server.client();
    const handleOf = (instanceId: string) =>
      own.client.workflow.getHandle(terminationWorkflowId(testCluster, instanceId));
    const budgetStatus = () =>
      own.client.workflow.getHandle(drainBudgetWorkflowId(testCluster)).query(drainBudgetStatusQuery);
    await terminateInstance(holder.group, holder.instanceId);
    await draining(handleOf(holder.instanceId));
    await terminateInstance(waiter.group, waiter.instanceId);
    await waitFor(
      'the second termination to wait for the place',
      async () => {
        const status = await handleOf(waiter.instanceId)
          .query(statusQuery)
          .catch(() => undefined);
        return status?.phase === 'WaitingForBudget';
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const restarted = await restartTemporal(server, own);
    own = restarted.own;
    const { outage } = restarted;
    // The budget workflow answers once the worker has polled the restarted server again.
    const after = await waitFor('the budget workflow to answer', () => budgetStatus().catch(() => undefined), {
      timeoutMs: 60_000,
      intervalMs: 1_000,
    });
    assert.deepEqual(
      [after.holders.map((h) => h.instanceId), after.waiters.map((w) => w.instanceId)],
      [[holder.instanceId], [waiter.instanceId]],
      'the budget after the restart',
    );
    await kube.setPdbStatus(holder.pdb!.metadata!.name!, { disruptionsAllowed: 1 });
    const first = await finish('budget holder, Temporal restarted', holder.group, handleOf(holder.instanceId), outage);
    const second = await finish('budget waiter, Temporal restarted', waiter.group, handleOf(waiter.instanceId), outage);
    const drainsOf = async (instanceId: string) =>
      (await activitySpans(handleOf(instanceId))).filter((s) => s.type === 'drainNode');
    const [held, waited] = [await drainsOf(holder.instanceId), await drainsOf(waiter.instanceId)];
    const holderEnd = Math.max(...held.map((s) => s.closedAt ?? Infinity));
    assert.ok(
      waited.every((s) => s.scheduledAt >= holderEnd),
      'the waiter drained while the holder still held the only place',
    );
    const end = await budgetStatus();
    assert.deepEqual([end.holders, end.waiters, end.holdersReclaimed], [[], [], 0], 'places left or reclaimed');
    await kube.podGone(holder.pod.metadata!.name!);
    return { status: second.status, figures: `${first.figures}\n      ${second.figures}` };
  }

  /**
   * The worker's connection to Temporal stops passing anything (a partition that drops packets, a
   * server too loaded to answer) for longer than the hook allows: calls hang instead of failing. The
   * hold runs in the worker and must not wait on Temporal meanwhile.
   */
  async function temporalStalled(): Promise<Outcome> {
    const proxy = await TcpProxy.create(stackVar('TEMPORAL_ADDRESS'));
    await proxy.up();
    cleanups.push(() => proxy.down());
    const svc = await service('stalled', { TEMPORAL_ADDRESS: proxy.address, NODE_TERMINATION_GRACE_PERIOD: '400' });
    const { group, instanceId, pod, pdb } = await blockedInstance(svc.queue, true);
    await terminateInstance(group, instanceId);
    const handle = client.workflow.getHandle(terminationWorkflowId(testCluster, instanceId));
    await draining(handle);
    // The drain attempt's own loop running in the worker: this is about a hold under way. (Between
    // two phases no loop runs until Temporal starts the next one; see the README's long terminations.)
    await waitFor(
      "the drain attempt's heartbeat loop to run",
      async () => {
        const { raw } = await handle.describe();
        const running = (type: string) =>
          raw.pendingActivities?.some(
            (a) =>
              a.activityType?.name === type &&
              a.state === proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
          );
        return running('drainNode') && running('lifecycleHeartbeat');
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    proxy.stall();
    const stalledAt = Date.now();
    await sleep(temporalStalledSeconds * 1000);
    proxy.flow();
    const flowedAt = Date.now();
    const heartbeats = await lifecycleCalls({ group: group.groupName, actions: ['RecordLifecycleActionHeartbeat'] });
    const during = heartbeats.filter(
      (c) => c.outcome === 'ok' && Date.parse(c.time) > stalledAt && Date.parse(c.time) < flowedAt,
    );
    assert.ok(
      during.length >= 2,
      `${during.length} heartbeats while Temporal did not answer: ${heartbeats.map((c) => `${c.time} ${c.outcome}`).join(', ')}`,
    );
    await kube.setPdbStatus(pdb!.metadata!.name!, { disruptionsAllowed: 1 });
    const outage = `Temporal not answering ${Math.round((flowedAt - stalledAt) / 1000)} s`;
    const outcome = await finish('Temporal stalled mid-drain', group, handle, outage);
    await kube.podGone(pod.metadata!.name!);
    return outcome;
  }

  /**
   * A late copy of the message (a DLQ redrive, a second EventBridge rule) after the termination gave
   * up: the workflow is still open for DUPLICATE_WINDOW and drops it; nothing is drained again.
   * One attempt of 20 s makes it give up soon; the window is the default.
   */
  async function lateCopyAfterFailure(): Promise<Outcome> {
    const svc = await service('late-copy', { DRAIN_MAX_ATTEMPTS: '1', NODE_TERMINATION_GRACE_PERIOD: '20' });
    const holdQueue = await createQueue(aws.sqs, 'tnth-late-copy');
    cleanups.push(async () => {
      await aws.sqs.send(new DeleteQueueCommand({ QueueUrl: holdQueue.url }));
    });
    const { group, instanceId } = await blockedInstance(holdQueue, true, false);
    await terminateInstance(group, instanceId);
    const [notice] = await receiveNotifications(aws.sqs, holdQueue.url, {
      what: `the lifecycle notification of ${group.groupName}`,
      timeoutMs: 30_000,
    });
    const deliver = () => aws.sqs.send(new SendMessageCommand({ QueueUrl: svc.queue.url, MessageBody: notice!.raw }));
    await deliver();
    const handle = client.workflow.getHandle(terminationWorkflowId(testCluster, instanceId));
    await waitFor(
      'the termination to give up',
      async () => (await handle.query(statusQuery).catch(() => undefined))?.phase === 'Failed',
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    await deliver();
    const status = await waitFor(
      'the late copy to be dropped',
      async () => {
        const current = await handle.query(statusQuery);
        return current.duplicatesIgnored >= 1 && current;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const { raw } = await handle.describe();
    assert.equal(
      raw.workflowExecutionInfo?.status,
      proto.temporal.api.enums.v1.WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_RUNNING,
    );
    const completions = await lifecycleCalls({ group: group.groupName, actions: ['CompleteLifecycleAction'] });
    assert.deepEqual(
      completions.map((c) => [c.outcome, c.result]),
      [['ok', 'ABANDON']],
    );
    assert.equal(status.decisions.filter((d) => d.startsWith('drain ')).length, 1, 'a second drain started');
    return {
      status,
      figures: `${'late copy after a failure'.padEnd(34)} dropped ${status.duplicatesIgnored} copy, attempts ${status.attempt}`,
    };
  }

  before(async function () {
    this.timeout(180_000);
    ({ client, connection } = await stackClient());
    await kube.ensureNamespace();
    bundlePath = await prebuiltBundle();
    const run = (name: string, scenario: () => Promise<Outcome>) =>
      outcomes.set(
        name,
        scenario().catch((error: unknown) => ({ error })),
      );
    run('apiserver', apiServerOutage);
    run('ec2', ec2Throttled);
    run('temporal', temporalRestart);
    run('late-copy', lateCopyAfterFailure);
    run('stalled', temporalStalled);
    run('budget', budgetThroughTemporalRestart);
  });

  after(async function () {
    this.timeout(180_000);
    console.log(
      `\n    long-haul outages (hook HeartbeatTimeout ${hookTimeoutSeconds} s, default settings):\n      ${figures.join('\n      ')}`,
    );
    await Promise.allSettled(services.map((s) => s.stop()));
    await Promise.allSettled(cleanups.map((c) => c()));
    rmSync(bundlePath, { force: true });
    await kube.cleanup();
    await Promise.allSettled(groups.map((g) => g.delete()));
    await connection?.close();
  });

  async function outcome(name: string): Promise<Outcome> {
    const result = await outcomes.get(name)!;
    if ('error' in result) throw result.error;
    figures.push(result.figures);
    return result;
  }

  it('completes once, with the hook held, after the API server was unreachable for longer than the old retry budget mid-drain', async () => {
    const { status } = await outcome('apiserver');
    assert.equal(status.attempt, 1, 'the outage cost a drain attempt');
    assert.ok(status.attemptsInterrupted >= 1, 'the attempt was not resumed after the outage');
  });

  it('completes once, with the hook held, after DescribeInstances was throttled for as long', async () => {
    const { status } = await outcome('ec2');
    assert.equal(status.attempt, 1);
  });

  it('drops a copy of the message sent after the termination failed, and drains nothing again', async () => {
    const { status } = await outcome('late-copy');
    assert.equal(status.phase, 'Failed');
    assert.equal(status.attempt, 1);
  });

  it('completes once, with the hook held through it, after Temporal answered nothing for longer than the hook allows', async () => {
    const { status } = await outcome('stalled');
    assert.equal(status.lifecycle?.result, 'CONTINUE');
  });

  it('keeps the holder and the waiter of a drain budget through a Temporal restart, one drain at a time, both hooks held', async () => {
    const { status } = await outcome('budget');
    assert.equal(status.drainBudget?.state, 'released');
  });

  it('completes once, with the hook held, after the Temporal server restarted mid-drain', async () => {
    const { status } = await outcome('temporal');
    assert.equal(status.attempt, 1, 'the restart cost no drain attempt');
  });
});
