import { NativeConnection, Worker } from '@temporalio/worker';
import { describeWorker } from '../activities/index.js';
import { defaultTaskQueue } from '../common/names.js';
import { baseWorkerOptions } from './options.js';

/** `tnth worker`: runs the workflows and activities until SIGINT or SIGTERM. */
export async function main(_args: string[]): Promise<number> {
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const taskQueue = process.env.TEMPORAL_TASK_QUEUE ?? defaultTaskQueue;
  const connection = await NativeConnection.connect({ address });
  try {
    const worker = await Worker.create({
      ...baseWorkerOptions,
      connection,
      namespace,
      taskQueue,
      activities: { describeWorker },
    });
    console.log(JSON.stringify({ msg: 'worker started', address, namespace, taskQueue }));
    await worker.run();
    return 0;
  } finally {
    await connection.close();
  }
}
