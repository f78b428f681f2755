import type { WorkerOptions } from '@temporalio/worker';
import { stickyScheduleToStartSeconds } from '../common/lifecycle.js';
import { bundlerOptions, workflowsPath } from './workflow-bundle.js';

/**
 * Worker options shared by the service and the tests. Activity heartbeats reach the server at most
 * this often; a cancel (the end of a drain attempt) is delivered in the answer to one, so this bounds
 * how long a heartbeat loop can outlive its attempt.
 */
export const heartbeatFlushInterval = '2 seconds';

export const baseWorkerOptions: Pick<
  WorkerOptions,
  'workflowsPath' | 'bundlerOptions' | 'maxHeartbeatThrottleInterval' | 'stickyQueueScheduleToStartTimeout'
> = {
  workflowsPath,
  bundlerOptions,
  maxHeartbeatThrottleInterval: heartbeatFlushInterval,
  // A workflow whose worker died goes to another worker after this; it counts in the heartbeat budget.
  stickyQueueScheduleToStartTimeout: `${stickyScheduleToStartSeconds} seconds`,
};
