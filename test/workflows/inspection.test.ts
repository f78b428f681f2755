import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TerminationStatus } from '../../common/status.js';
import { asgTerminateEvent } from '../helpers/events.js';
import { stackVar } from '../helpers/stack-env.js';
import { runTermination, untilPhase, useStack } from './harness.js';

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

describe('termination workflow: inspection, duplicates and operator controls from the temporal CLI', function () {
  this.timeout(90_000);
  const stack = useStack();

  it('ignores a redelivered event, answers `status` to the CLI, and retries the drain on `retryDrainNow`', async () => {
    const event = asgTerminateEvent();
    // A drain that fails once, with a retry interval far longer than the test: only the update can retry it.
    const { rec, status } = await runTermination(
      stack,
      { drainFailures: 1, settings: { drainRetryIntervalSeconds: 600 } },
      {
        event,
        during: async (handle, _rec, start) => {
          await start(); // the same message delivered again
          await untilPhase(handle, 'WaitingToRetry', 'the first attempt to fail');
          const workflowId = handle.workflowId;
          const answer = JSON.parse(
            await temporalCli('workflow', 'query', '--workflow-id', workflowId, '--type', 'status', '--output', 'json'),
          ) as { queryResult: TerminationStatus[] };
          const live = answer.queryResult[0]!;
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
        },
      },
    );
    assert.equal(status.phase, 'Done');
    assert.equal(status.attempt, 2);
    assert.equal(rec.completions.length, 1, 'one CompleteLifecycleAction for the token, despite the duplicate');
  });

  it('refuses an operator update that makes no sense in the current phase, naming the phase', async () => {
    const { status } = await runTermination(
      stack,
      { drainHangs: true },
      {
        during: async (handle) => {
          const workflowId = handle.workflowId;
          await untilPhase(handle, 'Draining', 'the drain');
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
        },
      },
    );
    assert.equal(status.phase, 'Stopped');
  });
});
