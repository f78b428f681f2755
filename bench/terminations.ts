// `npm run bench:terminations`: how many terminations one worker carries at once, and what each costs
// in Temporal. Starts BENCH_TERMINATIONS (1,000) ASG terminations at once on the stack's Temporal dev
// server, run by one in-process worker whose activities stand in for AWS and Kubernetes (a drain takes
// BENCH_DRAIN_MS, 5 s, heartbeating as the real drain does; the lifecycle heartbeat loop is the real
// one, against an Auto Scaling that answers at once). The hook's HeartbeatTimeout is 300 s and
// HEARTBEAT_INTERVAL unset (BENCH_HEARTBEAT_INTERVAL sets it), as a user gets it. The worker talks to
// the server through a counting gRPC proxy, so heartbeats that reach the server are counted, not
// estimated. Then BENCH_FAILING (200) more terminations whose first drain attempt fails, under a 60 s
// hook, for the time a failed attempt's heartbeat loop takes to stop.
// Prints the figures as JSON. Not part of the tests.
// Runs in a Node started as the image starts the service (bench/image-runtime.ts; BENCH_NODE_FLAGS
// instead of the image's flags).
import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { createLifecycleHeartbeat, type LifecycleHeartbeatInput } from '../activities/aws/lifecycle-heartbeat.js';
import { drainHeartbeatMs } from '../activities/kubernetes/drain.js';
import { deriveHeartbeatInterval, type LifecycleTarget } from '../common/lifecycle.js';
import { heartbeatRecordedSignal, interruptionSignal, workflowTypes } from '../common/names.js';
import type { LifecycleResult } from '../common/settings.js';
import type { TerminationStatus } from '../common/status.js';
import { startAttributes } from '../starter/hand-off.js';
import { asgTerminateEvent } from '../test/helpers/events.js';
import { loadStackEnv, stackVar } from '../test/helpers/stack-env.js';
import { stackClient, uniqueTaskQueue } from '../test/helpers/temporal.js';
import { testWorker } from '../test/helpers/workflow-worker.js';
import { Recorder, stubActivities } from '../test/workflows/stub-activities.js';
import { startGrpcCounter } from './grpc-counter.js';
import { relaunchAsImage } from './image-runtime.js';

const terminations = Number(process.env.BENCH_TERMINATIONS ?? 1_000);
const failing = Number(process.env.BENCH_FAILING ?? 200);
const drainMs = Number(process.env.BENCH_DRAIN_MS ?? 5_000);
/** Histories read for the cost per termination. */
const sampled = Number(process.env.BENCH_HISTORIES ?? 100);
/** Starts in flight at once: enough to keep the dev server busy without queueing thousands of RPCs. */
const startConcurrency = 64;
const maxConcurrentActivities = 2_000;
const benchCluster = 'bench';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

// The worker runs in this process: run it as the image runs the service's.
await relaunchAsImage();
// Workers log each state change at INFO; a benchmark wants only its figures.
Runtime.install({ logger: new DefaultLogger('WARN') });
loadStackEnv();
const machineAtStart = {
  cores: cpus().length,
  memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
  loadAverage1m: +loadavg()[0]!.toFixed(2),
};
const counter = await startGrpcCounter(stackVar('TEMPORAL_ADDRESS'));
const { client, connection } = await stackClient();
const native = await NativeConnection.connect({ address: counter.address });

const rec = new Recorder();
/** HEARTBEAT_INTERVAL; unset, as a user gets it: derived from the stubbed hook's 300 s (240 s). */
const heartbeatIntervalSeconds = process.env.BENCH_HEARTBEAT_INTERVAL
  ? Number(process.env.BENCH_HEARTBEAT_INTERVAL)
  : undefined;
const hookTimeoutSeconds = 300;
const stubs = stubActivities(rec, { hookTimeoutSeconds, settings: { heartbeatIntervalSeconds } });
/** Per workflow: its drain attempts, its heartbeat loops and its completion, in the worker's clock. */
const drains = new Map<string, { start: number; end: number; failed: boolean }[]>();
const loops = new Map<string, { start: number; end: number | undefined }[]>();
const completions = new Map<string, number>();
const failFirstAttempt = new Set<string>();
const workflowOf = () => Context.current().info.workflowExecution!.workflowId;
const push = <T>(map: Map<string, T[]>, key: string, value: T) => map.set(key, [...(map.get(key) ?? []), value]);

const realLoop = createLifecycleHeartbeat({
  autoScaling: { send: () => Promise.resolve({}) } as unknown as AutoScalingClient,
  reportProgress: async (progress) => {
    const execution = Context.current().info.workflowExecution!;
    await client.workflow.getHandle(execution.workflowId, execution.runId).signal(heartbeatRecordedSignal, progress);
  },
});
/** The failing terminations' hook: 60 s, the shortest that survives a lost worker (interval 18 s). */
const failingHook = { name: 'bench-failing-hook', heartbeatTimeoutSeconds: 60 };
const activities = {
  ...stubs,
  async describeLifecycleHook(target: LifecycleTarget) {
    if (target.lifecycleHookName !== failingHook.name) return stubs.describeLifecycleHook!(target);
    return { heartbeatTimeoutSeconds: failingHook.heartbeatTimeoutSeconds, globalTimeoutSeconds: undefined };
  },
  // As the real drain heartbeats: on its timer only.
  async drainNode() {
    const ctx = Context.current();
    const id = workflowOf();
    const start = Date.now();
    const fails = failFirstAttempt.has(id) && (drains.get(id) ?? []).length === 0;
    const end = start + (fails ? drainMs / 2 : drainMs);
    const beat = setInterval(() => ctx.heartbeat(), drainHeartbeatMs);
    try {
      await ctx.sleep(end - start);
    } finally {
      clearInterval(beat);
    }
    push(drains, id, { start, end: Date.now(), failed: fails });
    if (fails) {
      throw ApplicationFailure.create({
        type: 'DrainTimeout',
        message: 'a pod was left on the node',
        nonRetryable: true,
      });
    }
    return { evicted: [], skipped: [] };
  },
  // The real loop, against an Auto Scaling that answers at once.
  async lifecycleHeartbeat(input: LifecycleHeartbeatInput) {
    const span = { start: Date.now(), end: undefined as number | undefined };
    push(loops, workflowOf(), span);
    rec.heartbeatsRunning += 1;
    rec.maxHeartbeatsRunning = Math.max(rec.maxHeartbeatsRunning, rec.heartbeatsRunning);
    try {
      return await realLoop(input);
    } finally {
      rec.heartbeatsRunning -= 1;
      span.end = Date.now();
    }
  },
  async completeLifecycleAction(target: LifecycleTarget, result: LifecycleResult) {
    completions.set(workflowOf(), Date.now());
    return stubs.completeLifecycleAction!(target, result);
  },
};
const taskQueue = uniqueTaskQueue('bench-terminations');
/** As the worker's WORKFLOW_CACHE_SIZE: unset, the SDK's choice from the heap limit. */
const cacheSize = process.env.BENCH_WORKFLOW_CACHE_SIZE ? Number(process.env.BENCH_WORKFLOW_CACHE_SIZE) : undefined;
const worker = await testWorker(native, taskQueue, activities, {
  maxConcurrentActivityTaskExecutions: maxConcurrentActivities,
  ...(cacheSize === undefined ? {} : { maxCachedWorkflows: cacheSize }),
});
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 250);

/** Starts `count` terminations and waits for all; returns their handles, statuses and in-flight times. */
async function runBatch(count: number, options: { failFirst: boolean }) {
  const events = Array.from({ length: count }, () =>
    asgTerminateEvent(undefined, options.failFirst ? { lifecycleHookName: failingHook.name } : {}),
  );
  const started: { handle: WorkflowHandle; at: number }[] = [];
  for (let i = 0; i < events.length; i += startConcurrency) {
    started.push(
      ...(await Promise.all(
        events.slice(i, i + startConcurrency).map(async (event) => {
          const workflowId = `bench-${taskQueue}-${event.instanceId}`;
          if (options.failFirst) failFirstAttempt.add(workflowId);
          const handle = await client.workflow.signalWithStart(workflowTypes.termination, {
            taskQueue,
            workflowId,
            args: [{ instanceId: event.instanceId }],
            signal: interruptionSignal,
            signalArgs: [event],
            // As the starter starts it.
            typedSearchAttributes: startAttributes(benchCluster, event),
          });
          return { handle, at: performance.now() };
        }),
      )),
    );
  }
  const startedAll = performance.now();
  const results = await Promise.all(
    started.map(async ({ handle, at }) => {
      const status = (await handle.result()) as TerminationStatus;
      return { handle, status, inFlightSeconds: (performance.now() - at) / 1000 };
    }),
  );
  return { results, startedAll };
}

const began = performance.now();
const main = await worker.runUntil(async () => {
  counter.reset();
  const batch = await runBatch(terminations, { failFirst: false });
  const seconds = (performance.now() - began) / 1000;
  const rpcs = counter.counts();
  const failingBatch = failing > 0 ? await runBatch(failing, { failFirst: true }) : undefined;
  return { batch, seconds, rpcs, failingBatch };
});
clearInterval(sampler);

const percentile = (values: number[], p: number) => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const summary = (values: number[]) => ({
  p50: percentile(values, 50),
  p99: percentile(values, 99),
  max: values.length ? Math.max(...values) : undefined,
  n: values.length,
});

/** How long each heartbeat loop that ran beside a drain attempt outlived the attempt, in ms. */
function loopStopLatencies(ids: string[], which: 'failed' | 'succeeded'): number[] {
  const latencies: number[] = [];
  for (const id of ids) {
    for (const drain of (drains.get(id) ?? []).filter((d) => d.failed === (which === 'failed'))) {
      const loop = (loops.get(id) ?? []).find(
        (l) => l.start <= drain.start + 1_000 && (l.end ?? Infinity) >= drain.end,
      );
      if (loop?.end !== undefined) latencies.push(loop.end - drain.end);
    }
  }
  return latencies;
}

/** From the drain's end to CompleteLifecycleAction, in ms. */
function drainToCompletion(ids: string[]): number[] {
  return ids.flatMap((id) => {
    const last = (drains.get(id) ?? []).at(-1);
    const completed = completions.get(id);
    return last && completed ? [completed - last.end] : [];
  });
}

const count = (events: HistoryEvent[], key: keyof HistoryEvent) => events.filter((e) => e[key]).length;

/** The Temporal cost of the sampled terminations, averaged, from their histories. */
async function costPerTermination(handles: WorkflowHandle[]) {
  const totals: Record<string, number> = {};
  const add = (key: string, n: number) => (totals[key] = (totals[key] ?? 0) + n);
  for (const handle of handles) {
    const events = (await handle.fetchHistory()).events ?? [];
    add('historyEvents', events.length);
    add('workflowTasks', count(events, 'workflowTaskScheduledEventAttributes'));
    add('activities', count(events, 'activityTaskScheduledEventAttributes'));
    add(
      'activityAttempts',
      events.reduce(
        (n, e) => n + (e.activityTaskStartedEventAttributes ? (e.activityTaskStartedEventAttributes.attempt ?? 1) : 0),
        0,
      ),
    );
    // A marker is a local activity's result or a patch (its marker is no action, but the upsert of
    // TemporalChangeVersion that comes with it is one, counted among the upserts).
    const isLocalActivity = (e: HistoryEvent) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity';
    add('localActivities', events.filter(isLocalActivity).length);
    add('patchMarkers', count(events, 'markerRecordedEventAttributes') - events.filter(isLocalActivity).length);
    // Every local activity completed in one workflow task counts once (Temporal Cloud's rule).
    let tasksWithMarkers = 0;
    let markerInTask = false;
    for (const event of events) {
      if (event.workflowTaskCompletedEventAttributes) markerInTask = false;
      if (isLocalActivity(event) && !markerInTask) {
        tasksWithMarkers += 1;
        markerInTask = true;
      }
    }
    add('workflowTasksWithLocalActivities', tasksWithMarkers);
    add('timers', count(events, 'timerStartedEventAttributes'));
    add('searchAttributeUpserts', count(events, 'upsertWorkflowSearchAttributesEventAttributes'));
    add('signalsReceived', count(events, 'workflowExecutionSignaledEventAttributes'));
    add('signalsSent', count(events, 'signalExternalWorkflowExecutionInitiatedEventAttributes'));
    add('updates', count(events, 'workflowExecutionUpdateAcceptedEventAttributes'));
  }
  return Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, +(v / handles.length).toFixed(2)]));
}

const ids = main.batch.results.map((r) => r.handle.workflowId);
const failingIds = main.failingBatch?.results.map((r) => r.handle.workflowId) ?? [];
const sample = main.batch.results
  .filter((_, i) => i % Math.max(1, Math.floor(terminations / sampled)) === 0)
  .slice(0, sampled);
const cost = await costPerTermination(sample.map((r) => r.handle));
const heartbeats = (main.rpcs.RecordActivityTaskHeartbeat ?? 0) + (main.rpcs.RecordActivityTaskHeartbeatById ?? 0);
const inFlightSeconds = main.batch.results.reduce((n, r) => n + r.inFlightSeconds, 0);
const heartbeatsPerTermination = heartbeats / terminations;
// Temporal Cloud's published rules (docs.temporal.io/cloud/actions): a Signal-With-Start is a workflow
// start and a signal; every activity attempt, every heartbeat that reaches the server, every timer,
// every upsert command and every signal (received or sent) and update is an action; the local
// activities completed in one workflow task count once; workflow tasks themselves do not count.
const billable =
  (cost.signalsReceived ?? 0) +
  1 +
  (cost.activityAttempts ?? 0) +
  heartbeatsPerTermination +
  (cost.timers ?? 0) +
  (cost.searchAttributeUpserts ?? 0) +
  (cost.signalsSent ?? 0) +
  (cost.updates ?? 0) +
  (cost.workflowTasksWithLocalActivities ?? 0);

console.log(
  JSON.stringify(
    {
      machineAtStart,
      node: { flags: process.execArgv, NODE_ENV: process.env.NODE_ENV, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX },
      terminations,
      drainSeconds: drainMs / 1000,
      done: main.batch.results.filter((r) => r.status.phase === 'Done').length,
      secondsToStartAll: +((main.batch.startedAll - began) / 1000).toFixed(1),
      secondsUntilAllDone: +main.seconds.toFixed(1),
      terminationsPerSecond: +(terminations / main.seconds).toFixed(1),
      heartbeatIntervalSeconds: heartbeatIntervalSeconds ?? deriveHeartbeatInterval(hookTimeoutSeconds),
      heartbeatLoopsPerTermination: +(
        ids.reduce((n, id) => n + (loops.get(id)?.length ?? 0), 0) / terminations
      ).toFixed(2),
      peakHeartbeatLoops: rec.maxHeartbeatsRunning,
      heartbeatLoopsLeft: rec.heartbeatsRunning,
      completions: completions.size,
      workflowCacheSize: worker.options.maxCachedWorkflows,
      peakWorkerRssMiB: Math.round(peakRss / 2 ** 20),
      peakWorkerKiBPerTerminationInFlight: Math.round(peakRss / 1024 / terminations),
      perTermination: {
        ...cost,
        temporalHeartbeatsReachingServer: +heartbeatsPerTermination.toFixed(2),
        billableActions: +billable.toFixed(1),
      },
      temporalHeartbeatsPerSecondPerTerminationInFlight: +(heartbeats / inFlightSeconds).toFixed(3),
      serverCallsDuringTheThousand: main.rpcs,
      serverCallsPerSecond: +(Object.values(main.rpcs).reduce((a, b) => a + b, 0) / main.seconds).toFixed(1),
      heartbeatLoopStopAfterAttemptMs: {
        failedAttempts: summary(loopStopLatencies(failingIds, 'failed')),
        succeededAttempts: summary(loopStopLatencies(ids, 'succeeded')),
      },
      drainEndToCompleteLifecycleActionMs: summary(drainToCompletion(ids)),
      failingBatchDone: main.failingBatch?.results.filter((r) => r.status.phase === 'Done').length,
    },
    null,
    2,
  ),
);
await connection.close();
await native.close();
await counter.close();
