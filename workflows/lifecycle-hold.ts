import { CancellationScope, condition, isCancellation, log, patched } from '@temporalio/workflow';
import type { LifecycleEvent } from '../common/events.js';
import {
  globalTimeoutSeconds,
  holdExpiresAt,
  maxGlobalTimeoutSeconds,
  nextHeartbeatDue,
  planHeartbeats,
  unknownHookTimeoutSeconds,
  type HeartbeatProgress,
  type HoldClock,
  type LifecycleTarget,
  type LostReason,
} from '../common/lifecycle.js';
import type { LifecycleResult, RunbookSettings } from '../common/settings.js';
import type { LifecycleActionStatus } from '../common/status.js';
import { completion, describeHookFirst, describeLifecycleHook, heartbeatActivity } from './activities.js';
import { shortPhasesPatch } from './patches.js';
import type { TerminationState } from './termination-state.js';

/** The holds as one run of the workflow hands them to the next (continue-as-new). */
export interface CarriedHolds {
  holds: {
    target: LifecycleTarget;
    startedAt: number;
    clock: HoldClock | undefined;
    lastHeartbeatAt: number | undefined;
    heartbeatsOver: boolean;
    ended: boolean;
  }[];
  unannounced: string[];
}

/** The drain must end this long before an action's global timeout, so the completion lands in time. */
const completionMarginMs = 60_000;

const iso = (epochMs: number | undefined) => (epochMs === undefined ? undefined : new Date(epochMs).toISOString());

/** One lifecycle action: its token, its clock, and whether it is still ours to keep alive. */
class Hold {
  /** Known once the hook has been described; every loop and the completion run on it. */
  clock: HoldClock | undefined;
  lastHeartbeatAt: number | undefined;
  /** HEARTBEAT_UNTIL has passed: no loop starts any more, the action is still completed. */
  heartbeatsOver = false;
  ended = false;

  constructor(
    readonly target: LifecycleTarget,
    readonly startedAt: number,
    readonly status: LifecycleActionStatus,
  ) {}

  /** The clock with the latest heartbeat this workflow has heard of. */
  current(): HoldClock | undefined {
    return this.clock && { ...this.clock, lastHeartbeatAt: this.lastHeartbeatAt };
  }

  get name(): string {
    return `${this.target.autoScalingGroupName}/${this.target.lifecycleHookName}`;
  }
}

/**
 * The hold of every lifecycle action of one instance, from the moment the workflow knows its token
 * until the action is completed or Auto Scaling says it has ended. It owns the tokens, their clocks,
 * the heartbeat schedule and the scopes the heartbeat loops run in:
 *   - `cover(work)` runs one phase of the runbook (resolving and cordoning, a drain attempt, a wait
 *     between attempts, the wait before completing) with one heartbeat loop per open action beside
 *     it, in one cancellation scope; however the phase ends, the scope is cancelled and the loops are
 *     awaited until they have really stopped (WAIT_CANCELLATION_COMPLETED) before it returns. Phases
 *     run one after another, so at most one loop per action runs at any moment.
 *   - `complete(result)` hands each action to the completion activity, which sends the heartbeats
 *     that come due while Auto Scaling throttles the completion.
 * Each loop times its heartbeats from the action's start or its last heartbeat, whichever loop sent
 * it, so a phase boundary never resets the schedule.
 */
export class LifecycleHolds {
  private readonly holds: Hold[] = [];
  private settings: RunbookSettings | undefined;
  private readonly unannounced: string[] = [];

  constructor(private readonly state: TerminationState) {}

  configure(settings: RunbookSettings): void {
    this.settings = settings;
  }

  /** Takes a lifecycle event in; false when its action has ended (nothing more to do for it). */
  receive(event: LifecycleEvent): boolean {
    const known = this.holds.find((h) => h.target.lifecycleActionToken === event.lifecycleActionToken);
    if (known) return !known.ended;
    const status: LifecycleActionStatus = {
      autoScalingGroupName: event.autoScalingGroupName,
      lifecycleHookName: event.lifecycleHookName,
      lifecycleActionToken: event.lifecycleActionToken,
      startedAt: '',
      heartbeatTimeoutSeconds: undefined,
      heartbeatIntervalSeconds: undefined,
      globalDeadline: undefined,
      heartbeatsSent: 0,
      lastHeartbeatAt: undefined,
      nextHeartbeatAt: undefined,
      expiresAt: undefined,
      result: undefined,
      lostReason: undefined,
    };
    const target: LifecycleTarget = {
      autoScalingGroupName: event.autoScalingGroupName,
      lifecycleHookName: event.lifecycleHookName,
      instanceId: event.instanceId,
      lifecycleActionToken: event.lifecycleActionToken,
    };
    // A notification stamped in the future (clock skew) counts from now; a late one keeps its time.
    const hold = new Hold(target, Math.min(Date.parse(event.time) || Date.now(), Date.now()), status);
    status.startedAt = new Date(hold.startedAt).toISOString();
    this.holds.push(hold);
    this.state.status.lifecycleActions.push(status);
    this.state.status.lifecycle ??= status;
    return true;
  }

  /** What the next run of the workflow needs to hold the same actions on the same clocks. */
  carry(): CarriedHolds {
    return {
      holds: this.holds.map((h) => ({
        target: h.target,
        startedAt: h.startedAt,
        clock: h.clock,
        lastHeartbeatAt: h.lastHeartbeatAt,
        heartbeatsOver: h.heartbeatsOver,
        ended: h.ended,
      })),
      unannounced: [...this.unannounced],
    };
  }

  /** Takes the holds of the previous run over; their entries in `status.lifecycleActions` came with it. */
  restore(carried: CarriedHolds): void {
    for (const c of carried.holds) {
      const status = this.state.status.lifecycleActions.find(
        (a) => a.lifecycleActionToken === c.target.lifecycleActionToken,
      );
      if (!status) continue;
      const hold = new Hold(c.target, c.startedAt, status);
      Object.assign(hold, {
        clock: c.clock,
        lastHeartbeatAt: c.lastHeartbeatAt,
        heartbeatsOver: c.heartbeatsOver,
        ended: c.ended,
      });
      this.holds.push(hold);
    }
    this.state.status.lifecycle = this.state.status.lifecycleActions[0];
    this.unannounced.push(...carried.unannounced);
  }

  isEnded(token: string): boolean {
    return this.holds.some((h) => h.target.lifecycleActionToken === token && h.ended);
  }

  /** The actions still to keep alive and complete. */
  open(): LifecycleTarget[] {
    return this.openHolds().map((h) => h.target);
  }

  /** True when Auto Scaling ended an action before this workflow completed it. */
  /** When the oldest open action began (its notification's time), if any is open. */
  oldestOpenStart(): number | undefined {
    const starts = this.openHolds().map((h) => h.startedAt);
    return starts.length > 0 ? Math.min(...starts) : undefined;
  }

  anyLost(): boolean {
    return this.holds.some((h) => h.status.result === 'lost');
  }

  /** The latest moment a drain may run to: an action's global timeout, less time to complete it. */
  drainDeadline(): number {
    return Math.min(
      Infinity,
      ...this.openHolds().map((h) => (h.clock?.globalDeadline ?? Infinity) - completionMarginMs),
    );
  }

  /** Warnings about the hold not yet put on the node (the runbook records them as events). */
  takeWarnings(): string[] {
    return this.unannounced.splice(0);
  }

  recordHeartbeat(progress: HeartbeatProgress): void {
    const hold = this.holds.find((h) => h.target.lifecycleActionToken === progress.lifecycleActionToken);
    if (!hold) return;
    hold.lastHeartbeatAt = Math.max(hold.lastHeartbeatAt ?? 0, progress.lastHeartbeatAt);
    const heartbeats = progress.heartbeats ?? 1;
    hold.status.heartbeatsSent += heartbeats;
    this.state.status.heartbeatsSent += heartbeats;
    this.refresh(hold);
  }

  /**
   * Reads the hooks of the open actions not yet described, under `shortPhasesPatch`, once the run
   * knows the instance is its own: their clocks then decide `canGoUnheld` for the node's lookup and
   * bound the first drain attempt. Before the patch each hook was read by the first loop that needed it.
   */
  async describeHooks(): Promise<void> {
    if (this.settings?.dryRun || !patched(shortPhasesPatch)) return;
    await Promise.all(
      this.openHolds()
        .filter((h) => !h.clock)
        .map((h) => this.clockOf(h, describeHookFirst)),
    );
  }

  /**
   * True when no open action needs a heartbeat within `seconds`: each one's clock is known and its
   * next heartbeat comes later (or heartbeats are over). What runs meanwhile may keep the loops from
   * starting (local activities).
   */
  canGoUnheld(seconds: number): boolean {
    const until = Date.now() + seconds * 1000;
    return this.openHolds().every(
      (h) => h.heartbeatsOver || (h.clock !== undefined && nextHeartbeatDue(h.current()!) > until),
    );
  }

  /** Runs one phase of the runbook with the open actions held; returns once their loops have stopped. */
  async cover<T>(work: () => Promise<T>): Promise<T> {
    if (this.settings?.dryRun) return work();
    const scope = new CancellationScope();
    const loops = scope.run(() => this.keepOpenActionsAlive());
    // Handled at once: a loop that ends or fails on its own must not fail the workflow task.
    const stopped = loops.then(
      () => undefined,
      () => undefined,
    );
    try {
      return await work();
    } finally {
      scope.cancel();
      await stopped;
    }
  }

  /**
   * Completes every open action with `result`, including one that arrives meanwhile; an action found
   * ended is recorded as lost. Each completion runs to its end before a failure of another is thrown.
   */
  async complete(result: LifecycleResult): Promise<void> {
    for (let open = this.openHolds(); open.length > 0; open = this.openHolds()) {
      const outcomes = await Promise.allSettled(open.map((hold) => this.completeOne(hold, result)));
      const failure = outcomes.find((o) => o.status === 'rejected');
      if (failure) throw failure.reason;
    }
  }

  private async completeOne(hold: Hold, result: LifecycleResult): Promise<void> {
    const clock = await this.clockOf(hold);
    this.state.decide(`complete lifecycle action of ${hold.target.instanceId} (${hold.name}) with ${result}`);
    const answer = await completion(hold.target, result, { ...clock, lastHeartbeatAt: hold.lastHeartbeatAt });
    if (answer.outcome === 'not-active') this.lose(hold, answer.lostReason ?? 'ended-elsewhere', 'the completion');
    else this.end(hold, result);
  }

  /** Leaves every open action to Auto Scaling (its DefaultResult after the timeout). */
  leave(why: string): void {
    for (const hold of this.openHolds()) {
      this.state.decide(`lifecycle action ${hold.name} left to expire: ${why}`);
      this.end(hold, 'left-to-expire');
    }
  }

  private openHolds(): Hold[] {
    return this.holds.filter((h) => !h.ended);
  }

  /** One loop per open action, including actions that arrive while the phase runs. */
  private async keepOpenActionsAlive(): Promise<void> {
    const running = new Map<Hold, Promise<void>>();
    const needsLoop = (hold: Hold) => !hold.ended && !hold.heartbeatsOver && !running.has(hold);
    try {
      for (;;) {
        await condition(() => this.holds.some(needsLoop));
        for (const hold of this.holds.filter(needsLoop)) {
          // A loop that fails on its own is logged; the next phase starts a new one.
          const loop = this.keepAlive(hold).catch((error: unknown) => {
            if (!isCancellation(error))
              log.warn('lifecycle heartbeat loop failed', { hook: hold.name, error: String(error) });
          });
          running.set(hold, loop);
        }
      }
    } finally {
      // The scope was cancelled: its loops are stopping; wait until each has.
      await Promise.allSettled(running.values());
    }
  }

  private async keepAlive(hold: Hold): Promise<void> {
    const clock = await this.clockOf(hold);
    if (hold.ended || hold.heartbeatsOver) return;
    if (Date.now() >= clock.untilEpochMs) {
      this.heartbeatsOver(hold);
      return;
    }
    const result = await heartbeatActivity(clock.untilEpochMs)({ target: hold.target, clock: hold.current()! });
    if (result.lastHeartbeatAt !== undefined)
      hold.lastHeartbeatAt = Math.max(hold.lastHeartbeatAt ?? 0, result.lastHeartbeatAt);
    if (result.end === 'action-not-active') this.lose(hold, result.lostReason ?? 'ended-elsewhere', 'a heartbeat');
    else this.heartbeatsOver(hold);
  }

  /** The action's clock, reading the hook's timeouts the first time (with `describe`). */
  private async clockOf(
    hold: Hold,
    describe: (target: LifecycleTarget) => ReturnType<typeof describeLifecycleHook> = describeLifecycleHook,
  ): Promise<HoldClock> {
    if (hold.clock) return hold.current()!;
    const settings = this.settings!;
    let hook: Awaited<ReturnType<typeof describeLifecycleHook>>;
    let problem = 'the hook was not found';
    try {
      hook = await describe(hold.target);
    } catch (error) {
      if (isCancellation(error)) throw error;
      problem =
        error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
    }
    if (hold.clock) return hold.current()!;
    const timeout = hook?.heartbeatTimeoutSeconds ?? unknownHookTimeoutSeconds;
    const plan = planHeartbeats(timeout, settings.heartbeatIntervalSeconds);
    if (!hook) {
      plan.warnings.unshift(
        `cannot read lifecycle hook ${hold.name} (${problem}): assuming the shortest HeartbeatTimeout, ${timeout} s`,
      );
    }
    // Unknown hooks are not cut short: their global timeout may be the longest AWS allows.
    const globalSeconds = hook ? globalTimeoutSeconds(timeout, hook.globalTimeoutSeconds) : maxGlobalTimeoutSeconds;
    const globalDeadline = hold.startedAt + globalSeconds * 1000;
    hold.clock = {
      startedAt: hold.startedAt,
      lastHeartbeatAt: undefined,
      heartbeatTimeoutSeconds: timeout,
      intervalSeconds: plan.intervalSeconds,
      globalDeadline,
      untilEpochMs: Math.min(hold.startedAt + settings.heartbeatUntilSeconds * 1000, globalDeadline),
    };
    Object.assign(hold.status, {
      heartbeatTimeoutSeconds: timeout,
      heartbeatIntervalSeconds: plan.intervalSeconds,
      globalDeadline: iso(globalDeadline),
    });
    for (const warning of plan.warnings) this.warn(warning, hold);
    this.refresh(hold);
    return hold.current()!;
  }

  private warn(warning: string, hold: Hold): void {
    log.warn(warning, { instanceId: hold.target.instanceId, hook: hold.name });
    this.state.status.warnings.push(warning);
    this.state.decide(`warning: ${warning}`);
    this.unannounced.push(warning);
  }

  private heartbeatsOver(hold: Hold): void {
    if (hold.heartbeatsOver) return;
    hold.heartbeatsOver = true;
    // NTH's loop logs "Heartbeat deadline exceeded, stopping heartbeat"; operators look for the same.
    log.info('heartbeats stopped: HEARTBEAT_UNTIL reached', {
      instanceId: hold.target.instanceId,
      autoScalingGroupName: hold.target.autoScalingGroupName,
      hook: hold.name,
      heartbeatUntil: hold.clock ? iso(hold.clock.untilEpochMs) : undefined,
    });
    this.state.decide(`heartbeats of ${hold.name} ended: HEARTBEAT_UNTIL reached`);
    this.refresh(hold);
  }

  private lose(hold: Hold, reason: LostReason, where: string): void {
    log.warn('lifecycle action lost', { instanceId: hold.target.instanceId, hook: hold.name, reason });
    this.state.decide(
      `lifecycle action ${hold.name} lost (${reason}): Auto Scaling answered ${where} that it is no longer active`,
    );
    hold.status.lostReason = reason;
    this.end(hold, 'lost');
  }

  private end(hold: Hold, result: NonNullable<LifecycleActionStatus['result']>): void {
    hold.ended = true;
    hold.status.result = result;
    this.refresh(hold);
    this.state.dropPendingOf(hold.target.lifecycleActionToken);
  }

  /** The `status` query's view of the hold's clock. */
  private refresh(hold: Hold): void {
    const clock = hold.current();
    const live = clock && !hold.ended;
    hold.status.lastHeartbeatAt = iso(hold.lastHeartbeatAt);
    hold.status.expiresAt = live ? iso(holdExpiresAt(clock)) : undefined;
    hold.status.nextHeartbeatAt =
      live && !hold.heartbeatsOver ? iso(Math.min(nextHeartbeatDue(clock), clock.untilEpochMs)) : undefined;
    const { status } = this.state;
    const latest = Math.max(0, ...this.holds.map((h) => h.lastHeartbeatAt ?? 0));
    status.lastHeartbeatAt = latest > 0 ? iso(latest) : undefined;
    const next = this.holds
      .map((h) => h.status.nextHeartbeatAt)
      .filter((at): at is string => at !== undefined)
      .sort()[0];
    status.nextHeartbeatAt = next;
  }
}
