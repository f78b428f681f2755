import type { Client, Connection, WorkflowHandle } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { InterruptionEvent } from '../../common/events.js';
import { interruptionSignal, statusQuery, workflowTypes } from '../../common/names.js';
import type { TerminationPhase, TerminationStatus } from '../../common/status.js';
import { asgTerminateEvent } from '../helpers/events.js';
import { stackClient, stackNativeConnection, uniqueTaskQueue } from '../helpers/temporal.js';
import { testWorker } from '../helpers/workflow-worker.js';
import { Recorder, stubActivities, type StubBehaviour } from './stub-activities.js';

export interface Harness {
  client: Client;
  native: NativeConnection;
}

/** Connections to the stack's dev server for one `describe`, opened before and closed after it. */
export function useStack(): Harness {
  const harness = {} as Harness;
  let connection: Connection | undefined;
  before(async () => {
    let client: Client;
    ({ client, connection } = await stackClient());
    harness.client = client;
    harness.native = await stackNativeConnection();
  });
  after(async () => {
    await connection?.close();
    await harness.native?.close();
  });
  return harness;
}

export interface TerminationRun {
  rec: Recorder;
  /** The workflow's result, or its last status when it failed. */
  status: TerminationStatus;
  /** Why the workflow failed or was cancelled, when it did. */
  error: unknown;
  /** When the workflow had closed, in the worker's clock. */
  closedAt: number;
  workflowId: string;
}

/**
 * Runs one termination workflow on its own task queue with stubbed activities, from signal-with-start
 * to its close; `during` acts on the running workflow (updates, cancel, queries).
 */
export async function runTermination(
  harness: Harness,
  behaviour: StubBehaviour,
  options: {
    event?: InterruptionEvent;
    during?: (handle: WorkflowHandle, rec: Recorder, start: () => Promise<WorkflowHandle>) => Promise<void>;
  } = {},
): Promise<TerminationRun> {
  const event = options.event ?? asgTerminateEvent();
  const rec = new Recorder();
  const taskQueue = uniqueTaskQueue('termination');
  const workflowId = `termination-${event.instanceId}-${taskQueue}`;
  const worker = await testWorker(harness.native, taskQueue, stubActivities(rec, behaviour), {
    sinks: recordingLogger(rec),
  });
  return worker.runUntil(async () => {
    const start = () =>
      harness.client.workflow.signalWithStart(workflowTypes.termination, {
        taskQueue,
        workflowId,
        args: [{ instanceId: event.instanceId }],
        signal: interruptionSignal,
        signalArgs: [event],
      });
    const handle = await start();
    await options.during?.(handle, rec, start);
    try {
      const status = (await handle.result()) as TerminationStatus;
      return { rec, status, error: undefined, closedAt: Date.now(), workflowId };
    } catch (error) {
      const closedAt = Date.now();
      return { rec, status: await handle.query(statusQuery), error, closedAt, workflowId };
    }
  });
}

/** The workflows' logger (`log` of @temporalio/workflow), recording each line in `rec.logs`. */
function recordingLogger(rec: Recorder) {
  const level = (name: string) => ({
    fn: (_info: unknown, message: string, attrs?: Record<string, unknown>) => {
      rec.logs.push({ level: name, message, attrs: attrs ?? {} });
      // As the tests' Runtime logger (test/setup.ts): errors still show.
      if (name === 'error') console.error(message, attrs ?? {});
    },
  });
  return {
    // The SDK takes the logger sink under its registered name `defaultWorkerLogger`.
    defaultWorkerLogger: {
      trace: level('trace'),
      debug: level('debug'),
      info: level('info'),
      warn: level('warn'),
      error: level('error'),
    },
  };
}

/**
 * How long a wait lasts before it fails: a step that takes 2 s idle took 10-15 s at the suite's start
 * (load 16-22 on 2 cores), when these tests run beside the stack tests. A pass never waits it out.
 */
const waitMs = 60_000;

/**
 * Polls `check` every 50 ms until it holds; fails naming `what` after `ms`, and what `seen` says
 * of the state it was in then.
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  ms = waitMs,
  seen?: () => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) {
      const state = seen ? `; ${await seen().catch((e: unknown) => `not answered: ${String(e)}`)}` : '';
      throw new Error(`timed out waiting for ${what}${state}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until the termination is in `phase`; a timeout names the phase it was in and its last decisions. */
export async function untilPhase(
  handle: WorkflowHandle,
  phase: TerminationPhase,
  what: string,
  ms = waitMs,
): Promise<void> {
  await until(
    async () => (await handle.query(statusQuery)).phase === phase,
    what,
    ms,
    async () => {
      const s = await handle.query(statusQuery);
      return `${handle.workflowId} was ${s.phase}${s.lastError ? ` (${s.lastError})` : ''}; decisions: ${s.decisions.slice(-3).join(' | ')}`;
    },
  );
}
