// The hold of a lifecycle action under real timings, on the whole stack: hooks of 60 s and 120 s, the
// heartbeat settings a user gets by default, and what production does (failed attempts, a late
// message, a lost worker, a rollout, throttling, a HEARTBEAT_INTERVAL too long for the hook). Every row
// runs on its own group, all rows at once, each against worker and starter processes as a user runs
// them; the figures are printed at the end.
import assert from 'node:assert/strict';
import proto from '@temporalio/proto';
import { rmSync } from 'node:fs';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Client, Connection, WorkflowHandle } from '@temporalio/client';
import { statusQuery, terminationWorkflowId } from '../../common/names.js';
import type { TerminationStatus } from '../../common/status.js';
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
import { injectFault, lifecycleCalls, type InjectedFault } from '../helpers/emulator.js';
import { checkHold, type HoldReport } from '../helpers/hold-report.js';
import { nodeWithPod } from '../helpers/instance-node.js';
import { KubeFixture } from '../helpers/kube.js';
import { polling, prebuiltBundle, startService, type Service } from '../helpers/service.js';
import { stackClient } from '../helpers/temporal.js';
import { testCluster } from '../helpers/stack-env.js';

const managedTag = 'aws-node-termination-handler/managed';
const aws = awsClients();
const sleep = (ms: number) => new Promise((done) => setTimeout(done, Math.max(0, ms)));

interface RowContext {
  group: GroupWithHook;
  handle: WorkflowHandle;
  service: Service;
  timeout: number;
  /** Lets the PDB allow the eviction: the next drain attempt succeeds. */
  release(): Promise<void>;
  /** Resolves once attempt `n` is draining. */
  attempt(n: number): Promise<TerminationStatus>;
  /**
   * Waits until Temporal has retried the running drain activity on another worker, and checks that
   * the workflow still counts the same attempt: a lost or stopped worker costs no attempt.
   */
  drainResumed(attempt: number): Promise<void>;
  /** Epoch ms of the first successful ASG heartbeat after `since`. */
  heartbeatAfter(since: number, timeoutMs?: number): Promise<number>;
  /** Once a killed worker's replacement runs: when, after the kill. */
  replacementRan?: string;
}

interface Row {
  title: string;
  timeout: number;
  service: () => Service;
  /** The hook notifies this queue instead of the service's (the row delivers the message itself). */
  holdQueue?: boolean;
  /** Before the termination starts (faults). */
  arrange?(group: GroupWithHook): Promise<InjectedFault | undefined>;
  drive(ctx: RowContext): Promise<void>;
  check?(status: TerminationStatus, ctx: RowContext): Promise<void>;
}

interface Outcome {
  report?: HoldReport;
  status?: TerminationStatus;
  error?: unknown;
}

describe('integration: the lifecycle action is held from the notice to its completion, under real timings', function () {
  this.timeout(20 * 60_000);
  let client: Client;
  let connection: Connection;
  const kube = new KubeFixture();
  const groups: GroupWithHook[] = [];
  const services: Service[] = [];
  const outcomes = new Map<string, Promise<Outcome>>();
  const figures: string[] = [];
  let bundlePath: string;
  let defaults: Service;
  let tooLongInterval: Service;

  async function startHoldService(name: string, extra: Record<string, string> = {}): Promise<Service> {
    const service = await startService(`hold-${name}`, {
      WORKFLOW_BUNDLE_PATH: bundlePath,
      // The drain settings of the reported case; every heartbeat setting is the default.
      NODE_TERMINATION_GRACE_PERIOD: '60',
      DUPLICATE_WINDOW: '0',
      ...extra,
    });
    services.push(service);
    return service;
  }

  /**
   * A one-instance group whose TERMINATING hook (ABANDON) notifies `queue`, the instance's node with
   * one pod, and a PDB that refuses its eviction until the test releases it.
   */
  async function blockedInstance(heartbeatTimeout: number, queue: QueueRef, drainTestNotification: boolean) {
    const group = await createGroupWithHook({
      heartbeatTimeout,
      defaultResult: 'ABANDON',
      tags: { [managedTag]: 'true' },
      queue,
      drainTestNotification,
    });
    groups.push(group);
    const instanceId = group.instanceIds[0]!;
    const { pod } = await nodeWithPod(kube, aws.ec2, instanceId);
    const pdb = await kube.pdb({ app: pod.metadata!.labels!.app! });
    return { group, instanceId, pdb };
  }

  async function runRow(name: string, row: Row): Promise<Outcome> {
    const service = row.service();
    const holdQueue = row.holdQueue ? await createQueue(aws.sqs, 'tnth-hold-late') : undefined;
    const { group, instanceId, pdb } = await blockedInstance(
      row.timeout,
      holdQueue ?? service.queue,
      holdQueue !== undefined,
    );
    const fault = await row.arrange?.(group);
    const handle = client.workflow.getHandle(terminationWorkflowId(testCluster, instanceId));
    const ctx: RowContext = {
      group,
      handle,
      service,
      timeout: row.timeout,
      release: async () => {
        await kube.setPdbStatus(pdb.metadata!.name!, { disruptionsAllowed: 1 });
      },
      attempt: (n) =>
        waitFor(
          `${name}: drain attempt ${n}`,
          async () => {
            const status = await handle.query(statusQuery).catch(() => undefined);
            return status && status.attempt >= n && status.phase === 'Draining' && status;
          },
          { timeoutMs: 600_000, intervalMs: 500 },
        ),
      drainResumed: async (attempt) => {
        let seen = '';
        await waitFor(
          `${name}: the drain activity retried on another worker`,
          async () => {
            const { raw } = await handle.describe();
            seen = JSON.stringify(
              raw.pendingActivities?.map((a) => [a.activityType?.name, a.state, a.attempt, a.lastWorkerIdentity]),
            );
            return raw.pendingActivities?.some(
              (a) =>
                a.activityType?.name === 'drainNode' &&
                (a.attempt ?? 0) >= 2 &&
                a.state === proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
            );
          },
          { timeoutMs: 120_000, intervalMs: 500 },
        ).catch((error: unknown) => {
          throw new Error(`${String(error)}; pending activities: ${seen}`);
        });
        assert.equal((await handle.query(statusQuery)).attempt, attempt, 'the interrupted attempt was counted');
      },
      heartbeatAfter: (since, timeoutMs = 300_000) =>
        waitFor(
          `${name}: a heartbeat after ${new Date(since).toISOString()}`,
          async () => {
            const calls = await lifecycleCalls({ group: group.groupName, actions: ['RecordLifecycleActionHeartbeat'] });
            const next = calls.find((c) => c.outcome === 'ok' && Date.parse(c.time) > since);
            return next && Date.parse(next.time);
          },
          { timeoutMs, intervalMs: 250 },
        ).catch(async (error: unknown) => {
          const calls = await lifecycleCalls({ group: group.groupName });
          const { raw } = await handle.describe();
          const pending = raw.pendingActivities?.map((a) => [a.activityType?.name, a.state, a.attempt]);
          throw new Error(
            `${String(error)}; ${ctx.replacementRan ?? 'no replacement worker ran'}; pending activities ${JSON.stringify(pending)}; lifecycle calls ${JSON.stringify(calls.map((c) => [c.time, c.action, c.outcome]))}`,
          );
        }),
    };
    try {
      await terminateInstance(group, instanceId);
      if (holdQueue) await deliverLate(group, holdQueue, service.queue, row.timeout);
      await row.drive(ctx);
      const status = (await handle.result()) as TerminationStatus;
      await fault?.remove();
      assert.equal(status.phase, 'Done', `${name}: ${status.decisions.join('; ')}`);
      assert.equal(status.lifecycle?.result, 'CONTINUE');
      await row.check?.(status, ctx);
      const report = await checkHold(group.groupName, row.timeout, handle);
      figures.push(
        `${name.padEnd(52)} heartbeats ${String(report.heartbeats.ok).padStart(2)} ok ${String(report.heartbeats.failed).padStart(2)} failed, smallest slack ${String(report.minSlackSeconds).padStart(5)} s, held ${report.heldSeconds} s, attempts ${status.attempt}`,
      );
      return { report, status };
    } finally {
      await fault?.remove();
    }
  }

  /** The notification reaches the starter half a HeartbeatTimeout after the action started. */
  async function deliverLate(group: GroupWithHook, from: QueueRef, to: QueueRef, timeout: number) {
    const [notice] = await receiveNotifications(aws.sqs, from.url, {
      what: `the lifecycle notification of ${group.groupName}`,
      timeoutMs: 30_000,
    });
    const started = (await lifecycleCalls({ group: group.groupName, actions: ['LifecycleActionStarted'] }))[0]!;
    await sleep(Date.parse(started.time) + timeout * 500 - Date.now());
    await aws.sqs.send(new SendMessageCommand({ QueueUrl: to.url, MessageBody: notice!.raw }));
  }

  /** Kills or stops the worker just before a heartbeat is due, then starts its replacement. */
  async function loseWorker(ctx: RowContext, how: 'SIGKILL' | 'SIGTERM'): Promise<number> {
    const first = await ctx.heartbeatAfter(0);
    // The schedule as the workflow knows it once the heartbeat's report reached it.
    const status = await waitFor(
      'the workflow to hear of the first heartbeat',
      async () => {
        const s = await ctx.handle.query(statusQuery);
        const last = s.lifecycle?.lastHeartbeatAt;
        return last !== undefined && Date.parse(last) >= first - 1_000 && s;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const due = Date.parse(status.lifecycle!.nextHeartbeatAt!);
    await sleep(due - 2_000 - Date.now());
    const old = ctx.service.worker();
    const lostAt = Date.now();
    if (how === 'SIGKILL') {
      old.child.kill('SIGKILL');
      await old.exited;
      await sleep(10_000);
      // How long the replacement took to run says whether a missing heartbeat is the hold's fault:
      // the hold allows for a replacement polling within about 40 s of the loss.
      const replacement = ctx.service.startWorker();
      void polling(replacement, `${ctx.group.groupName} replacement`).then(
        () =>
          (ctx.replacementRan = `the replacement worker ran ${((Date.now() - lostAt) / 1000).toFixed(1)} s after the kill`),
        (error: unknown) => (ctx.replacementRan = String(error).slice(0, 500)),
      );
    } else {
      // A rollout: the new worker is up, the old one drains for SHUTDOWN_GRACE_PERIOD and exits.
      ctx.service.startWorker();
      // SHUTDOWN_GRACE_PERIOD (30 s), then the cancelled activities' and the polls' ends; once more
      // than 120 s at the suite's load. A worker still shutting down logs what it waits for.
      assert.equal(await old.stop(180_000), 0, `the old worker did not exit cleanly:\n${old.output().slice(-3000)}`);
      // Its drain ran through the grace period: the worker said so while it waited.
      assert.match(old.output(), /"activitiesInFlight":[1-9].*"msg":"worker shutting down"/);
    }
    return lostAt;
  }

  const rows = (timeout: number): [string, Row][] => [
    [
      `(a) ${timeout} s hook: a PDB fails the first attempts, then one succeeds`,
      {
        title: 'a',
        timeout,
        service: () => defaults,
        drive: async (ctx) => {
          await ctx.attempt(3);
          await ctx.release();
        },
      },
    ],
    [
      `(b) ${timeout} s hook: the message arrives 0.5 × HeartbeatTimeout late`,
      {
        title: 'b',
        timeout,
        service: () => defaults,
        holdQueue: true,
        drive: async (ctx) => {
          await ctx.attempt(2);
          await ctx.release();
        },
      },
    ],
    [
      `(c) ${timeout} s hook: worker SIGKILLed just before a heartbeat, a new one 10 s later`,
      {
        title: 'c',
        timeout,
        service: () => lateService(`c${timeout}`),
        drive: async (ctx) => {
          const { attempt } = await ctx.attempt(1);
          const lostAt = await loseWorker(ctx, 'SIGKILL');
          await ctx.heartbeatAfter(lostAt);
          await ctx.drainResumed(attempt);
          await ctx.release();
        },
        check: (status) => Promise.resolve(assertOneAttempt(status)),
      },
    ],
    [
      `(d) ${timeout} s hook: SIGTERM and a new worker mid-drain (a rollout)`,
      {
        title: 'd',
        timeout,
        service: () => lateService(`d${timeout}`),
        drive: async (ctx) => {
          const { attempt } = await ctx.attempt(1);
          await loseWorker(ctx, 'SIGTERM');
          const exitedAt = Date.now();
          await ctx.heartbeatAfter(exitedAt);
          await ctx.drainResumed(attempt);
          await ctx.release();
        },
        check: (status) => Promise.resolve(assertOneAttempt(status)),
      },
    ],
    [
      `(e) ${timeout} s hook: half the heartbeats throttled`,
      {
        title: 'e',
        timeout,
        service: () => defaults,
        arrange: (group) =>
          injectFault({
            action: 'RecordLifecycleActionHeartbeat',
            errorCode: 'Throttling',
            rate: 0.5,
            params: { AutoScalingGroupName: group.groupName },
          }),
        drive: async (ctx) => {
          await ctx.attempt(3);
          await ctx.release();
        },
      },
    ],
    [
      `(f) ${timeout} s hook: HEARTBEAT_INTERVAL=300, longer than the hook allows`,
      {
        title: 'f',
        timeout,
        service: () => tooLongInterval,
        drive: async (ctx) => {
          await ctx.attempt(3);
          await ctx.release();
        },
        check: async (status) => {
          assert.match(
            status.warnings.join('\n'),
            new RegExp(`HEARTBEAT_INTERVAL=300 cannot keep a hook with HeartbeatTimeout ${timeout} s alive`),
          );
          assert.equal(status.lifecycle?.heartbeatIntervalSeconds, timeout - 42);
          const { items } = await kube.kube.core.listNamespacedEvent({
            namespace: 'default',
            fieldSelector: `involvedObject.name=${status.nodeName}`,
          });
          assert.ok(
            items.some((e) => e.type === 'Warning' && e.reason === 'LifecycleHeartbeatWarning'),
            'no warning event on the node',
          );
        },
      },
    ],
  ];

  /** The lost worker's attempt ran on: the drain succeeded in the attempt it was in. */
  function assertOneAttempt(status: TerminationStatus): void {
    assert.equal(status.attempt, 1, `${status.attempt} attempts for one interrupted by a lost worker`);
    assert.equal(status.attemptsInterrupted, 0);
  }

  /** Rows that lose their worker get a service of their own. */
  const ownServices = new Map<string, Service>();
  const lateService = (name: string) => ownServices.get(name)!;

  const matrix = [...rows(60), ...rows(120)];

  before(async function () {
    // The services start together; at the suite's start, beside every other mocha starting, one
    // worker alone has taken 40 s to run.
    this.timeout(300_000);
    ({ client, connection } = await stackClient());
    await kube.ensureNamespace();
    bundlePath = await prebuiltBundle();
    // Their attempts are long enough to outlast the loss (a rollout waits SHUTDOWN_GRACE_PERIOD,
    // a killed worker's activity waits for its heartbeat timeout), so the retried drain finds its
    // attempt still running: what a rollout must not turn into a failed attempt.
    const own = ['c60', 'c120', 'd60', 'd120'];
    const started = await Promise.all([
      startHoldService('defaults', {
        ENABLE_PROMETHEUS_SERVER: 'true',
        PROMETHEUS_SERVER_PORT: String(19600 + Math.floor(Math.random() * 300) * 2),
      }),
      startHoldService('interval', { HEARTBEAT_INTERVAL: '300', EMIT_KUBERNETES_EVENTS: 'true' }),
      ...own.map((name) => startHoldService(name, { NODE_TERMINATION_GRACE_PERIOD: '600' })),
    ]);
    defaults = started[0]!;
    tooLongInterval = started[1]!;
    own.forEach((name, i) => ownServices.set(name, started[i + 2]!));
    // Every row at once; each `it` below waits for its own.
    for (const [name, row] of matrix) {
      outcomes.set(
        name,
        runRow(name, row).catch((error: unknown) => ({ error })),
      );
    }
    outcomes.set(
      'lost',
      runLost().catch((error: unknown) => ({ error })),
    );
  });

  after(async function () {
    this.timeout(180_000);
    console.log(
      `\n  hold matrix (default heartbeat settings unless the row says otherwise):\n${figures.map((f) => `    ${f}`).join('\n')}\n`,
    );
    await Promise.all(services.map((s) => s.stop()));
    await kube.cleanup();
    await Promise.all(groups.map((g) => g.delete().catch(() => undefined)));
    await connection?.close();
    if (bundlePath) rmSync(bundlePath, { force: true });
  });

  for (const [name] of matrix) {
    it(`holds the action: ${name}`, async () => {
      const outcome = await outcomes.get(name)!;
      if (outcome.error) throw outcome.error as Error;
    });
  }

  /** The hook lost on purpose: every heartbeat throttled until the emulator expires the action. */
  async function runLost(): Promise<Outcome> {
    const { group, instanceId } = await blockedInstance(60, defaults.queue, false);
    const fault = await injectFault({
      action: 'RecordLifecycleActionHeartbeat',
      errorCode: 'Throttling',
      params: { AutoScalingGroupName: group.groupName },
    });
    try {
      await terminateInstance(group, instanceId);
      await waitFor(
        'the emulator to expire the action',
        async () => (await lifecycleCalls({ group: group.groupName, actions: ['LifecycleActionExpired'] })).length > 0,
        { timeoutMs: 120_000, intervalMs: 500 },
      );
    } finally {
      await fault.remove();
    }
    const status = (await client.workflow
      .getHandle(terminationWorkflowId(testCluster, instanceId))
      .result()) as TerminationStatus;
    return { status };
  }

  it('ends in LifecycleActionLost, not Done, when Auto Scaling lets the action expire, and counts it', async () => {
    const outcome = await outcomes.get('lost')!;
    if (outcome.error) throw outcome.error as Error;
    const status = outcome.status!;
    assert.equal(status.phase, 'LifecycleActionLost');
    assert.deepEqual([status.lifecycle?.result, status.lifecycle?.lostReason], ['lost', 'heartbeat-timeout']);
    assert.match(status.decisions.join('\n'), /lost \(heartbeat-timeout\)/);
    const port = defaults.env.PROMETHEUS_SERVER_PORT;
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /^tnth_lifecycle_actions_lost_total\{reason="heartbeat-timeout"\} 1$/m);
  });
});
