import {
  ApplicationFailure,
  condition,
  isCancellation,
  setCurrentDetails,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { InterruptionEvent } from '../common/events.js';
import { searchAttributes } from '../common/search-attributes.js';
import type { LifecycleResult, RunbookSettings } from '../common/settings.js';
import type { TerminationPhase } from '../common/status.js';
import { calls, drainActivity } from './activities.js';
import type { LifecycleHolds } from './lifecycle-hold.js';
import { Notifier, type NodeContext } from './notifications.js';
import type { OperatorControls } from './operator-controls.js';
import { excludeFromLoadBalancersLabel, outOfServiceTaint, preDrainTaints } from './taints.js';
import type { TerminationState } from './termination-state.js';

/** A Spot instance gets two minutes' notice; the drain has to fit in it. */
const spotNoticeMs = 120_000;

type DrainOutcome = 'drained' | 'not-drained' | 'skipped' | 'stopped' | 'gave-up' | 'lost';

interface NodeFound {
  node: NodeContext;
  instanceType: string | undefined;
  notifier: Notifier;
}

/**
 * One run of the termination runbook for the events taken in together. Every step from the first
 * lookup to the completion runs while the instance's lifecycle actions are held (`holds.cover`).
 */
export class Runbook {
  constructor(
    private readonly state: TerminationState,
    private readonly settings: RunbookSettings,
    private readonly controls: OperatorControls,
  ) {}

  private get holds(): LifecycleHolds {
    return this.state.holds;
  }

  async run(events: InterruptionEvent[]): Promise<void> {
    const { state, settings, holds } = this;
    upsertSearchAttributes([{ key: searchAttributes.interruptionKind, value: state.status.kinds.join(',') }]);
    const first = holds.open()[0];
    if (first) {
      upsertSearchAttributes([{ key: searchAttributes.autoScalingGroupName, value: first.autoScalingGroupName }]);
    }

    const found = await holds.cover(() => this.prepareNode(events));
    if (found === 'no-node') {
      if (holds.open().length > 0 && settings.deleteSqsMsgIfNodeNotFound) await this.completeLifecycle('CONTINUE');
      else holds.leave('no node to drain (DELETE_SQS_MSG_IF_NODE_NOT_FOUND=false)');
      this.setPhase('NodeNotFound');
      return;
    }
    if (found === 'not-managed') {
      holds.leave('instance not managed (CHECK_TAG_BEFORE_DRAINING)');
      return;
    }
    const { node, instanceType, notifier } = found;

    const outcome = await this.drain(node, notifier, events);
    if (outcome === 'stopped') {
      this.setPhase('Stopped');
      state.decide(`stopped by an operator${this.controls.stop?.reason ? `: ${this.controls.stop.reason}` : ''}`);
      return;
    }
    await holds.cover(() =>
      notifier.outcome(
        node,
        outcome === 'gave-up' || outcome === 'lost' ? 'failed' : outcome === 'not-drained' ? 'cordoned' : 'drained',
      ),
    );
    if (outcome === 'drained' && settings.enableOutOfServiceTaint) {
      await holds.cover(() =>
        this.act(
          `taint ${node.name} ${outOfServiceTaint.key}=${outOfServiceTaint.value}:${outOfServiceTaint.effect}`,
          () => calls.prepareNode({ nodeName: node.name, taints: [outOfServiceTaint], labels: {}, cordon: true }),
        ),
      );
    }
    if (outcome === 'lost') {
      this.setPhase('LifecycleActionLost');
      await holds.cover(() => notifier.webhook(node, instanceType, true));
      return;
    }
    if (outcome === 'gave-up') {
      const result = settings.lifecycleResultOnFailure;
      if (result !== 'NONE') await this.completeLifecycle(result);
      else holds.leave('LIFECYCLE_RESULT_ON_FAILURE=NONE');
      this.setPhase('Failed');
      await holds.cover(() => notifier.webhook(node, instanceType, true));
      throw ApplicationFailure.create({
        type: 'DrainFailed',
        nonRetryable: true,
        message: `draining node ${node.name} of ${state.status.instanceId} failed after ${state.status.attempt} attempt(s): ${state.status.lastError ?? 'unknown error'}. Check the pods left (${state.status.podsLeft.join(', ') || 'none reported'}) and their PodDisruptionBudgets.`,
      });
    }
    if (holds.open().length > 0) {
      const requested = settings.completeLifecycleActionDelaySeconds * 1000;
      // The delay may not run into the action's global timeout.
      const delayMs = Math.min(requested, Math.max(0, holds.drainDeadline() - Date.now()));
      if (delayMs > 0) {
        state.decide(`waiting ${Math.round(delayMs / 1000)} s before completing the lifecycle action`);
        await holds.cover(() => sleep(delayMs));
      }
      await this.completeLifecycle(outcome === 'skipped' ? (this.controls.skip?.result ?? 'CONTINUE') : 'CONTINUE');
    }
    this.setPhase(holds.anyLost() ? 'LifecycleActionLost' : 'Done');
    await holds.cover(() => notifier.webhook(node, instanceType, true));
  }

  /** Finds the node, checks it is ours, records the interruption on it and cordons it. */
  private async prepareNode(events: InterruptionEvent[]): Promise<NodeFound | 'no-node' | 'not-managed'> {
    const { state, settings } = this;
    const instanceId = state.status.instanceId;
    this.setPhase('ResolvingNode');
    const instance = await calls.describeInstance(instanceId);
    const found = await calls.findNode({
      instanceId,
      privateDnsName: instance?.privateDnsName,
      useProviderId: settings.useProviderId,
    });
    if (!found) {
      state.decide(
        `no node for ${instanceId} (${settings.useProviderId ? 'by provider ID' : `private DNS name ${instance?.privateDnsName ?? 'unknown'}`}): nothing to drain`,
      );
      return 'no-node';
    }
    state.status.nodeName = found.name;
    upsertSearchAttributes([{ key: searchAttributes.nodeName, value: found.name }]);
    const notifier = new Notifier(state, settings, events);
    const node: NodeContext = { name: found.name, providerId: found.providerId, labels: found.labels ?? {} };
    const instanceType = node.labels['node.kubernetes.io/instance-type'];
    if (settings.checkTagBeforeDraining && instance?.tags[settings.managedTag] === undefined) {
      this.setPhase('NotManaged');
      state.decide(`instance lacks the tag ${settings.managedTag} (CHECK_TAG_BEFORE_DRAINING): not handled`);
      return 'not-managed';
    }
    await notifier.interruption(node);

    this.setPhase('Cordoning');
    const taints = preDrainTaints(state.status.kinds, events[0]?.eventId ?? instanceId, settings);
    const labels: Record<string, string> = settings.excludeFromLoadBalancers
      ? { [excludeFromLoadBalancersLabel]: 'true' }
      : {};
    const what = [
      `cordon ${node.name}`,
      ...taints.map((t) => `taint ${t.key}=${t.value}:${t.effect}`),
      ...Object.keys(labels).map((l) => `label ${l}`),
    ];
    await this.act(what.join(', '), () => calls.prepareNode({ nodeName: node.name, taints, labels, cordon: true }));
    return { node, instanceType, notifier };
  }

  /** Drain attempts until one succeeds, the limits are reached, or an operator ends them. */
  private async drain(node: NodeContext, notifier: Notifier, events: InterruptionEvent[]): Promise<DrainOutcome> {
    const { state, settings, controls, holds } = this;
    const nodeName = node.name;
    await holds.cover(() => notifier.holdWarnings(node, holds.takeWarnings()));
    if (settings.cordonOnly) {
      state.decide('CORDON_ONLY: not draining');
      return 'not-drained';
    }
    const received = Date.parse(events[0]?.time ?? '') || Date.now();
    const spot = events.find((e) => e.kind === 'spot-interruption');
    const deadline = () =>
      Math.min(
        received + settings.drainDeadlineSeconds * 1000,
        spot ? Date.parse(spot.time) + spotNoticeMs : Infinity,
        holds.drainDeadline(),
      );
    const lifecycleOnly = state.status.kinds.every((k) => k === 'asg-terminate');
    const lost = () => lifecycleOnly && holds.anyLost() && holds.open().length === 0;
    for (;;) {
      if (controls.stop) return 'stopped';
      if (controls.skip) return this.skipped();
      if (state.status.attempt > 0 && lost()) return this.lost();
      state.status.attempt += 1;
      this.setPhase('Draining');
      const attemptEnd = Math.min(
        Date.now() + settings.drain.nodeTerminationGracePeriodSeconds * 1000,
        Math.max(deadline(), Date.now() + 1000),
      );
      let drained: Awaited<ReturnType<ReturnType<typeof drainActivity>>> | undefined;
      let failed = false;
      try {
        drained = await this.act(`drain ${nodeName} (attempt ${state.status.attempt})`, () =>
          controls.cancellableAttempt(() =>
            holds.cover(() =>
              drainActivity((attemptEnd - Date.now()) / 1000)({
                nodeName,
                settings: settings.drain,
                deadlineEpochMs: attemptEnd,
              }),
            ),
          ),
        );
      } catch (error) {
        if (isCancellation(error) && controls.drainEnded) continue;
        if (isCancellation(error)) throw error;
        failed = true;
        state.status.lastError = errorMessage(error);
        state.status.podsLeft = podsLeft(error) ?? state.status.podsLeft;
      }
      await holds.cover(() => notifier.holdWarnings(node, holds.takeWarnings()));
      if (!failed) {
        state.status.podsLeft = [];
        state.status.lastError = undefined;
        // Results recorded before the drain named its pods carry a count; running workflows replay them.
        if (Array.isArray(drained?.evicted)) state.status.podsEvicted.push(...drained.evicted);
        return 'drained';
      }
      if (lost()) return this.lost();
      const maxed = settings.drainMaxAttempts > 0 && state.status.attempt >= settings.drainMaxAttempts;
      if (maxed || Date.now() + settings.drainRetryIntervalSeconds * 1000 > deadline()) {
        state.decide(
          `giving up the drain after ${state.status.attempt} attempt(s)${maxed ? ' (DRAIN_MAX_ATTEMPTS)' : ' (deadline)'}`,
        );
        return 'gave-up';
      }
      this.setPhase('WaitingToRetry');
      controls.retryNow = false;
      await holds.cover(() =>
        condition(() => controls.retryNow || controls.drainEnded, settings.drainRetryIntervalSeconds * 1000),
      );
    }
  }

  private lost(): DrainOutcome {
    this.state.decide(
      'no further drain attempts: the lifecycle action is lost and Auto Scaling terminates the instance',
    );
    return 'lost';
  }

  private skipped(): DrainOutcome {
    this.state.decide(
      `drain skipped by an operator${this.controls.skip?.reason ? `: ${this.controls.skip.reason}` : ''}`,
    );
    return 'skipped';
  }

  private async completeLifecycle(result: LifecycleResult): Promise<void> {
    this.setPhase('CompletingLifecycleAction');
    if (this.settings.dryRun) {
      for (const target of this.holds.open()) {
        this.state.decide(
          `complete lifecycle action of ${target.instanceId} (${target.lifecycleHookName}) with ${result}`,
        );
      }
      return;
    }
    await this.holds.complete(result);
  }

  /** Runs a step that changes AWS or Kubernetes, or, in dry run, records that it would have. */
  private async act<T>(decision: string, step: () => Promise<T>): Promise<T | undefined> {
    this.state.decide(decision);
    return this.settings.dryRun ? undefined : step();
  }

  private setPhase(phase: TerminationPhase): void {
    this.state.setPhase(phase);
    upsertSearchAttributes([{ key: searchAttributes.terminationPhase, value: phase }]);
    setCurrentDetails(this.summary());
  }

  private summary(): string {
    const { status } = this.state;
    return [
      `**${status.phase}** ${status.instanceId}${status.nodeName ? ` (node ${status.nodeName})` : ''}`,
      `kinds: ${status.kinds.join(', ')}; drain attempts: ${status.attempt}; heartbeats: ${status.heartbeatsSent}`,
      status.lastError ? `last error: ${status.lastError}` : '',
    ]
      .filter(Boolean)
      .join('\n\n');
  }
}

function errorMessage(error: unknown): string {
  let current: unknown = error;
  // ActivityFailure wraps the activity's own error as its cause: that is the one a person can act on.
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

function podsLeft(error: unknown): string[] | undefined {
  let current: unknown = error;
  while (current instanceof Error) {
    if (current instanceof ApplicationFailure) {
      const details = current.details?.[0] as { podsLeft?: string[] } | undefined;
      if (details?.podsLeft) return details.podsLeft;
    }
    current = current.cause;
  }
  return undefined;
}
