import assert from 'node:assert/strict';
import type { Client, Connection } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { describeWorker } from '../../activities/index.js';
import { searchAttributeNames } from '../../common/search-attributes.js';
import { placeholderWorkflow } from '../../workflows/index.js';
import { baseWorkerOptions } from '../../worker/options.js';
import { stackVar } from '../helpers/stack-env.js';
import { stackClient, stackNativeConnection, uniqueTaskQueue } from '../helpers/temporal.js';

describe('foundation: worker, workflow and activity against the stack dev server', () => {
  let client: Client;
  let connection: Connection;
  let nativeConnection: NativeConnection;

  before(async () => {
    ({ client, connection } = await stackClient());
    nativeConnection = await stackNativeConnection();
  });

  after(async () => {
    await connection?.close();
    await nativeConnection?.close();
  });

  it('runs a workflow whose activity executes in the worker process, bundled from source', async () => {
    const taskQueue = uniqueTaskQueue('foundation');
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace: stackVar('TEMPORAL_NAMESPACE'),
      taskQueue,
      ...baseWorkerOptions,
      activities: { describeWorker },
    });
    const result = await worker.runUntil(
      client.workflow.execute(placeholderWorkflow, {
        taskQueue,
        workflowId: `foundation-${taskQueue}`,
        args: ['i-0123456789abcdef0'],
      }),
    );
    assert.match(result, new RegExp(`^i-0123456789abcdef0 seen by .+/${process.pid}$`));
  });

  it('has the search attributes that terminations are found by', async () => {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({
      namespace: stackVar('TEMPORAL_NAMESPACE'),
    });
    for (const name of searchAttributeNames) {
      assert.ok(name in customAttributes, `search attribute ${name} is not registered`);
    }
  });
});
