import {
  budgetLimitsEqual,
  formatBudgetLimit,
  parseBudgetLimit,
  placesAllowed,
  type BudgetEntry,
  type BudgetLimit,
  type BudgetLimitStatus,
  type DrainBudgetChange,
  type DrainBudgetLimits,
  type DrainBudgetStatus,
  type DrainPlaceAnswer,
  type DrainPlaceRelease,
  type DrainPlaceRequest,
} from '../common/drain-budget.js';

/** A holder or a waiter as the book keeps it. */
interface Entry {
  holder: string;
  requestId: string;
  instanceId: string;
  nodeName: string | undefined;
  group: string | undefined;
  arrivedAt: number;
  /** Order of the requests, for waiters that arrived in the same millisecond. */
  seq: number;
  forced: boolean;
  grantedAt?: number | undefined;
  /** The holder knows of its place (the answer to its request said so, or the grant signal went out). */
  told: boolean;
}

/** An operator's limit: a limit, or `off` (no limit), until reset or until the configuration changes. */
type Override = BudgetLimit | 'off';

/** The book as one run of the budget workflow hands it to the next. */
export interface CarriedBook {
  holders: Entry[];
  waiters: Entry[];
  seq: number;
  configured: DrainBudgetLimits;
  configuredAt: number;
  /** Turns given back lately: their late requests are ignored. */
  released: string[];
  /** The task queue of the latest request: the next run goes there. */
  taskQueue: string | undefined;
  overrides: { perGroup?: Override | undefined; cluster?: Override | undefined };
  groupSizes: Record<string, number>;
  reclaimed: number;
}

type LimitName = 'perGroup' | 'cluster';

/**
 * Who holds the places of a cluster's drain budget and who waits for one: the rules, without
 * Temporal. Waiters are served in the order their terminations arrived; one whose group is full lets
 * the next of another group go, and none goes while the cluster-wide limit is full. Forced requests
 * (Spot interruptions, instances already going) take a place at once and count against the limits.
 */
export class BudgetBook {
  private readonly holders: Entry[];
  private readonly waiters: Entry[];
  private seq: number;
  private readonly configured: DrainBudgetLimits;
  private configuredAt: number;
  private readonly released: string[];
  private latestTaskQueue: string | undefined;
  private readonly overrides: CarriedBook['overrides'];
  private readonly groupSizes: Record<string, number>;
  private reclaimed: number;

  constructor(carried?: CarriedBook) {
    this.holders = carried?.holders ?? [];
    this.waiters = carried?.waiters ?? [];
    this.seq = carried?.seq ?? 0;
    this.configured = carried?.configured ?? {};
    this.configuredAt = carried?.configuredAt ?? 0;
    this.released = carried?.released ?? [];
    this.latestTaskQueue = carried?.taskQueue;
    this.overrides = carried?.overrides ?? {};
    this.groupSizes = carried?.groupSizes ?? {};
    this.reclaimed = carried?.reclaimed ?? 0;
  }

  carry(): CarriedBook {
    return {
      holders: this.holders,
      waiters: this.waiters,
      seq: this.seq,
      configured: this.configured,
      configuredAt: this.configuredAt,
      released: this.released,
      taskQueue: this.latestTaskQueue,
      overrides: this.overrides,
      groupSizes: this.groupSizes,
      reclaimed: this.reclaimed,
    };
  }

  /**
   * Takes a request in and answers it. The same turn asking again (a retried activity, a waiter
   * asking again) gets the answer for the place it has or waits for; a new turn of the same holder
   * (a new execution, a second batch of events) takes over its entry; a turn already given back is
   * ignored.
   */
  request(req: DrainPlaceRequest, now: number): DrainPlaceAnswer {
    this.latestTaskQueue = req.taskQueue;
    this.takeConfiguration(req.configured, req.configuredAt);
    if (req.group !== undefined && req.groupSize !== undefined) this.groupSizes[req.group] = req.groupSize;
    if (this.released.includes(req.requestId)) return { ...this.answer(undefined), released: true };
    const holding = this.holders.find((e) => e.holder === req.holder);
    if (holding) {
      holding.requestId = req.requestId;
      holding.told = true;
      return this.answer(holding);
    }
    let waiting = this.waiters.find((e) => e.holder === req.holder);
    if (!waiting) {
      waiting = {
        holder: req.holder,
        requestId: req.requestId,
        instanceId: req.instanceId,
        nodeName: req.nodeName,
        group: req.group,
        arrivedAt: req.arrivedAt,
        seq: this.seq++,
        forced: req.forced,
        told: false,
      };
      const after = this.waiters.findIndex((e) => before(waiting!, e));
      this.waiters.splice(after === -1 ? this.waiters.length : after, 0, waiting);
    }
    waiting.requestId = req.requestId;
    if (req.forced) waiting.forced = true;
    this.grantReady(now);
    const held = this.holders.find((e) => e.holder === req.holder);
    // The answer tells a holder its place; a waiter hears of it by signal when it comes.
    if (held) held.told = true;
    return this.answer(held ?? waiting);
  }

  /**
   * The turn's place is given back, or it leaves the line; false when the book had neither. The turn
   * is remembered, so a request of it that comes later is ignored.
   */
  release(release: DrainPlaceRelease): boolean {
    this.released.push(release.requestId);
    if (this.released.length > releasedKept) this.released.splice(0, this.released.length - releasedKept);
    for (const list of [this.holders, this.waiters]) {
      const i = list.findIndex((e) => e.holder === release.holder && e.requestId === release.requestId);
      if (i !== -1) {
        list.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  /** A holder found closed without giving its place back (terminated by an operator, for one). */
  reclaim(holder: string): boolean {
    const entry = [...this.holders, ...this.waiters].find((e) => e.holder === holder);
    if (!entry || !this.release({ holder, requestId: entry.requestId })) return false;
    this.reclaimed += 1;
    return true;
  }

  /**
   * Gives places to the waiters that fit, in their order, and returns who got one. Forced waiters go
   * whatever the limits.
   */
  grantReady(now: number): Entry[] {
    const granted: Entry[] = [];
    const clusterPlaces = placesAllowed(this.effective('cluster'), undefined);
    for (let i = 0; i < this.waiters.length;) {
      const entry = this.waiters[i]!;
      const clusterFull = this.holders.length >= clusterPlaces;
      if (!entry.forced && clusterFull) {
        i += 1;
        continue;
      }
      if (!entry.forced && entry.group !== undefined && this.holding(entry.group) >= this.groupPlaces(entry.group)) {
        i += 1;
        continue;
      }
      this.waiters.splice(i, 1);
      entry.grantedAt = now;
      this.holders.push(entry);
      granted.push(entry);
    }
    return granted;
  }

  /** Holders given a place whose termination has not heard of it yet. */
  untold(): { holder: string; requestId: string }[] {
    return this.holders.filter((e) => !e.told).map((e) => ({ holder: e.holder, requestId: e.requestId }));
  }

  told(holder: string): void {
    const entry = this.holders.find((e) => e.holder === holder);
    if (entry) entry.told = true;
  }

  /** Nobody holds or waits. */
  idle(): boolean {
    return this.holders.length === 0 && this.waiters.length === 0;
  }

  /** An operator's change is in force (the book must outlive an idle spell to keep it). */
  overridden(): boolean {
    return this.overrides.perGroup !== undefined || this.overrides.cluster !== undefined;
  }

  taskQueue(): string | undefined {
    return this.latestTaskQueue;
  }

  holderIds(): string[] {
    return this.holders.map((e) => e.holder);
  }

  /** The error an operator's change gets, or undefined when it is one the book can take. */
  checkChange(change: DrainBudgetChange): string | undefined {
    for (const name of ['perGroup', 'cluster'] as const) {
      const given = change[name];
      if (given === undefined || given === null) continue;
      if (typeof given !== 'string' && typeof given !== 'number') {
        return `${name}: ${JSON.stringify(given)} is neither a limit ("3", "10%", "off") nor null`;
      }
      const value = String(given);
      if (value.trim() === 'off') continue;
      try {
        if (parseBudgetLimit(value, { percentAllowed: name === 'perGroup' }) === undefined) {
          return `${name}: "${value}" is blank; give a limit, "off", or null to go back to the configured one`;
        }
      } catch (error) {
        return `${name}: ${(error as Error).message}`;
      }
    }
    const known = new Set(['perGroup', 'cluster']);
    const unknown = Object.keys(change).filter((k) => !known.has(k));
    if (unknown.length > 0) return `unknown field(s) ${unknown.join(', ')}: the change takes perGroup and cluster`;
    return undefined;
  }

  /** Applies an operator's change (checked by `checkChange`) and says what now applies. */
  change(change: DrainBudgetChange, now: number): string {
    for (const name of ['perGroup', 'cluster'] as const) {
      const given = change[name];
      if (given === undefined) continue;
      const value = given === null ? null : String(given);
      if (value === null) delete this.overrides[name];
      else if (value.trim() === 'off') this.overrides[name] = 'off';
      else this.overrides[name] = parseBudgetLimit(value, { percentAllowed: name === 'perGroup' });
    }
    this.grantReady(now);
    return `per group: ${formatBudgetLimit(this.effective('perGroup'))}; cluster: ${formatBudgetLimit(this.effective('cluster'))}`;
  }

  status(cluster: string): DrainBudgetStatus {
    const groups = [...new Set([...this.holders, ...this.waiters].flatMap((e) => (e.group ? [e.group] : [])))];
    return {
      cluster,
      perGroup: this.limitStatus('perGroup'),
      clusterWide: this.limitStatus('cluster'),
      holders: this.holders.map(view),
      waiters: this.waiters.map(view),
      groups: groups.sort().map((group) => {
        const places = this.groupPlaces(group);
        return {
          group,
          size: this.groupSizes[group],
          places: places === Infinity ? ('unlimited' as const) : places,
          holding: this.holding(group),
          waiting: this.waiters.filter((e) => e.group === group).length,
        };
      }),
      holdersReclaimed: this.reclaimed,
    };
  }

  /** The Web UI's current details: the limits, who drains, who is next. */
  summary(): string {
    const name = (e: Entry) =>
      `${e.instanceId}${e.nodeName ? ` (${e.nodeName})` : ''}${e.group ? ` of ${e.group}` : ''}`;
    const some = (entries: Entry[]) =>
      entries.length === 0
        ? 'none'
        : entries.slice(0, summaryListed).map(name).join(', ') +
          (entries.length > summaryListed ? ` and ${entries.length - summaryListed} more` : '');
    return [
      `**Drain budget**: per group ${formatBudgetLimit(this.effective('perGroup'))}, cluster ${formatBudgetLimit(this.effective('cluster'))}`,
      `draining (${this.holders.length}): ${some(this.holders)}`,
      `waiting, next first (${this.waiters.length}): ${some(this.waiters)}`,
    ].join('\n\n');
  }

  private effective(name: LimitName): BudgetLimit | undefined {
    const override = this.overrides[name];
    if (override === 'off') return undefined;
    return override ?? this.configured[name];
  }

  /**
   * A configured limit that changed in a worker started later (a new release) replaces the one in
   * force and an operator's override of it; a worker started earlier changes nothing.
   */
  private takeConfiguration(configured: DrainBudgetLimits, configuredAt: number): void {
    if (configuredAt < this.configuredAt) return;
    this.configuredAt = configuredAt;
    for (const name of ['perGroup', 'cluster'] as const) {
      if (!budgetLimitsEqual(this.configured[name], configured[name])) {
        this.configured[name] = configured[name];
        delete this.overrides[name];
      }
    }
  }

  private groupPlaces(group: string): number {
    return placesAllowed(this.effective('perGroup'), this.groupSizes[group]);
  }

  private holding(group: string): number {
    return this.holders.filter((e) => e.group === group).length;
  }

  private answer(entry: Entry | undefined): DrainPlaceAnswer {
    const granted = entry !== undefined && this.holders.includes(entry);
    return {
      granted,
      position: granted || entry === undefined ? undefined : this.waiters.indexOf(entry) + 1,
      holders: this.holders.map((e) => `${e.instanceId}${e.nodeName ? ` (${e.nodeName})` : ''}`),
    };
  }

  private limitStatus(name: LimitName): BudgetLimitStatus {
    const override = this.overrides[name];
    return {
      configured: formatBudgetLimit(this.configured[name]),
      override: override === undefined ? undefined : override === 'off' ? 'off' : formatBudgetLimit(override),
      effective: formatBudgetLimit(this.effective(name)),
    };
  }
}

/** Enough for every turn given back while its request may still be in flight. */
const releasedKept = 1_000;

/** Holders and waiters named in the Web UI's details. */
const summaryListed = 10;

const before = (a: Entry, b: Entry) => a.arrivedAt < b.arrivedAt || (a.arrivedAt === b.arrivedAt && a.seq < b.seq);

const view = (e: Entry): BudgetEntry => ({
  holder: e.holder,
  instanceId: e.instanceId,
  nodeName: e.nodeName,
  group: e.group,
  arrivedAt: new Date(e.arrivedAt).toISOString(),
  grantedAt: e.grantedAt === undefined ? undefined : new Date(e.grantedAt).toISOString(),
  forced: e.forced,
});
