import type { WorkerOptions } from '@temporalio/worker';
import { stickyScheduleToStartSeconds } from '../common/lifecycle.js';
import { bundlerOptions, workflowsPath } from './workflow-bundle.js';

/**
 * Worker options shared by the service and the tests. Activity heartbeats reach the server at most
 * this often. The long activities call heartbeat less often than this (the lifecycle loop every 4 s,
 * the drain every 20 s), so each call is sent when made; the throttle only merges a burst.
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
