import {
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  workflowInfo,
} from '@temporalio/workflow';
import type { InstanceFacts } from '../activities/aws/instances.js';
import type { DrainPlaceAnswer, DrainPlaceGrant } from '../common/drain-budget.js';
import type { InterruptionEvent, LifecycleEvent } from '../common/events.js';
import { drainBudgetWorkflowId, releaseDrainPlaceSignal } from '../common/names.js';
import type { RunbookSettings } from '../common/settings.js';
import type { DrainBudgetTurn, TerminationPhase } from '../common/status.js';
import type { callsUntil } from './activities.js';
import { errorMessage } from './failures.js';
import type { TerminationState } from './termination-state.js';

/** The tag Auto Scaling puts on its instances: the group of an instance whose event does not name it. */
const groupTag = 'aws:autoscaling:groupName';

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
  /** The moment no drain may start after: waiting past it fails the termination. */
  deadline: number;
  /** Events that came while waiting and cannot wait (a Spot interruption after the scale-in). */
  urgentArrived(): boolean;
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
  /** Set by the `drainPlaceGranted` signal; it may come before the answer to the request is seen. */
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
    this.grantedAt = grant.grantedAt;
  }

  /** Waits for a place (phase WaitingForBudget, the lifecycle actions held meanwhile). */
  async take(ctx: TurnContext): Promise<void> {
    const { state } = this;
    const settings = this.settings!;
    if (state.status.drainBudget?.state === 'holding') return;
    const budgetId = drainBudgetWorkflowId(settings.clusterName!);
    const group = this.groupOf(ctx);
    const forced = cannotWait(ctx.events);
    const perGroup = settings.drainBudget?.perGroup;
    const groupSize =
      group !== undefined && perGroup !== undefined && 'percent' in perGroup
        ? await ctx.calls.autoScalingGroupSize(group)
        : undefined;
    const request = (asForced: boolean) =>
      ctx.calls.requestDrainPlace({
        cluster: settings.clusterName!,
        request: {
          holder: workflowInfo().workflowId,
          instanceId: state.status.instanceId,
          nodeName: ctx.nodeName,
          group,
          groupSize,
          arrivedAt: Date.parse(ctx.events[0]?.time ?? '') || Date.now(),
          forced: asForced,
          configured: settings.drainBudget ?? {},
        },
      });
    const turn: DrainBudgetTurn = {
      workflowId: budgetId,
      state: 'waiting',
      group,
      forced,
      requestedAt: new Date().toISOString(),
      grantedAt: undefined,
      releasedAt: undefined,
      positionAtRequest: undefined,
      holdersAtRequest: [],
    };
    state.status.drainBudget = turn;
    const answer: DrainPlaceAnswer = await request(forced);
    turn.positionAtRequest = answer.position;
    turn.holdersAtRequest = answer.holders;
    if (!answer.granted && this.grantedAt === undefined) {
      ctx.setPhase('WaitingForBudget');
      state.decide(
        `waiting for a place in the drain budget (${budgetId}): ${answer.position ?? '?'} in line; draining now: ${answer.holders.join(', ') || 'none'}`,
      );
      const waitMs = Math.max(0, ctx.deadline - Date.now());
      const ended = await condition(() => this.grantedAt !== undefined || ctx.urgentArrived(), waitMs);
      if (!ended) {
        throw ApplicationFailure.create({
          type: 'DrainBudgetTimeout',
          nonRetryable: true,
          message: `no place in the drain budget (${budgetId}) before the drain deadline; the drains holding it: ${answer.holders.join(', ') || 'none'}`,
        });
      }
      if (this.grantedAt === undefined) {
        turn.forced = true;
        await request(true);
        state.decide('an event that cannot wait arrived: draining beyond the budget');
      }
    }
    turn.state = 'holding';
    turn.grantedAt = new Date(this.grantedAt ?? Date.now()).toISOString();
    if (forced) state.decide('draining beyond the budget: the instance cannot wait its turn');
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
        await getExternalWorkflowHandle(turn.workflowId).signal(releaseDrainPlaceSignal, workflowInfo().workflowId);
        this.state.decide(
          `${was === 'holding' ? 'gave the drain budget place back' : 'left the drain budget line'}: ${why}`,
        );
      } catch (error) {
        // No budget workflow: nothing is held there.
        this.state.decide(`could not tell the drain budget (${turn.workflowId}): ${errorMessage(error)}`);
      }
    });
  }

  private groupOf(ctx: TurnContext): string | undefined {
    return (
      this.state.holds.open()[0]?.autoScalingGroupName ??
      ctx.events.find((e): e is LifecycleEvent => e.kind === 'asg-terminate')?.autoScalingGroupName ??
      ctx.instance?.tags[groupTag]
    );
  }
}
