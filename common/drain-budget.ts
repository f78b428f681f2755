// Drain budgets (DRAIN_BUDGET_PER_GROUP, DRAIN_BUDGET): what the worker's configuration, the
// termination workflows and the budget workflow of a cluster say to each other.

/** At most `count` nodes draining at once, or `percent` % of an Auto Scaling group's size. */
export type BudgetLimit = { count: number } | { percent: number };

/** The limits a cluster's drains share; an absent one does not limit. */
export interface DrainBudgetLimits {
  /** Per Auto Scaling group (DRAIN_BUDGET_PER_GROUP). */
  perGroup?: BudgetLimit | undefined;
  /** Over the whole cluster (DRAIN_BUDGET). */
  cluster?: BudgetLimit | undefined;
}

/**
 * Reads `3` or `10%`. Undefined for a blank value (no budget); an error naming the rule otherwise.
 * A budget of 0 would hold every drain until its deadline, so it is refused.
 */
export function parseBudgetLimit(
  text: string,
  { percentAllowed }: { percentAllowed: boolean },
): BudgetLimit | undefined {
  const value = text.trim();
  if (value === '') return undefined;
  const percent = /^(\d+)\s*%$/.exec(value);
  if (percent) {
    if (!percentAllowed) throw new Error(`"${text}": a count of nodes (a percentage needs a group to count from)`);
    const n = Number(percent[1]);
    if (n < 1 || n > 100) throw new Error(`"${text}": a percentage from 1% to 100%`);
    return { percent: n };
  }
  if (!/^\d+$/.test(value)) {
    throw new Error(`"${text}": a count of nodes such as 3${percentAllowed ? ', or a percentage such as 10%' : ''}`);
  }
  const count = Number(value);
  if (count < 1 || count > 100_000) throw new Error(`"${text}": at least 1 (leave it unset for no budget)`);
  return { count };
}

export const formatBudgetLimit = (limit: BudgetLimit | undefined): string =>
  limit === undefined ? 'off' : 'count' in limit ? String(limit.count) : `${limit.percent}%`;

/**
 * The places a limit gives: a count as it is; a percentage of `size` rounded up, at least 1 (a
 * group that is shrinking still drains). Infinity for no limit.
 */
export function placesAllowed(limit: BudgetLimit | undefined, size: number | undefined): number {
  if (limit === undefined) return Infinity;
  if ('count' in limit) return limit.count;
  return Math.max(1, Math.ceil(((size ?? 0) * limit.percent) / 100));
}

export const budgetLimitsEqual = (a: BudgetLimit | undefined, b: BudgetLimit | undefined): boolean =>
  formatBudgetLimit(a) === formatBudgetLimit(b);

/** What a termination asks its cluster's budget workflow for (update `requestDrainPlace`). */
export interface DrainPlaceRequest {
  /** The termination's workflow id: the place is held by the workflow, whatever its runs and workers. */
  holder: string;
  /**
   * One per turn the termination takes (a second batch of events takes another). A request or a
   * grant of a turn already given back is ignored, however late it comes.
   */
  requestId: string;
  instanceId: string;
  nodeName: string | undefined;
  /** The instance's Auto Scaling group; undefined for an instance in none (only DRAIN_BUDGET counts it). */
  group: string | undefined;
  /** The group's size as the termination read it (for a percentage budget). */
  groupSize: number | undefined;
  /** When the termination's first event came (epoch ms): waiters are served in this order. */
  arrivedAt: number;
  /** A Spot interruption or an instance already going: takes a place at once, over the limit if need be. */
  forced: boolean;
  /** The limits the asking worker is configured with (set by the request activity, not the workflow). */
  configured: DrainBudgetLimits;
  /**
   * When the asking worker started (epoch ms): a configuration only replaces one from a worker that
   * started before, so old and new workers of a rollout do not undo each other.
   */
  configuredAt: number;
  /** The asking worker's task queue: the budget workflow moves there when it continues as new. */
  taskQueue: string;
}

/** What the termination's workflow passes; the activity adds the worker's configuration. */
export type DrainPlaceAsk = Omit<DrainPlaceRequest, 'configured' | 'configuredAt' | 'taskQueue'>;

/** A place given back, or a line left (signal `releaseDrainPlace`). */
export interface DrainPlaceRelease {
  holder: string;
  requestId: string;
}

/** A holder or a waiter as the budget workflow shows it. */
export interface BudgetEntry {
  holder: string;
  instanceId: string;
  nodeName: string | undefined;
  group: string | undefined;
  arrivedAt: string;
  /** When the place was given (holders only). */
  grantedAt?: string | undefined;
  forced: boolean;
}

/** The budget workflow's answer to a request. */
export interface DrainPlaceAnswer {
  granted: boolean;
  /** The request's turn was already given back: a late request, ignored. */
  released?: boolean;
  /** Place in line, 1 for the next to go (waiters only). */
  position: number | undefined;
  /** Who held places when the request was answered: `instance (node)` each. */
  holders: string[];
}

/** Sent to a waiting termination when its place is given (signal `drainPlaceGranted`). */
export interface DrainPlaceGrant {
  grantedAt: number;
  requestId: string;
}

/** One limit as it stands: from the worker's configuration, an operator's change, and what applies. */
export interface BudgetLimitStatus {
  configured: string;
  /** Set by the `setDrainBudget` update until reset (null) or until the configuration changes. */
  override: string | undefined;
  effective: string;
}

/** The answer to the budget workflow's `status` query. */
export interface DrainBudgetStatus {
  cluster: string;
  perGroup: BudgetLimitStatus;
  clusterWide: BudgetLimitStatus;
  holders: BudgetEntry[];
  /** In the order they will be served. */
  waiters: BudgetEntry[];
  groups: { group: string; size: number | undefined; places: number | 'unlimited'; holding: number; waiting: number }[];
  /** Holders found closed (finished, failed, terminated) without releasing their place. */
  holdersReclaimed: number;
}

/**
 * The `setDrainBudget` update: a new limit (`3`, `10%`, `off`), or null to go back to the
 * configured one. A field left out stays as it is.
 */
export interface DrainBudgetChange {
  perGroup?: string | number | null;
  cluster?: string | number | null;
}
