// An operator's view of a drain a PodDisruptionBudget blocks, on the whole stack: /metrics of the real
// worker and starter scraped every second while it lasts, the figures checked as they move, and the
// chart's alert rules run by promtool over the very series the run produced.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Client, Connection } from '@temporalio/client';
import { deriveHeartbeatInterval, lostWorkerSeconds, throttlingAllowanceSeconds } from '../../common/lifecycle.js';
import { statusQuery, terminationWorkflowId } from '../../common/names.js';
import { chartAlertGroups } from '../deploy/helm.js';
import {
  awsClients,
  createGroupWithHook,
  createQueue,
  describeInstance,
  terminateInstance,
  waitFor,
  type GroupWithHook,
  type QueueRef,
} from '../helpers/aws.js';
import { KubeFixture } from '../helpers/kube.js';
import { startTnth, type TnthProcess } from '../helpers/processes.js';
import { parseExposition, promtoolBuildTimeoutMs, promtoolTestRules, Recording } from '../helpers/prometheus.js';
import { stackVar } from '../helpers/stack-env.js';
import { stackClient, uniqueTaskQueue } from '../helpers/temporal.js';

const managedTag = 'aws-node-termination-handler/managed';
/** The shortest hook a user would give tnth: its heartbeats come every 18 s, so the test sees several. */
const hookTimeoutSeconds = 60;
const job = 'tnth-metrics';

describe('integration: /metrics and the alert rules during a drain a PodDisruptionBudget blocks', function () {
  this.timeout(10 * 60_000 + promtoolBuildTimeoutMs);
  // Its own cluster name: the terminations in flight are counted per cluster, and other tests share the stack.
  const cluster = `metrics-${randomBytes(3).toString('hex')}`;
  const kube = new KubeFixture();
  const aws = awsClients();
  // The worker's SDK exporter takes port + 1; the starter gets port + 2.
  const port = 21000 + Math.floor(Math.random() * 300) * 3;
  let client: Client;
  let connection: Connection;
  let queue: QueueRef;
  let group: GroupWithHook | undefined;
  let worker: TnthProcess;
  let starter: TnthProcess;
  const recording = new Recording(1);
  let scraping: Promise<void> | undefined;
  let stopScraping = false;

  before(async () => {
    ({ client, connection } = await stackClient());
    await kube.ensureNamespace();
    queue = await createQueue(aws.sqs, 'tnth-metrics');
    // The defaults a user gets, but for what the stack needs (its queue, cluster, service identity).
    const env = {
      CLUSTER_NAME: cluster,
      TEMPORAL_TASK_QUEUE: uniqueTaskQueue('metrics'),
      KUBECONFIG: stackVar('SERVICE_KUBECONFIG'),
      QUEUE_URL: queue.url,
      ENABLE_PROMETHEUS_SERVER: 'true',
      PROMETHEUS_SERVER_PORT: String(port),
    };
    worker = startTnth('worker', env);
    starter = startTnth('starter', { ...env, PROMETHEUS_SERVER_PORT: String(port + 2) });
  });

  after(async () => {
    stopScraping = true;
    await scraping;
    const codes = await Promise.all([starter?.stop(), worker?.stop()]);
    await kube.cleanup();
    await group?.delete();
    await connection?.close();
    assert.deepEqual(codes, [0, 0], `exit codes; worker output:\n${worker?.output().slice(-2000)}`);
  });

  /** Scrapes both processes every second, as Prometheus would, until told to stop. */
  async function scrape(): Promise<void> {
    for (let next = Date.now(); !stopScraping; next += 1000) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
      const pages = await Promise.all(
        [port, port + 2].map((p) =>
          fetch(`http://127.0.0.1:${p}/metrics`).then(
            (r) => r.text(),
            () => '',
          ),
        ),
      );
      recording.add(parseExposition(pages[0]!), { job, pod: 'worker' });
      recording.add(parseExposition(pages[1]!), { job, pod: 'starter' });
      recording.next();
    }
  }

  const last = (name: string, labels: Record<string, string> = {}) =>
    recording.values(name, labels).map((values) => values.at(-1));
  /** Polls a check of the recording (it moves with the scrapes) until it holds. */
  const recorded = (what: string, check: () => boolean, timeoutMs = 60_000) =>
    waitFor(what, () => Promise.resolve(check()), { timeoutMs, intervalMs: 500 });
  const draining = () => last('tnth_terminations_in_flight', { phase: 'Draining', kind: 'asg-terminate' })[0];

  it('shows the termination Draining, the pod blocked and the hook time left falling between heartbeats, then all back at rest; the alerts agree', async () => {
    await waitFor(
      'both /metrics pages',
      async () =>
        (
          await Promise.all(
            [port, port + 2].map((p) =>
              fetch(`http://127.0.0.1:${p}/metrics`).then(
                (r) => r.ok,
                () => false,
              ),
            ),
          )
        ).every(Boolean),
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    scraping = scrape();
    group = await createGroupWithHook({
      heartbeatTimeout: hookTimeoutSeconds,
      defaultResult: 'ABANDON',
      tags: { [managedTag]: 'true' },
      queue,
      drainTestNotification: false,
    });
    const instanceId = group.instanceIds[0]!;
    const nodeName = (await describeInstance(aws.ec2, instanceId))?.PrivateDnsName;
    assert.ok(nodeName);
    await kube.node({ name: nodeName, instanceId });
    await kube.nodeReady(nodeName);
    const appPod = await kube.replicaSetPod(nodeName, { gracePeriodSeconds: 1 });
    await kube.podRunning(appPod.metadata!.name!);
    const pdb = await kube.pdb({ app: appPod.metadata!.labels!.app! });
    await recorded('the in-flight count at rest', () => draining() === 0, 60_000);
    const restAt = recording.scrapes;

    const scaledInAt = Date.now();
    await terminateInstance(group, instanceId);
    await recorded('the termination Draining in the phase gauge', () => draining() === 1, 90_000);
    await recorded('the pod blocked by its budget', () => last('tnth_drain_pods_blocked_by_budget')[0] === 1, 60_000);
    const blockedSeenAt = Date.now();
    const blockedAt = recording.scrapes;
    // Two heartbeats at least while blocked: the time left rises at each.
    const interval = deriveHeartbeatInterval(hookTimeoutSeconds);
    await recorded(
      'two heartbeats seen in the time left',
      () => rises(recording.values('tnth_lifecycle_hook_seconds_left')[0]?.slice(blockedAt) ?? []) >= 2,
      (3 * interval + 30) * 1000,
    );
    // Long enough blocked for the rules' test below (TnthDrainBlocked with `for: 30s`).
    await recorded('45 s blocked', () => recording.scrapes - blockedAt >= 45, 60_000);
    const status = await client.workflow.getHandle(terminationWorkflowId(cluster, instanceId)).query(statusQuery);
    assert.ok(status.heartbeatsSent >= 2);
    assert.equal(status.phase, 'Draining', 'still the first attempt (NODE_TERMINATION_GRACE_PERIOD 120 s)');

    const releasedAt = recording.scrapes;
    await kube.setPdbStatus(pdb.metadata!.name!, { disruptionsAllowed: 1 });
    // The workflow stays open for DUPLICATE_WINDOW (600 s) once Done: its phase says it is finished.
    const handle = client.workflow.getHandle(terminationWorkflowId(cluster, instanceId));
    await waitFor('the termination Done', async () => (await handle.query(statusQuery)).phase === 'Done', {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    const doneAt = recording.scrapes;
    await recorded(
      'every figure back at rest',
      () =>
        draining() === 0 &&
        last('tnth_drain_pods_blocked_by_budget')[0] === 0 &&
        last('tnth_heartbeat_loops_running')[0] === 0 &&
        last('tnth_lifecycle_hook_seconds_left').every((v) => v === undefined),
      60_000,
    );
    await recorded('20 s of scrapes after Done', () => recording.scrapes - doneAt >= 20, 60_000);
    stopScraping = true;
    await scraping;
    if (process.env.TNTH_METRICS_RUN_OUT) writeFileSync(process.env.TNTH_METRICS_RUN_OUT, JSON.stringify(recording));

    // The phase gauge: 0 at rest, 1 while draining, 0 again; the whole cluster's, not this worker's.
    const phase = recording.values('tnth_terminations_in_flight', { phase: 'Draining', kind: 'asg-terminate' })[0]!;
    assert.equal(phase[restAt], 0);
    assert.ok(
      phase.slice(blockedAt, doneAt).every((v) => v === 1 || v === undefined),
      'Draining while blocked',
    );
    assert.equal(phase.at(-1), 0);
    // Blocked pods: 1 from the first refused round until the budget allowed the eviction (a scrape
    // the loaded machine failed to answer in time has no value, as in Prometheus).
    const blocked = recording.values('tnth_drain_pods_blocked_by_budget')[0]!;
    const whileBlocked = blocked.slice(blockedAt, releasedAt);
    assert.ok(
      whileBlocked.every((v) => v === 1 || v === undefined) &&
        whileBlocked.filter((v) => v === 1).length >= whileBlocked.length * 0.8,
      `one pod blocked throughout, scrapes ${blockedAt} to ${releasedAt}: ${JSON.stringify(whileBlocked)}`,
    );
    assert.equal(blocked.at(-1), 0);
    // Hook time left: falls by a second a second, rises at each heartbeat, never near expiry.
    const left = recording.values('tnth_lifecycle_hook_seconds_left', { hook: group.hookName })[0]!;
    const held = left.slice(blockedAt, releasedAt).filter((v): v is number => v !== undefined);
    const margin = hookTimeoutSeconds - interval;
    assert.ok(
      Math.min(...held) >= margin - 3,
      `at least ${margin} s left before each heartbeat (min ${Math.min(...held)})`,
    );
    assert.ok(Math.max(...held) <= hookTimeoutSeconds);
    assert.ok(margin > lostWorkerSeconds + throttlingAllowanceSeconds - 1);
    const falls = held.slice(1).filter((v, i) => v < held[i]!).length;
    assert.ok(falls >= held.length * 0.8, `mostly falling between heartbeats (${falls} of ${held.length})`);
    assert.ok(rises(held) >= 2);
    assert.equal(left.at(-1), undefined, 'no series once no hook is held');
    // The drain's histograms and the latency from notice to cordon, one observation each.
    assert.equal(last('tnth_drain_duration_seconds_count')[0], 1);
    assert.equal(last('tnth_drain_attempts_count')[0], 1);
    assert.equal(last('tnth_drain_attempts_sum')[0], 1, 'the first attempt emptied the node');
    assert.ok(last('tnth_drain_duration_seconds_sum')[0]! >= 45, 'the drain lasted the blocked time');
    assert.equal(last('tnth_notice_to_cordon_seconds_count', { kind: 'asg-terminate' })[0], 1);
    // Between the scale-in's notice and the cordon, which came before the pod was seen blocked.
    const noticeToCordon = last('tnth_notice_to_cordon_seconds_sum', { kind: 'asg-terminate' })[0]!;
    assert.ok(noticeToCordon > 0 && noticeToCordon <= (blockedSeenAt - scaledInAt) / 1000 + 1, `${noticeToCordon} s`);
    assert.equal(last('tnth_worker_temporal_reachable')[0], 1);
    assert.equal(last('tnth_starter_temporal_reachable')[0], 1);
    assert.equal(last('tnth_starter_sqs_reachable')[0], 1);

    // The chart's rules over the run's own series. With short `for`s the blocked drain alerts and
    // nothing else does; with the defaults nothing fires in a run this short.
    const series = recording.inputSeries();
    const at = (scrape: number) => `${scrape}s`;
    const end = recording.scrapes - 1;
    const quiet = [
      'TnthLifecycleHookExpiring',
      'TnthLifecycleActionLost',
      'TnthStarterCannotReachTemporal',
      'TnthHeartbeatLoopLeak',
    ];
    const everyTen = Array.from({ length: Math.floor(end / 10) }, (_, i) => (i + 1) * 10);
    await promtoolTestRules(
      await chartAlertGroups([
        `prometheusRule.selector=job="${job}"`,
        'prometheusRule.drainBlockedFor=30s',
        // The in-flight count lags the heartbeat loop by up to 15 s at a termination's start.
        'prometheusRule.heartbeatLeakFor=30s',
      ]),
      '1s',
      series,
      [
        { evalTime: at(blockedAt + 10), alertname: 'TnthDrainBlocked', expAlerts: [] },
        { evalTime: at(blockedAt + 40), alertname: 'TnthDrainBlocked', expAlerts: [{ severity: 'warning' }] },
        ...quiet.flatMap((alertname) => everyTen.map((t) => ({ evalTime: at(t), alertname, expAlerts: [] }))),
      ],
    );
    await promtoolTestRules(
      await chartAlertGroups([`prometheusRule.selector=job="${job}"`]),
      '1s',
      series,
      [...quiet, 'TnthDrainBlocked'].map((alertname) => ({ evalTime: at(end), alertname, expAlerts: [] })),
    );
  });
});

/** How often a series rises from one sample to the next (a heartbeat renews the hold's time left). */
function rises(values: (number | undefined)[]): number {
  let count = 0;
  for (let i = 1; i < values.length; i++) {
    const [before, now] = [values[i - 1], values[i]];
    if (before !== undefined && now !== undefined && now > before + 1) count += 1;
  }
  return count;
}
