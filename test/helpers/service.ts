// The service as a user runs it, for whole-stack tests that run many at once: a worker and a starter
// as processes, on a queue and a task queue of their own, sharing one prebuilt workflow bundle (so a
// replacement worker starts in seconds); the worker can be killed and replaced.
import { copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { bundleWorkflowCode } from '@temporalio/worker';
import { bundlerOptions, workflowsPath } from '../../worker/workflow-bundle.js';
import { awsClients, createQueue, uniqueName, type QueueRef } from './aws.js';
import { startTnth, suiteWorkflowBundle, type TnthProcess } from './processes.js';
import { stackVar } from './stack-env.js';
import { uniqueTaskQueue } from './temporal.js';

export interface Service {
  queue: QueueRef;
  env: Record<string, string>;
  workers: TnthProcess[];
  starter: TnthProcess;
  /** The newest worker. */
  worker(): TnthProcess;
  startWorker(): TnthProcess;
  /** SIGTERM to the starter and every worker. */
  stop(): Promise<void>;
}

/**
 * The workflow bundle in a temporary file of the caller's, for WORKFLOW_BUNDLE_PATH: a copy of the
 * suite's (dev/test.sh builds it once), or built here when a test runs alone.
 */
export async function prebuiltBundle(): Promise<string> {
  const path = join(tmpdir(), `${uniqueName('tnth-bundle')}.js`);
  const suite = suiteWorkflowBundle();
  if (suite) copyFileSync(suite, path);
  else writeFileSync(path, (await bundleWorkflowCode({ workflowsPath, ...bundlerOptions })).code);
  return path;
}

/**
 * A worker and a starter named `name`, with `env` on top of the stack's connection settings. A
 * worker that dies by itself leaves what it said in the temporary folder, since its tests would only
 * see a termination that never moves.
 */
export async function startService(name: string, env: Record<string, string>): Promise<Service> {
  const queue = await createQueue(awsClients().sqs, `tnth-${name}`);
  const full: Record<string, string> = {
    TEMPORAL_TASK_QUEUE: uniqueTaskQueue(name),
    KUBECONFIG: stackVar('SERVICE_KUBECONFIG'),
    QUEUE_URL: queue.url,
    ...env,
  };
  const service: Service = {
    queue,
    env: full,
    workers: [],
    // The starter serves its own /metrics: on another port than the worker's.
    starter: startTnth('starter', {
      ...full,
      ...(full.PROMETHEUS_SERVER_PORT
        ? { PROMETHEUS_SERVER_PORT: String(Number(full.PROMETHEUS_SERVER_PORT) + 1000) }
        : {}),
    }),
    worker: () => service.workers.at(-1)!,
    startWorker: () => {
      const worker = startTnth('worker', full);
      service.workers.push(worker);
      void worker.exited.then((code) => {
        if (code !== 0 && worker.child.signalCode === null) {
          writeFileSync(join(tmpdir(), `tnth-${name}-worker-${worker.child.pid}.log`), worker.output());
        }
      });
      return worker;
    },
    stop: async () => {
      await Promise.all([service.starter.stop(), ...service.workers.map((w) => w.stop())]);
    },
  };
  await polling(service.startWorker(), name);
  return service;
}

/**
 * Resolves once the worker runs (its `worker started` line, then it polls); fails with what it said if
 * it exits first. A test's terminations start after it: at the suite's start, with every mocha beside
 * it compiling and bundling, a worker took 50 s to take its first task, and every 60 s hook of the
 * test expired before a workflow could hold it (CI, the drain-budget test).
 */
export async function polling(worker: TnthProcess, name: string): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (!worker.logs().some((line) => line.msg === 'worker started')) {
    if (worker.child.exitCode !== null) {
      throw new Error(`the ${name} worker exited (${worker.child.exitCode}) before it started:\n${worker.output()}`);
    }
    if (Date.now() > deadline) throw new Error(`the ${name} worker did not start in 180 s:\n${worker.output()}`);
    await sleep(200);
  }
}
