import type { InterruptionKind } from './events.js';
import type { LostReason } from './lifecycle.js';
import type { EventAction, LifecycleResult } from './settings.js';

/** The phases of a termination, also its `TerminationPhase` search attribute. */
export type TerminationPhase =
  | 'Received'
  | 'ResolvingNode'
  /** Waiting for a place in the drain budget (DRAIN_BUDGET_PER_GROUP, DRAIN_BUDGET), the hook held. */
  | 'WaitingForBudget'
  | 'Cordoning'
  /** Tainted or cordoned for an advisory event: waiting for a termination, or the undo at `undoAt`. */
  | 'Watching'
  | 'Draining'
  | 'WaitingToRetry'
  | 'CompletingLifecycleAction'
  | 'Notifying'
  | 'Done'
  | 'LifecycleActionLost'
  | 'NodeNotFound'
  | 'NotManaged'
  /** The instance's tags name another cluster: nothing changed, nothing completed. */
  | 'OtherCluster'
  | 'Stopped'
  | 'Failed'
  /** The events' action is `none`: nothing done. */
  | 'Ignored'
  /** No termination followed an advisory event: what it added to the node was removed. */
  | 'Undone';

const finished = [
  'Done',
  'LifecycleActionLost',
  'NodeNotFound',
  'NotManaged',
  'OtherCluster',
  'Stopped',
  'Failed',
  'Ignored',
  'Undone',
] as const satisfies readonly TerminationPhase[];

/** A phase a termination ends in (the workflow may still be open for DUPLICATE_WINDOW). */
export type FinishedPhase = (typeof finished)[number];

/** The phases a termination ends in (the workflow may still be open for DUPLICATE_WINDOW). */
export const finishedPhases: readonly TerminationPhase[] = finished;

/** What tnth itself added to a node (not what was there before), so an undo removes only that. */
export interface NodeChanges {
  cordoned: boolean;
  taints: { key: string; value: string; effect: string }[];
  labels: string[];
}

/** What two preparations added together (a taint once, by key and effect). */
export function mergeChanges(a: NodeChanges | undefined, b: NodeChanges): NodeChanges {
  if (!a) return b;
  return {
    cordoned: a.cordoned || b.cordoned,
    taints: [...a.taints, ...b.taints.filter((t) => !a.taints.some((x) => x.key === t.key && x.effect === t.effect))],
    labels: [...new Set([...a.labels, ...b.labels])],
  };
}

/** A pod a drain attempt left on the node, `namespace/name`, and why (refused, terminating, ...). */
export interface PodLeft {
  pod: string;
  reason: string;
}

/** The answer to the `status` query. Times are ISO 8601. */
export interface TerminationStatus {
  instanceId: string;
  phase: TerminationPhase;
  kinds: InterruptionKind[];
  nodeName: string | undefined;
  attempt: number;
  lastError: string | undefined;
  /** The pods the last failed drain attempt left on the node, each with its last outcome. */
  podsLeft: PodLeft[];
  /** Pods the drain evicted, `namespace/name`. */
  podsEvicted: string[];
  /**
   * Pods the drain stopped waiting for (SKIP_WAIT_FOR_DELETE_TIMEOUT, or a stopped instance): still
   * there, their kubelet not finishing them. Absent in runs carried before it existed.
   */
  podsNotWaitedFor?: string[];
  /** The termination's turn in its cluster's drain budget; absent when no budget applies. */
  drainBudget?: DrainBudgetTurn;
  /** The first lifecycle action (the one most instances have); the same entry as `lifecycleActions[0]`. */
  lifecycle: LifecycleActionStatus | undefined;
  /** Every lifecycle action this termination holds or held, one per token, in arrival order. */
  lifecycleActions: LifecycleActionStatus[];
  /** ASG heartbeats sent, over every action. */
  heartbeatsSent: number;
  /** The latest heartbeat and the soonest planned one, over every action still held. */
  lastHeartbeatAt: string | undefined;
  nextHeartbeatAt: string | undefined;
  /** Settings that could not be honoured as given (for example a HEARTBEAT_INTERVAL clamped to the hook). */
  warnings: string[];
  /** What the runbook decided, in order (the latest ones); in dry run, what it would have done. */
  decisions: string[];
  /** Older decisions dropped to keep the status and the state a run hands over bounded. */
  decisionsOmitted: number;
  /** Drain attempts interrupted by a worker's shutdown, a lost worker or an unreachable API; not counted in `attempt`. */
  attemptsInterrupted: number;
  /** Runs of this termination so far: a long one continues as new before its history grows too large. */
  run: number;
  eventsReceived: number;
  duplicatesIgnored: number;
  dryRun: boolean;
  /** The strongest action taken so far (REBALANCE_ACTION, ...); absent in runs from before it existed. */
  action?: EventAction;
  /** What the advisory steps added to the node, for the undo. */
  nodeChanges?: NodeChanges;
  /** While `Watching`: when what was added is removed unless a termination comes first (ISO 8601). */
  undoAt?: string;
}

/** One lifecycle action: its hook, its clock as the hold knows it, and how it ended. Times are ISO 8601. */
export interface LifecycleActionStatus {
  autoScalingGroupName: string;
  lifecycleHookName: string;
  lifecycleActionToken: string;
  /** When Auto Scaling started the action (the notification's time). */
  startedAt: string;
  heartbeatTimeoutSeconds: number | undefined;
  heartbeatIntervalSeconds: number | undefined;
  /** When Auto Scaling ends the action whatever the heartbeats. */
  globalDeadline: string | undefined;
  heartbeatsSent: number;
  lastHeartbeatAt: string | undefined;
  nextHeartbeatAt: string | undefined;
  /** When the action expires unless a heartbeat comes first. */
  expiresAt: string | undefined;
  /** How the action ended, once it has; `lost`: Auto Scaling ended it before tnth completed it. */
  result: LifecycleResult | 'lost' | 'left-to-expire' | undefined;
  lostReason: LostReason | undefined;
}

/** A termination's place in its cluster's drain budget. Times are ISO 8601. */
export interface DrainBudgetTurn {
  /** The budget workflow (`drain-budget-<cluster>`): its `status` query shows every holder and waiter. */
  workflowId: string;
  /** This turn's id: a second batch of events takes another turn. */
  requestId: string;
  /** waiting: in line; holding: one of the places, through every drain attempt; released: given back. */
  state: 'waiting' | 'holding' | 'released';
  group: string | undefined;
  /** Went without waiting (a Spot interruption, an instance already going), counted against the limits. */
  forced: boolean;
  requestedAt: string;
  grantedAt: string | undefined;
  releasedAt: string | undefined;
  /** Its place in line when it asked (1: next); undefined when a place was free. */
  positionAtRequest: number | undefined;
  /** The drains holding places when it asked: `instance (node)` each. */
  holdersAtRequest: string[];
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
  phase: 'WaitingForNode' | 'CompletingLifecycleAction' | 'Done' | 'GaveUp' | 'OtherCluster' | 'Stopped' | 'Failed';
  nodeName: string | undefined;
  lifecycle: { autoScalingGroupName: string; lifecycleHookName: string; lifecycleActionToken: string } | undefined;
  /** When the workflow stops waiting, before the hook would expire (ISO 8601). */
  deadline: string | undefined;
  result: 'CONTINUE' | 'ABANDON' | 'not-active' | undefined;
  decisions: string[];
}
