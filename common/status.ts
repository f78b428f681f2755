import type { InterruptionKind } from './events.js';
import type { LifecycleResult } from './settings.js';

/** The phases of a termination, also its `TerminationPhase` search attribute. */
export type TerminationPhase =
  | 'Received'
  | 'ResolvingNode'
  | 'Cordoning'
  | 'Draining'
  | 'WaitingToRetry'
  | 'CompletingLifecycleAction'
  | 'Notifying'
  | 'Done'
  | 'NodeNotFound'
  | 'NotManaged'
  | 'Stopped'
  | 'Failed';

/** The answer to the `status` query. Times are ISO 8601. */
export interface TerminationStatus {
  instanceId: string;
  phase: TerminationPhase;
  kinds: InterruptionKind[];
  nodeName: string | undefined;
  attempt: number;
  lastError: string | undefined;
  podsLeft: string[];
  /** Pods the drain evicted, `namespace/name`. */
  podsEvicted: string[];
  lifecycle:
    | {
        autoScalingGroupName: string;
        lifecycleHookName: string;
        lifecycleActionToken: string;
        /** How the action ended, once it has. */
        result: LifecycleResult | 'not-active' | 'left-to-expire' | undefined;
      }
    | undefined;
  heartbeatsSent: number;
  lastHeartbeatAt: string | undefined;
  nextHeartbeatAt: string | undefined;
  /** What the runbook decided, in order; in dry run, what it would have done. */
  decisions: string[];
  eventsReceived: number;
  duplicatesIgnored: number;
  dryRun: boolean;
}

export interface SkipDrainRequest {
  /** What CompleteLifecycleAction says; CONTINUE unless given. */
  result?: LifecycleResult;
  reason?: string;
}

export interface StopHandlingRequest {
  reason?: string;
}

/** The answer to the `status` query of a launch-hook workflow. */
export interface LaunchStatus {
  instanceId: string;
  phase: 'WaitingForNode' | 'CompletingLifecycleAction' | 'Done' | 'GaveUp' | 'Stopped';
  nodeName: string | undefined;
  lifecycle: { autoScalingGroupName: string; lifecycleHookName: string; lifecycleActionToken: string } | undefined;
  /** When the workflow stops waiting, before the hook would expire (ISO 8601). */
  deadline: string | undefined;
  result: 'CONTINUE' | 'ABANDON' | 'not-active' | undefined;
  decisions: string[];
}
