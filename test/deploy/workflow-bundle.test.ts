import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client, Connection } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { interruptionSignal, terminationWorkflowId, workflowTypes } from '../../common/names.js';
import type { TerminationStatus } from '../../common/status.js';
import { baseWorkerOptions } from '../../worker/options.js';
import { withPrebuiltWorkflowBundle, workflowBundleVariable } from '../../worker/prebuilt-bundle.js';
import { asgTerminateEvent } from '../helpers/events.js';
import { stackVar, testCluster } from '../helpers/stack-env.js';
import { stackClient, stackNativeConnection, uniqueTaskQueue } from '../helpers/temporal.js';
import { Recorder, stubActivities } from '../workflows/stub-activities.js';
import { root } from './tools.js';

const run = promisify(execFile);

describe('prebuilt workflow bundle: the one the image builds runs the termination workflow', function () {
  this.timeout(300_000);
  // Inside the repository, so the compiled modules resolve node_modules as they do in the image.
  const outDir = join(root, 'dist', `.test-build-${randomBytes(4).toString('hex')}`);
  const bundleFile = join(outDir, 'workflow-bundle.js');
  let client: Client;
  let connection: Connection;
  let native: NativeConnection;

  before(async () => {
    // The image's build stage: compile with tsconfig.build.json, then bundle from the compiled JavaScript.
    await run(join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: root });
    await run(process.execPath, [join(outDir, 'bin/bundle-workflows.js'), bundleFile], { cwd: root });
    ({ client, connection } = await stackClient());
    native = await stackNativeConnection();
  });

  after(async () => {
    rmSync(outDir, { recursive: true, force: true });
    await connection?.close();
    await native?.close();
  });

  it('takes the bundle file in place of bundling at start when WORKFLOW_BUNDLE_PATH is set', () => {
    const options = withPrebuiltWorkflowBundle(baseWorkerOptions, { [workflowBundleVariable]: bundleFile });
    assert.deepEqual(options.workflowBundle, { codePath: bundleFile });
    assert.ok(!('workflowsPath' in options) && !('bundlerOptions' in options), 'no second bundling, no SDK warning');
    assert.equal(options.maxHeartbeatThrottleInterval, baseWorkerOptions.maxHeartbeatThrottleInterval);
  });

  it('runs an ASG termination to Done from the compiled bundle', async () => {
    const rec = new Recorder();
    const taskQueue = uniqueTaskQueue('prebuilt-bundle');
    const worker = await Worker.create({
      ...withPrebuiltWorkflowBundle(baseWorkerOptions, { [workflowBundleVariable]: bundleFile }),
      connection: native,
      namespace: stackVar('TEMPORAL_NAMESPACE'),
      taskQueue,
      activities: stubActivities(rec),
    });
    const event = asgTerminateEvent();
    const status = await worker.runUntil(async () => {
      const handle = await client.workflow.signalWithStart(workflowTypes.termination, {
        taskQueue,
        workflowId: `${terminationWorkflowId(testCluster, event.instanceId)}-${taskQueue}`,
        args: [{ instanceId: event.instanceId }],
        signal: interruptionSignal,
        signalArgs: [event],
      });
      return (await handle.result()) as TerminationStatus;
    });
    assert.equal(status.phase, 'Done');
    assert.equal(rec.drains.length, 1);
    assert.deepEqual(
      rec.completions.map((c) => c.result),
      ['CONTINUE'],
    );
  });

  it('leaves bundling to the worker when WORKFLOW_BUNDLE_PATH is unset or empty', () => {
    assert.equal(withPrebuiltWorkflowBundle(baseWorkerOptions, {}), baseWorkerOptions);
    assert.equal(withPrebuiltWorkflowBundle(baseWorkerOptions, { [workflowBundleVariable]: '' }), baseWorkerOptions);
  });

  it('refuses to start when WORKFLOW_BUNDLE_PATH names no file, naming the variable', () => {
    const missing = join(outDir, 'missing.js');
    assert.ok(!existsSync(missing));
    assert.throws(
      () => withPrebuiltWorkflowBundle(baseWorkerOptions, { [workflowBundleVariable]: missing }),
      /WORKFLOW_BUNDLE_PATH=.*missing\.js: no such file/,
    );
  });
});
