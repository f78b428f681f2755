import { proxyActivities } from '@temporalio/workflow';
import type * as activities from '../activities/index.js';

const { describeWorker } = proxyActivities<typeof activities>({ startToCloseTimeout: '10 seconds' });

/** Stands in for the termination workflow until it lands: proves workflow, activity and worker wiring. */
export async function placeholderWorkflow(instanceId: string): Promise<string> {
  const worker = await describeWorker();
  return `${instanceId} seen by ${worker}`;
}
