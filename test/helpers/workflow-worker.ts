import {
  bundleWorkflowCode,
  Worker,
  type NativeConnection,
  type WorkerOptions,
  type WorkflowBundle,
} from '@temporalio/worker';
import { readFile } from 'node:fs/promises';
import { bundlerOptions, workflowsPath } from '../../worker/workflow-bundle.js';
import { heartbeatFlushInterval } from '../../worker/options.js';
import { suiteWorkflowBundle } from './processes.js';
import { stackVar } from './stack-env.js';

let bundle: Promise<WorkflowBundle> | undefined;

/**
 * The workflows bundled once per test process (each Worker.create would bundle again otherwise): the
 * suite's bundle when dev/test.sh built one.
 */
export function workflowBundle(): Promise<WorkflowBundle> {
  const suite = suiteWorkflowBundle();
  bundle ??= suite
    ? readFile(suite, 'utf8').then((code) => ({ code }))
    : bundleWorkflowCode({ workflowsPath, ...bundlerOptions, logger: quietLogger });
  return bundle;
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

/** A worker on its own task queue with the given (usually stubbed) activities. */
export async function testWorker(
  connection: NativeConnection,
  taskQueue: string,
  activities: object,
  options: Partial<WorkerOptions> = {},
): Promise<Worker> {
  return Worker.create({
    ...options,
    connection,
    namespace: stackVar('TEMPORAL_NAMESPACE'),
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities,
    maxHeartbeatThrottleInterval: heartbeatFlushInterval,
  });
}
