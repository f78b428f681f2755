import type { DrainBudgetLimits } from './drain-budget.js';

/**
 * What the termination runbook needs to know of the configuration. The worker derives it from its
 * environment (common/config.ts) and hands it to each workflow through an activity, so a workflow's
 * decisions are recorded in its history and replay the same.
 */
export type LifecycleResult = 'CONTINUE' | 'ABANDON';
export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';

/** What an event of a kind does to the node, weakest first: nothing, a taint, a cordon, a drain. */
export const eventActions = ['none', 'taint', 'cordon', 'drain'] as const;
export type EventAction = (typeof eventActions)[number];

/** The kinds whose action is configurable; an ASG termination and a Spot interruption always drain. */
export const advisoryKinds = ['rebalance-recommendation', 'scheduled-change', 'state-change'] as const;
export type AdvisoryKind = (typeof advisoryKinds)[number];

export interface RunbookSettings {
  /** CLUSTER_NAME; absent in settings recorded before it existed (then no instance is another cluster's). */
  clusterName?: string;
  /** CLUSTER_TAG_KEY: a tag whose value names the instance's cluster, read before the well-known ones. */
  clusterTagKey?: string | undefined;
  dryRun: boolean;
  cordonOnly: boolean;
  taintNode: boolean;
  taintEffect: TaintEffect;
  /** TAINT_STATE_CHANGE (tnth's own): a state change taints too, as NTH never does; absent in older settings. */
  taintStateChange?: boolean;
  enableOutOfServiceTaint: boolean;
  excludeFromLoadBalancers: boolean;
  checkTagBeforeDraining: boolean;
  managedTag: string;
  useProviderId: boolean;
  /** Seconds to wait after the drain before CompleteLifecycleAction; 0 or less: none. */
  completeLifecycleActionDelaySeconds: number;
  deleteSqsMsgIfNodeNotFound: boolean;
  /** Seconds between ASG heartbeats; undefined: derived from the hook's HeartbeatTimeout. */
  heartbeatIntervalSeconds: number | undefined;
  /** Seconds after the event after which no ASG heartbeat is sent. */
  heartbeatUntilSeconds: number;
  drain: DrainSettings;
  /** Seconds to wait before retrying a failed drain attempt (NTH re-queued after 20 s). */
  drainRetryIntervalSeconds: number;
  /** Drain attempts before giving up; 0: no limit but the deadline. */
  drainMaxAttempts: number;
  /** Seconds after the event after which no new drain attempt starts. */
  drainDeadlineSeconds: number;
  /** What CompleteLifecycleAction says when the workflow gives up; 'NONE' leaves the action to expire. */
  lifecycleResultOnFailure: LifecycleResult | 'NONE';
  /** Seconds a finished workflow stays open to absorb redelivered events before it closes. */
  duplicateWindowSeconds: number;
  /**
   * History events after which a run continues as new at its next safe point; absent in settings
   * recorded before it existed.
   */
  historyEventsPerRun?: number;
  emitKubernetesEvents: boolean;
  webhookEnabled: boolean;
  /** DRAIN_BUDGET_PER_GROUP and DRAIN_BUDGET; absent (no budget) in settings recorded before they existed. */
  drainBudget?: DrainBudgetLimits;
  /**
   * REBALANCE_ACTION, SCHEDULED_CHANGE_ACTION, STATE_CHANGE_ACTION; absent in settings recorded
   * before they existed (then every kind drains, as before).
   */
  eventActions?: Record<AdvisoryKind, EventAction>;
  /** UNDO_AFTER: seconds after which what a taint or cordon added is removed when nothing followed. */
  undoAfterSeconds?: number;
  /** LAUNCH_READINESS_TAINTS: taint keys that keep a launching node from counting as ready. */
  launchReadinessTaints?: string[];
  /**
   * DRAIN_BLOCKED_NOTIFY_INTERVAL: while a drain stays blocked, a webhook and a node event this often
   * (seconds, 0: only at the end). Absent in settings recorded before it existed: off.
   */
  drainBlockedNotifySeconds?: number;
}

export interface DrainSettings {
  ignoreDaemonSets: boolean;
  deleteLocalData: boolean;
  /** Overrides each pod's own grace period when 0 or more. */
  podTerminationGracePeriodSeconds: number;
  /** How long one drain attempt may take, evictions blocked by a PDB included. */
  nodeTerminationGracePeriodSeconds: number;
  /** Evictions in flight at once; absent in settings recorded before it existed (then 32). */
  evictionConcurrency?: number;
  /**
   * Seconds past a pod's deletionTimestamp after which the drain no longer waits for it (a kubelet
   * that is gone never finishes it); 0 waits for every pod. Absent in older settings (then 60).
   */
  skipWaitForDeleteTimeoutSeconds?: number;
}
