import { getHeapStatistics } from 'node:v8';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { EC2Client } from '@aws-sdk/client-ec2';
import { Client, Connection } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities/index.js';
import { createKubeClients } from '../activities/kubernetes/client.js';
import {
  ConfigError,
  eventAnnotations,
  loadConfig,
  ownPods,
  runbookSettings,
  webhookSettings,
  type Config,
} from '../common/config.js';
import { startHttpServer } from '../common/http-server.js';
import { checkPeriodically, Reachability, reachableGauge } from '../common/reachability.js';
import { createLogger } from '../common/logging.js';
import { nthSettingNotes } from '../common/nth-settings.js';
import { heartbeatRecordedSignal } from '../common/names.js';
import { temporalConnectionOptions } from '../common/temporal-connection.js';
import { InFlightCounter } from './in-flight.js';
import { createWorkerMetrics } from './metrics.js';
import { createNthMetrics } from './nth-metrics.js';
import { baseWorkerOptions } from './options.js';
import { withPrebuiltWorkflowBundle } from './prebuilt-bundle.js';

/**
 * The AWS SDK waits forever for an answer by default. A call that hangs must fail and be retried well
 * within an activity's Temporal heartbeat timeout, or Temporal takes the loop for lost and starts a
 * second one beside it.
 */
const awsRequestTimeouts = { connectionTimeout: 5_000, requestTimeout: 10_000 };

/** How often readiness asks Temporal whether it answers, and how long an answer may take. */
const temporalCheckMs = 10_000;
const temporalCheckTimeoutMs = 5_000;
/** How often the terminations in flight are counted (a visibility list of the cluster's open workflows). */
const inFlightCountMs = 15_000;

/** Where the Temporal SDK's own Prometheus exporter listens, for /metrics to include its figures. */
const sdkMetricsAddress = (config: Config) => `127.0.0.1:${config.PROMETHEUS_SERVER_PORT + 1}`;

function installRuntime(config: Config, logger: Logger): void {
  const level = config.LOG_LEVEL.toUpperCase() as LogLevel;
  Runtime.install({
    logger: new DefaultLogger(level === ('FATAL' as LogLevel) ? 'ERROR' : level, (entry) => {
      const method =
        entry.level === 'TRACE' ? 'trace' : (entry.level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error');
      logger[method]({ ...entry.meta, sdk: true }, entry.message);
    }),
    ...(config.ENABLE_PROMETHEUS_SERVER
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: sdkMetricsAddress(config) } } } }
      : {}),
  });
}

/** How often a worker that is shutting down says what it still waits for. */
const shutdownReportMs = 10_000;

/**
 * Once SIGTERM or SIGINT has started the shutdown, logs every 10 s what the SDK still waits for (its
 * polls, activations and activities), so a shutdown that outlasts SHUTDOWN_GRACE_PERIOD says why.
 */
function reportShutdown(worker: Worker, logger: Logger, graceSeconds: number): NodeJS.Timeout {
  let since: number | undefined;
  let reportedAt = 0;
  const timer = setInterval(() => {
    const status = worker.getStatus();
    if (status.runState === 'INITIALIZED' || status.runState === 'RUNNING') return;
    const now = Date.now();
    since ??= now;
    if (now - since < shutdownReportMs || now - reportedAt < shutdownReportMs) return;
    reportedAt = now;
    const seconds = Math.round((now - since) / 1000);
    // Past the grace period every activity has been cancelled: what is left should end within seconds.
    logger[seconds > graceSeconds + shutdownReportMs / 1000 ? 'warn' : 'info'](
      {
        secondsSinceShutdownBegan: seconds,
        runState: status.runState,
        workflowPollerState: status.workflowPollerState,
        activityPollerState: status.activityPollerState,
        hasOutstandingWorkflowPoll: status.hasOutstandingWorkflowPoll,
        hasOutstandingActivityPoll: status.hasOutstandingActivityPoll,
        workflowActivationsInFlight: status.numInFlightWorkflowActivations,
        activitiesInFlight: status.numInFlightNonLocalActivities,
        localActivitiesInFlight: status.numInFlightLocalActivities,
      },
      'worker shutting down',
    );
  }, 1_000);
  return timer.unref();
}

/** `tnth worker`: runs the workflows and activities until SIGINT or SIGTERM. */
export async function main(_args: string[]): Promise<number> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`tnth worker: ${error.message}`);
    return 2;
  }
  const logger = createLogger(config, 'tnth-worker');
  for (const note of nthSettingNotes(process.env)) logger.warn(note);
  installRuntime(config, logger);
  const metrics = createWorkerMetrics();
  const nth = createNthMetrics(metrics.registry);
  const connectionOptions = await temporalConnectionOptions(config);
  const nativeConnection = await NativeConnection.connect(connectionOptions);
  const clientConnection = await Connection.connect(connectionOptions);
  const client = new Client({ connection: clientConnection, namespace: config.TEMPORAL_NAMESPACE });
  const reportsInFlight = new Set<Promise<unknown>>();
  const servers = [];
  let stopTagged: (() => void) | undefined;
  const checks = new AbortController();
  const loops: Promise<void>[] = [];
  try {
    const region = config.AWS_REGION;
    const ec2 = new EC2Client({ ...(region ? { region } : {}), requestHandler: awsRequestTimeouts });
    const kube = createKubeClients();
    const activities = createActivities({
      settings: runbookSettings(config),
      ec2,
      autoScaling: new AutoScalingClient({ ...(region ? { region } : {}), requestHandler: awsRequestTimeouts }),
      kube,
      metrics: nth.withActions(metrics.activity, { cordonOnly: config.CORDON_ONLY }),
      webhook: webhookSettings(config),
      eventAnnotations: eventAnnotations(config),
      ownPods: ownPods(config),
      expectOtherClusters: config.EXPECT_OTHER_CLUSTERS,
      temporal: client,
      reportHeartbeat: async (progress) => {
        const execution = Context.current().info.workflowExecution;
        if (!execution) return;
        // A report is worth little once the next heartbeat is due: it gives up rather than queue
        // behind it. 10 s, and its last retry's wait, fit the 15 s the pod has after the grace period.
        const sending = client.connection.withDeadline(Date.now() + 10_000, () =>
          client.workflow.getHandle(execution.workflowId, execution.runId).signal(heartbeatRecordedSignal, progress),
        );
        reportsInFlight.add(sending);
        try {
          await sending;
        } finally {
          reportsInFlight.delete(sending);
        }
      },
    });
    // The HTTP servers come first: a port in use fails the start before a worker holds the connection.
    let worker: Worker | undefined = undefined;
    if (config.ENABLE_PROMETHEUS_SERVER) {
      // As NTH, only while metrics are served: a DescribeInstances and a node list every 30 s.
      stopTagged = nth.recordTagged({ ec2, core: kube.core, managedTag: config.MANAGED_TAG, logger });
      const sdkMetrics = `http://${sdkMetricsAddress(config)}/metrics`;
      servers.push(
        await startHttpServer(
          config.PROMETHEUS_SERVER_PORT,
          { metrics: { registry: metrics.registry, extra: async () => (await fetch(sdkMetrics)).text() } },
          logger,
        ),
      );
    }
    const temporal = new Reachability('Temporal');
    reachableGauge(metrics.registry, 'tnth_worker_temporal_reachable', temporal);
    loops.push(
      checkPeriodically(
        temporal,
        async () => {
          await clientConnection.withDeadline(Date.now() + temporalCheckTimeoutMs, () =>
            clientConnection.workflowService.getSystemInfo({}),
          );
        },
        temporalCheckMs,
        checks.signal,
        logger,
      ),
    );
    if (config.ENABLE_PROMETHEUS_SERVER) {
      const inFlight = new InFlightCounter(client, config.CLUSTER_NAME, metrics.registry);
      const counting = new Reachability('Temporal visibility');
      loops.push(checkPeriodically(counting, () => inFlight.count(), inFlightCountMs, checks.signal, logger));
    }
    if (config.ENABLE_PROBES_SERVER) {
      servers.push(
        await startHttpServer(
          config.PROBES_SERVER_PORT,
          {
            probes: {
              // A restart helps a worker that failed, not one whose Temporal is down: that one only
              // stops being Ready, and polls again by itself once Temporal answers.
              live: () => {
                const state = worker?.getState() ?? 'INITIALIZED';
                return { ok: state !== 'FAILED', reason: `worker ${state}` };
              },
              ready: () => {
                const state = worker?.getState() ?? 'INITIALIZED';
                if (state !== 'RUNNING') return { ok: false, reason: `worker ${state}` };
                return temporal.probe();
              },
            },
          },
          logger,
        ),
      );
    }
    worker = await Worker.create({
      ...withPrebuiltWorkflowBundle(baseWorkerOptions),
      connection: nativeConnection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      activities,
      shutdownGraceTime: `${config.SHUTDOWN_GRACE_PERIOD} seconds`,
      maxConcurrentActivityTaskExecutions: config.MAX_CONCURRENT_ACTIVITIES,
      ...(config.WORKFLOW_CACHE_SIZE === undefined ? {} : { maxCachedWorkflows: config.WORKFLOW_CACHE_SIZE }),
    });
    logger.info(
      {
        address: config.TEMPORAL_ADDRESS,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        dryRun: config.DRY_RUN,
        // What the SDK chose when WORKFLOW_CACHE_SIZE is unset: it follows the heap limit.
        workflowCacheSize: worker.options.maxCachedWorkflows,
        heapLimitMiB: Math.round(getHeapStatistics().heap_size_limit / 2 ** 20),
      },
      'worker started',
    );
    const shutdownReport = reportShutdown(worker, logger, config.SHUTDOWN_GRACE_PERIOD);
    try {
      await worker.run();
    } finally {
      clearInterval(shutdownReport);
    }
    logger.info('worker stopped');
    return 0;
  } finally {
    stopTagged?.();
    checks.abort();
    await Promise.all(loops);
    for (const server of servers) server.close();
    // Reports outlive their loops (they are not awaited there): a call the client still retries when
    // its channel closes throws from the retry's timer and takes the process down.
    await Promise.allSettled([...reportsInFlight]);
    await clientConnection.close();
    await nativeConnection.close();
  }
}
