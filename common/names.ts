/** Names shared by the worker, the starter, the CLI and the tests; defined here only. */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  DrainBudgetChange,
  DrainBudgetStatus,
  DrainPlaceAnswer,
  DrainPlaceGrant,
  DrainPlaceRelease,
  DrainPlaceRequest,
} from './drain-budget.js';
import type { InterruptionEvent } from './events.js';
import type { HeartbeatProgress } from './lifecycle.js';
import type { LaunchStatus, SkipDrainRequest, StopHandlingRequest, TerminationStatus } from './status.js';

/** The task queue's stem: each cluster's is `tnth-termination-<CLUSTER_NAME>` unless TEMPORAL_TASK_QUEUE says otherwise. */
export const defaultTaskQueue = 'tnth-termination';

/** Workflow type names, as registered by the worker and started by the starter. */
export const workflowTypes = {
  termination: 'terminationWorkflow',
  launch: 'launchLifecycleWorkflow',
  drainBudget: 'drainBudgetWorkflow',
} as const;

/**
 * One termination workflow per cluster and instance: a redelivered message or a second event finds it
 * by this id, and two clusters on one namespace never share one.
 */
export const terminationWorkflowId = (cluster: string, instanceId: string): string =>
  `termination-${cluster}-${instanceId}`;
export const launchWorkflowId = (cluster: string, instanceId: string): string => `launch-${cluster}-${instanceId}`;

/** The ids of releases before CLUSTER_NAME: the starter hands an event to such a workflow while it runs. */
export const legacyWorkflowIds = {
  termination: (instanceId: string): string => `termination-${instanceId}`,
  launch: (instanceId: string): string => `launch-${instanceId}`,
};

/** Carries each event to the instance's workflow (signal-with-start); the workflow drops event ids it has. */
export const interruptionSignal = defineSignal<[InterruptionEvent]>('interruption');

/** What the starter passes when it starts a workflow. */
export interface WorkflowInput {
  instanceId: string;
}

/** The heartbeat activity tells its workflow after each ASG heartbeat; the `status` query shows it. */
export const heartbeatRecordedSignal = defineSignal<[HeartbeatProgress]>('lifecycleHeartbeatRecorded');

/** `temporal workflow query --type status`: where a termination stands. */
export const statusQuery = defineQuery<TerminationStatus>('status');
export const launchStatusQuery = defineQuery<LaunchStatus>('status');

/** Operator controls (`temporal workflow update execute --name ...`). */
export const retryDrainNowUpdate = defineUpdate<string>('retryDrainNow');
export const skipDrainUpdate = defineUpdate<string, [SkipDrainRequest]>('skipDrain');
export const stopHandlingUpdate = defineUpdate<string, [StopHandlingRequest]>('stopHandling');

/** The drain budget of a cluster (DRAIN_BUDGET_PER_GROUP, DRAIN_BUDGET): one workflow holds its places. */
export const drainBudgetWorkflowId = (cluster: string): string => `drain-budget-${cluster}`;
/** A termination asks for a place (update-with-start of the budget workflow); answered at once, granted or queued. */
export const requestDrainPlaceUpdate = defineUpdate<DrainPlaceAnswer, [DrainPlaceRequest]>('requestDrainPlace');
/** A termination gives its place back, or leaves the line. */
export const releaseDrainPlaceSignal = defineSignal<[DrainPlaceRelease]>('releaseDrainPlace');
/** The budget workflow gives a waiting termination its place. */
export const drainPlaceGrantedSignal = defineSignal<[DrainPlaceGrant]>('drainPlaceGranted');
/** `temporal workflow query --type status` on the budget workflow: limits, holders, waiters. */
export const drainBudgetStatusQuery = defineQuery<DrainBudgetStatus>('status');
/** `temporal workflow update execute --name setDrainBudget`: changes a limit at run time. */
export const setDrainBudgetUpdate = defineUpdate<string, [DrainBudgetChange]>('setDrainBudget');
