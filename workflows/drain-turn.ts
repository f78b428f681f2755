import {
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { InstanceFacts } from '../activities/aws/instances.js';
import type { DrainPlaceAnswer, DrainPlaceAsk, DrainPlaceGrant } from '../common/drain-budget.js';
import type { InterruptionEvent, LifecycleEvent } from '../common/events.js';
import { failureTypes } from '../common/failures.js';
import { drainBudgetWorkflowId, releaseDrainPlaceSignal } from '../common/names.js';
import type { RunbookSettings } from '../common/settings.js';
import type { DrainBudgetTurn, TerminationPhase } from '../common/status.js';
import type { callsUntil } from './activities.js';
import { errorMessage } from './failures.js';
import type { TerminationState } from './termination-state.js';

/** The tag Auto Scaling puts on its instances: the group of an instance whose event does not name it. */
const groupTag = 'aws:autoscaling:groupName';

/**
 * A waiter asks again this often: a budget workflow that was replaced learns of it again, and the
 * status shows a fresh place in line. The deadline and a lost action are looked at as often.
 */
const askAgainMs = 5 * 60 * 1000;

/**
 * A Spot interruption leaves two minutes; a stopping or terminated instance is going now: neither
 * can wait its turn. They take a place at once, over the limit if need be, so the others count them.
 */
export const cannotWait = (events: readonly InterruptionEvent[]) =>
  events.some((e) => e.kind === 'spot-interruption' || e.kind === 'state-change');

export interface TurnContext {
  events: readonly InterruptionEvent[];
  instance: InstanceFacts | undefined;
  nodeName: string;
  calls: ReturnType<typeof callsUntil>;
  /** The moment no drain may start after (it may move once the hook's timeouts are known). */
  deadline(): number;
  /** Events that came while waiting and cannot wait (a Spot interruption after the scale-in). */
  urgentArrived(): boolean;
  /** Every lifecycle action of the instance has ended elsewhere: it is going now. */
  actionsLost(): boolean;
  setPhase(phase: TerminationPhase): void;
}

/**
 * A termination's turn in its cluster's drain budget (`workflows/drain-budget.ts`): asked for before
 * the cordon, held through every drain attempt (and across continue-as-new, in the status), given
 * back when the drain ends however it ends. Every path of the runbook releases it (`release`, called
 * from the runbook's `finally`); a termination that closes without it (terminated by an operator) is
 * found by the budget workflow's check of its holders.
 */
export class DrainTurn {
  /** Set by the `drainPlaceGranted` signal of the current turn; it may come before the answer to its request. */
  private grantedAt: number | undefined;
  private settings: RunbookSettings | undefined;

  constructor(private readonly state: TerminationState) {}

  configure(settings: RunbookSettings): void {
    this.settings = settings;
  }

  /** Whether drains of this cluster share a budget at all. */
  applies(): boolean {
    const budget = this.settings?.drainBudget;
    return (
      this.settings?.clusterName !== undefined &&
      !this.settings.cordonOnly &&
      (budget?.perGroup !== undefined || budget?.cluster !== undefined)
    );
  }

  granted(grant: DrainPlaceGrant): void {
    const turn = this.state.status.drainBudget;
    if (turn?.state === 'waiting' && turn.requestId === grant.requestId) this.grantedAt = grant.grantedAt;
  }

  /** Waits for a place (phase WaitingForBudget, the lifecycle actions held meanwhile). */
  async take(ctx: TurnContext): Promise<void> {
    const { state } = this;
    const settings = this.settings!;
    if (state.status.drainBudget?.state === 'holding') return;
    const group = this.groupOf(ctx);
    if (group === undefined && settings.drainBudget?.cluster === undefined) {
      state.decide('the instance is in no Auto Scaling group: DRAIN_BUDGET_PER_GROUP does not count it');
      return;
    }
    if (settings.dryRun) {
      state.decide('would wait for a place in the drain budget');
      return;
    }
    const budgetId = drainBudgetWorkflowId(settings.clusterName!);
    const forced = cannotWait(ctx.events);
    const turn: DrainBudgetTurn = {
      workflowId: budgetId,
      requestId: uuid4(),
      state: 'waiting',
      group,
      forced,
      requestedAt: new Date().toISOString(),
      grantedAt: undefined,
      releasedAt: undefined,
      positionAtRequest: undefined,
      holdersAtRequest: [],
    };
    this.grantedAt = undefined;
    state.status.drainBudget = turn;
    const groupSize =
      group !== undefined && settings.drainBudget?.perGroup !== undefined ? await this.sizeOf(ctx, group) : undefined;
    let asked = 0;
    const ask = (asForced: boolean) => {
      const request: DrainPlaceAsk = {
        holder: workflowInfo().workflowId,
        requestId: turn.requestId,
        instanceId: state.status.instanceId,
        nodeName: ctx.nodeName,
        group,
        groupSize,
        arrivedAt: Date.parse(ctx.events[0]?.time ?? '') || Date.now(),
        forced: asForced,
      };
      return ctx.calls.requestDrainPlace({ cluster: settings.clusterName!, request, ask: (asked += 1) });
    };
    if (forced) return this.goForced(turn, ask, 'draining beyond the budget: the instance cannot wait its turn');
    let answer: DrainPlaceAnswer = await ask(false);
    this.record(turn, answer);
    let announced = false;
    while (!answer.granted && this.grantedAt === undefined) {
      if (!announced) {
        announced = true;
        ctx.setPhase('WaitingForBudget');
        state.decide(
          `waiting for a place in the drain budget (${budgetId}): ${answer.position ?? '?'} in line; draining now: ${answer.holders.join(', ') || 'none'}`,
        );
      }
      const left = ctx.deadline() - Date.now();
      if (left <= 0) {
        throw ApplicationFailure.create({
          type: failureTypes.drainBudgetTimeout,
          nonRetryable: true,
          message: `no place in the drain budget (${budgetId}) before the drain deadline; the drains holding it: ${answer.holders.join(', ') || 'none'}`,
        });
      }
      const woke = await condition(
        () => this.grantedAt !== undefined || ctx.urgentArrived() || ctx.actionsLost(),
        Math.min(askAgainMs, left),
      );
      if (this.grantedAt !== undefined) break;
      if (ctx.urgentArrived())
        return this.goForced(turn, ask, 'an event that cannot wait arrived: draining beyond the budget');
      if (ctx.actionsLost()) {
        return this.goForced(
          turn,
          ask,
          'the lifecycle action ended elsewhere and the instance is going: draining beyond the budget',
        );
      }
      if (!woke && ctx.deadline() > Date.now()) {
        answer = await ask(false);
        this.record(turn, answer);
      }
    }
    turn.state = 'holding';
    turn.grantedAt = new Date(this.grantedAt ?? Date.now()).toISOString();
  }

  /** Gives the place back, or leaves the line; nothing when the termination had neither. */
  async release(why: string): Promise<void> {
    const turn = this.state.status.drainBudget;
    this.grantedAt = undefined;
    if (!turn || turn.state === 'released') return;
    const was = turn.state;
    turn.state = 'released';
    turn.releasedAt = new Date().toISOString();
    // Even when the workflow is being cancelled, the place must go back.
    await CancellationScope.nonCancellable(async () => {
      try {
        await getExternalWorkflowHandle(turn.workflowId).signal(releaseDrainPlaceSignal, {
          holder: workflowInfo().workflowId,
          requestId: turn.requestId,
        });
        this.state.decide(
          `${was === 'holding' ? 'gave the drain budget place back' : 'left the drain budget line'}: ${why}`,
        );
      } catch (error) {
        // No budget workflow: nothing is held there.
        this.state.decide(`could not tell the drain budget (${turn.workflowId}): ${errorMessage(error)}`);
      }
    });
  }

  /**
   * Takes a place over the limit without waiting for the budget workflow's answer: a drain that
   * cannot wait must not depend on it. The request goes in the background; a late one is ignored
   * once the turn is given back.
   */
  private goForced(
    turn: DrainBudgetTurn,
    ask: (asForced: boolean) => Promise<DrainPlaceAnswer>,
    decision: string,
  ): void {
    turn.forced = true;
    turn.state = 'holding';
    turn.grantedAt = new Date().toISOString();
    this.state.decide(decision);
    void CancellationScope.nonCancellable(() => ask(true)).catch((error: unknown) => {
      this.state.decide(`could not count the drain in the budget (${turn.workflowId}): ${errorMessage(error)}`);
    });
  }

  private record(turn: DrainBudgetTurn, answer: DrainPlaceAnswer): void {
    turn.positionAtRequest = answer.position;
    turn.holdersAtRequest = answer.holders;
  }

  /** The group's size for a percentage; unknown (the book's last, or one place) when Auto Scaling cannot say. */
  private async sizeOf(ctx: TurnContext, group: string): Promise<number | undefined> {
    try {
      return await ctx.calls.autoScalingGroupSize(group);
    } catch (error) {
      if (isCancellation(error)) throw error;
      this.state.decide(
        `the size of ${group} is unknown (${errorMessage(error)}): a percentage budget counts its last size`,
      );
      return undefined;
    }
  }

  private groupOf(ctx: TurnContext): string | undefined {
    return (
      this.state.holds.open()[0]?.autoScalingGroupName ??
      ctx.events.find((e): e is LifecycleEvent => e.kind === 'asg-terminate')?.autoScalingGroupName ??
      ctx.instance?.tags[groupTag]
    );
  }
}
