import type { WorkerOptions } from '@temporalio/worker';
import { bundlerOptions, workflowsPath } from './workflow-bundle.js';

/**
 * Worker options shared by the service and the tests. Activity heartbeats reach the server at most
 * this often; a cancel (the end of a drain attempt) is delivered in the answer to one, so this bounds
 * how long a heartbeat loop can outlive its attempt.
 */
export const heartbeatFlushInterval = '2 seconds';

export const baseWorkerOptions: Pick<
  WorkerOptions,
  'workflowsPath' | 'bundlerOptions' | 'maxHeartbeatThrottleInterval'
> = {
  workflowsPath,
  bundlerOptions,
  maxHeartbeatThrottleInterval: heartbeatFlushInterval,
};
