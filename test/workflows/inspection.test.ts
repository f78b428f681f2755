import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Client, Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { interruptionSignal, statusQuery, workflowTypes } from '../../common/names.js';
import type { TerminationStatus } from '../../common/status.js';
import { asgTerminateEvent } from '../helpers/events.js';
import { stackVar } from '../helpers/stack-env.js';
import { stackClient, stackNativeConnection, uniqueTaskQueue } from '../helpers/temporal.js';
import { testWorker } from '../helpers/workflow-worker.js';
import { Recorder, stubActivities } from './stub-activities.js';

const run = promisify(execFile);

/** The `temporal` CLI against the stack, as an operator runs it. */
async function temporalCli(...args: string[]): Promise<string> {
  const { stdout } = await run('temporal', [
    ...args,
    '--address',
    stackVar('TEMPORAL_ADDRESS'),
    '--namespace',
    stackVar('TEMPORAL_NAMESPACE'),
  ]);
  return stdout;
}

async function until(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('termination workflow: inspection, duplicates and operator controls from the temporal CLI', function () {
  this.timeout(90_000);
  let client: Client;
  let connection: Connection;
  let native: NativeConnection;

  before(async () => {
    ({ client, connection } = await stackClient());
    native = await stackNativeConnection();
  });
  after(async () => {
    await connection?.close();
    await native?.close();
  });

  it('ignores a redelivered event, answers `status` to the CLI, and retries the drain on `retryDrainNow`', async () => {
    const rec = new Recorder();
    const taskQueue = uniqueTaskQueue('inspect');
    // A drain that fails twice, with a retry interval far longer than the test: only the update can retry it.
    const worker = await testWorker(
      native,
      taskQueue,
      stubActivities(rec, { drainFailures: 1, settings: { drainRetryIntervalSeconds: 600 } }),
    );
    const event = asgTerminateEvent();
    const workflowId = `inspect-${taskQueue}`;
    await worker.runUntil(async () => {
      const start = () =>
        client.workflow.signalWithStart(workflowTypes.termination, {
          taskQueue,
          workflowId,
          args: [{ instanceId: event.instanceId }],
          signal: interruptionSignal,
          signalArgs: [event],
        });
      const handle = await start();
      await start(); // the same message delivered again
      await until(
        async () => (await handle.query(statusQuery)).phase === 'WaitingToRetry',
        'the first attempt to fail',
      );

      const status = JSON.parse(
        await temporalCli('workflow', 'query', '--workflow-id', workflowId, '--type', 'status', '--output', 'json'),
      ) as { queryResult: TerminationStatus[] };
      const live = status.queryResult[0]!;
      assert.equal(live.phase, 'WaitingToRetry');
      assert.equal(live.attempt, 1);
      assert.equal(live.nodeName, 'ip-10-0-1-23.ec2.internal');
      assert.equal(live.eventsReceived, 1);
      assert.equal(live.duplicatesIgnored, 1);
      assert.match(live.lastError ?? '', /pods left/);
      assert.equal(live.lifecycle?.lifecycleActionToken, event.lifecycleActionToken);

      const listed = await temporalCli(
        'workflow',
        'list',
        '--query',
        `InstanceId="${event.instanceId}"`,
        '--output',
        'json',
      );
      assert.match(listed, new RegExp(workflowId));

      await temporalCli('workflow', 'update', 'execute', '--workflow-id', workflowId, '--name', 'retryDrainNow');
      const final = (await handle.result()) as TerminationStatus;
      assert.equal(final.phase, 'Done');
      assert.equal(final.attempt, 2);
      assert.equal(rec.completions.length, 1, 'one CompleteLifecycleAction for the token, despite the duplicate');
    });
  });

  it('refuses an operator update that makes no sense in the current phase, naming the phase', async () => {
    const rec = new Recorder();
    const taskQueue = uniqueTaskQueue('inspect');
    const worker = await testWorker(native, taskQueue, stubActivities(rec, { drainHangs: true }));
    const event = asgTerminateEvent();
    const workflowId = `refuse-${taskQueue}`;
    await worker.runUntil(async () => {
      const handle = await client.workflow.signalWithStart(workflowTypes.termination, {
        taskQueue,
        workflowId,
        args: [{ instanceId: event.instanceId }],
        signal: interruptionSignal,
        signalArgs: [event],
      });
      await until(async () => (await handle.query(statusQuery)).phase === 'Draining', 'the drain');
      await assert.rejects(
        temporalCli('workflow', 'update', 'execute', '--workflow-id', workflowId, '--name', 'retryDrainNow'),
        /no drain is waiting to be retried \(phase Draining\)/,
      );
      await temporalCli(
        'workflow',
        'update',
        'execute',
        '--workflow-id',
        workflowId,
        '--name',
        'stopHandling',
        '--input',
        '{"reason":"test"}',
      );
      assert.equal(((await handle.result()) as TerminationStatus).phase, 'Stopped');
    });
  });
});
