import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

const { describeWorker } = proxyActivities<Activities>({ startToCloseTimeout: '10 seconds' });

/** The smallest workflow with an activity: proves workflow, activity and worker wiring. */
export async function placeholderWorkflow(instanceId: string): Promise<string> {
  const worker = await describeWorker();
  return `${instanceId} seen by ${worker}`;
}
