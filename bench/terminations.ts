// `npm run bench:terminations`: how many terminations one worker carries at once. Starts
// BENCH_TERMINATIONS (1,000) ASG terminations at once on the stack's Temporal dev server, run by one
// in-process worker whose activities stand in for AWS and Kubernetes (a drain takes BENCH_DRAIN_MS,
// 5 s, and every termination keeps its heartbeat loop running meanwhile). Reports the time until all
// are done, the peak of heartbeat loops running at once (at most one per termination), the loops left
// at the end (must be 0), and the worker's memory. Not part of the tests.
import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Context } from '@temporalio/activity';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { interruptionSignal, workflowTypes } from '../common/names.js';
import type { TerminationStatus } from '../common/status.js';
import { asgTerminateEvent } from '../test/helpers/events.js';
import { loadStackEnv } from '../test/helpers/stack-env.js';
import { stackClient, stackNativeConnection, uniqueTaskQueue } from '../test/helpers/temporal.js';
import { testWorker } from '../test/helpers/workflow-worker.js';
import { Recorder, stubActivities } from '../test/workflows/stub-activities.js';

const terminations = Number(process.env.BENCH_TERMINATIONS ?? 1_000);
const drainMs = Number(process.env.BENCH_DRAIN_MS ?? 5_000);
/** Starts in flight at once: enough to keep the dev server busy without queueing thousands of RPCs. */
const startConcurrency = 64;
const maxConcurrentActivities = 2_000;

// Workers log each state change at INFO; a benchmark wants only its figures.
Runtime.install({ logger: new DefaultLogger('WARN') });
loadStackEnv();
const { client, connection } = await stackClient();
const native = await stackNativeConnection();
const rec = new Recorder();
const stubs = stubActivities(rec, { settings: { heartbeatIntervalSeconds: 30 } });
const activities = {
  ...stubs,
  async drainNode() {
    const ctx = Context.current();
    const end = Date.now() + drainMs;
    while (Date.now() < end) {
      ctx.heartbeat();
      await ctx.sleep(Math.min(1_000, end - Date.now()));
    }
    return { evicted: [], skipped: [] };
  },
};
const taskQueue = uniqueTaskQueue('bench-terminations');
const worker = await testWorker(native, taskQueue, activities, {
  maxConcurrentActivityTaskExecutions: maxConcurrentActivities,
});
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 250);

const started = performance.now();
const results = await worker.runUntil(async () => {
  const events = Array.from({ length: terminations }, () => asgTerminateEvent());
  const handles = [];
  for (let i = 0; i < events.length; i += startConcurrency) {
    handles.push(
      ...(await Promise.all(
        events.slice(i, i + startConcurrency).map((event) =>
          client.workflow.signalWithStart(workflowTypes.termination, {
            taskQueue,
            workflowId: `bench-${taskQueue}-${event.instanceId}`,
            args: [{ instanceId: event.instanceId }],
            signal: interruptionSignal,
            signalArgs: [event],
          }),
        ),
      )),
    );
  }
  const startedAll = performance.now();
  const statuses = (await Promise.all(handles.map((h) => h.result()))) as TerminationStatus[];
  return { statuses, startSeconds: (startedAll - started) / 1000 };
});
clearInterval(sampler);
const seconds = (performance.now() - started) / 1000;
const done = results.statuses.filter((s) => s.phase === 'Done').length;
console.log(
  JSON.stringify(
    {
      machine: {
        cores: cpus().length,
        memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
        loadAverage1m: +loadavg()[0]!.toFixed(2),
      },
      terminations,
      drainSeconds: drainMs / 1000,
      done,
      secondsToStartAll: +results.startSeconds.toFixed(1),
      secondsUntilAllDone: +seconds.toFixed(1),
      terminationsPerSecond: +(terminations / seconds).toFixed(1),
      peakHeartbeatLoops: rec.maxHeartbeatsRunning,
      heartbeatLoopsLeft: rec.heartbeatsRunning,
      completions: rec.completions.length,
      peakWorkerRssMiB: Math.round(peakRss / 2 ** 20),
    },
    null,
    2,
  ),
);
await connection.close();
await native.close();
