import {
  ApplicationFailure,
  condition,
  isCancellation,
  setCurrentDetails,
  sleep,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { InterruptionEvent } from '../common/events.js';
import type { LifecycleTarget } from '../common/lifecycle.js';
import { searchAttributes } from '../common/search-attributes.js';
import type { LifecycleResult, RunbookSettings } from '../common/settings.js';
import type { TerminationPhase } from '../common/status.js';
import { calls, drainActivity, heartbeatActivity } from './activities.js';
import { withLifecycleHeartbeat } from './heartbeat-scope.js';
import { Notifier } from './notifications.js';
import type { OperatorControls } from './operator-controls.js';
import { excludeFromLoadBalancersLabel, preDrainTaints } from './taints.js';
import type { TerminationState } from './termination-state.js';

/** A Spot instance gets two minutes' notice; the drain has to fit in it. */
const spotNoticeMs = 120_000;

type DrainOutcome = 'drained' | 'not-drained' | 'skipped' | 'stopped' | 'gave-up';

/** One run of the termination runbook for the events taken in together. */
export class Runbook {
  constructor(
    private readonly state: TerminationState,
    private readonly settings: RunbookSettings,
    private readonly controls: OperatorControls,
  ) {}

  async run(events: InterruptionEvent[]): Promise<void> {
    const { state, settings } = this;
    const instanceId = state.status.instanceId;
    upsertSearchAttributes([{ key: searchAttributes.interruptionKind, value: state.status.kinds.join(',') }]);
    const lifecycle = state.openLifecycle();
    if (lifecycle) {
      upsertSearchAttributes([{ key: searchAttributes.autoScalingGroupName, value: lifecycle.autoScalingGroupName }]);
    }

    this.setPhase('ResolvingNode');
    const instance = await calls.describeInstance(instanceId);
    const node = await calls.findNode({
      instanceId,
      privateDnsName: instance?.privateDnsName,
      useProviderId: settings.useProviderId,
    });
    if (!node) {
      state.decide(
        `no node for ${instanceId} (${settings.useProviderId ? 'by provider ID' : `private DNS name ${instance?.privateDnsName ?? 'unknown'}`}): nothing to drain`,
      );
      const open = state.openLifecycle();
      if (open && settings.deleteSqsMsgIfNodeNotFound) await this.completeLifecycle(open, 'CONTINUE');
      else if (open) state.decide('lifecycle action left for Auto Scaling (DELETE_SQS_MSG_IF_NODE_NOT_FOUND=false)');
      this.setPhase('NodeNotFound');
      return;
    }
    state.status.nodeName = node.name;
    upsertSearchAttributes([{ key: searchAttributes.nodeName, value: node.name }]);
    const notifier = new Notifier(state, settings, events);
    const nodeContext = { name: node.name, providerId: node.providerId, labels: node.labels ?? {} };
    const instanceType = nodeContext.labels['node.kubernetes.io/instance-type'];
    if (settings.checkTagBeforeDraining && instance?.tags[settings.managedTag] === undefined) {
      this.setPhase('NotManaged');
      state.decide(`instance lacks the tag ${settings.managedTag} (CHECK_TAG_BEFORE_DRAINING): not handled`);
      return;
    }
    await notifier.interruption(nodeContext);

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

    const outcome = await this.drain(node.name, events);
    if (outcome === 'stopped') {
      this.setPhase('Stopped');
      state.decide(`stopped by an operator${this.controls.stop?.reason ? `: ${this.controls.stop.reason}` : ''}`);
      return;
    }
    const open = state.openLifecycle();
    await notifier.outcome(
      nodeContext,
      outcome === 'gave-up' ? 'failed' : outcome === 'not-drained' ? 'cordoned' : 'drained',
    );
    if (outcome === 'gave-up') {
      const result = settings.lifecycleResultOnFailure;
      if (open && result !== 'NONE') await this.completeLifecycle(open, result);
      else if (open) {
        state.decide('lifecycle action left to expire (LIFECYCLE_RESULT_ON_FAILURE=NONE)');
        state.lifecycleEnded(open, 'left-to-expire');
      }
      this.setPhase('Failed');
      await notifier.webhook(nodeContext, instanceType, true);
      throw ApplicationFailure.create({
        type: 'DrainFailed',
        nonRetryable: true,
        message: `draining node ${node.name} of ${instanceId} failed after ${state.status.attempt} attempt(s): ${state.status.lastError ?? 'unknown error'}. Check the pods left (${state.status.podsLeft.join(', ') || 'none reported'}) and their PodDisruptionBudgets.`,
      });
    }
    if (open) {
      const result = outcome === 'skipped' ? (this.controls.skip?.result ?? 'CONTINUE') : 'CONTINUE';
      if (settings.completeLifecycleActionDelaySeconds > 0) {
        state.decide(
          `waiting ${settings.completeLifecycleActionDelaySeconds} s before completing the lifecycle action`,
        );
        await sleep(settings.completeLifecycleActionDelaySeconds * 1000);
      }
      await this.completeLifecycle(open, result);
    }
    this.setPhase('Done');
    await notifier.webhook(nodeContext, instanceType, true);
  }

  /** Drain attempts until one succeeds, the limits are reached, or an operator ends them. */
  private async drain(nodeName: string, events: InterruptionEvent[]): Promise<DrainOutcome> {
    const { state, settings, controls } = this;
    if (settings.cordonOnly) {
      state.decide('CORDON_ONLY: not draining');
      return 'not-drained';
    }
    const received = Date.parse(events[0]?.time ?? '') || Date.now();
    const spot = events.find((e) => e.kind === 'spot-interruption');
    const deadline = Math.min(
      received + settings.drainDeadlineSeconds * 1000,
      spot ? Date.parse(spot.time) + spotNoticeMs : Infinity,
    );
    const untilEpochMs = received + settings.heartbeatUntilSeconds * 1000;
    const heartbeat = heartbeatActivity(settings.heartbeatUntilSeconds);
    for (;;) {
      if (controls.stop) return 'stopped';
      if (controls.skip) return this.skipped();
      state.status.attempt += 1;
      this.setPhase('Draining');
      const attemptEnd = Math.min(
        Date.now() + settings.drain.nodeTerminationGracePeriodSeconds * 1000,
        Math.max(deadline, Date.now() + 1000),
      );
      let drained: Awaited<ReturnType<ReturnType<typeof drainActivity>>> | undefined;
      let failed = false;
      try {
        drained = await this.act(`drain ${nodeName} (attempt ${state.status.attempt})`, () =>
          controls.cancellableAttempt(() =>
            withLifecycleHeartbeat(
              () => (settings.dryRun ? undefined : state.openLifecycle()),
              (target) => this.heartbeat(heartbeat, target, untilEpochMs),
              () =>
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
      if (!failed) {
        state.status.podsLeft = [];
        state.status.lastError = undefined;
        // Results recorded before the drain named its pods carry a count; running workflows replay them.
        if (Array.isArray(drained?.evicted)) state.status.podsEvicted.push(...drained.evicted);
        return 'drained';
      }
      const maxed = settings.drainMaxAttempts > 0 && state.status.attempt >= settings.drainMaxAttempts;
      if (maxed || Date.now() + settings.drainRetryIntervalSeconds * 1000 > deadline) {
        state.decide(
          `giving up the drain after ${state.status.attempt} attempt(s)${maxed ? ' (DRAIN_MAX_ATTEMPTS)' : ' (deadline)'}`,
        );
        return 'gave-up';
      }
      this.setPhase('WaitingToRetry');
      controls.retryNow = false;
      await condition(() => controls.retryNow || controls.drainEnded, settings.drainRetryIntervalSeconds * 1000);
    }
  }

  private skipped(): DrainOutcome {
    this.state.decide(
      `drain skipped by an operator${this.controls.skip?.reason ? `: ${this.controls.skip.reason}` : ''}`,
    );
    return 'skipped';
  }

  private async heartbeat(run: ReturnType<typeof heartbeatActivity>, target: LifecycleTarget, untilEpochMs: number) {
    const { state, settings } = this;
    try {
      const result = await run({
        target,
        intervalSeconds: settings.heartbeatIntervalSeconds,
        untilEpochMs,
        lastHeartbeatAt: state.lastHeartbeatEpochMs(),
      });
      state.decide(
        result.end === 'action-not-active'
          ? 'heartbeats ended: the lifecycle action is no longer active'
          : 'heartbeats ended: HEARTBEAT_UNTIL reached',
      );
    } finally {
      state.heartbeatsStopped();
    }
  }

  private async completeLifecycle(target: LifecycleTarget, result: LifecycleResult): Promise<void> {
    this.setPhase('CompletingLifecycleAction');
    const outcome = await this.act(`complete lifecycle action of ${target.instanceId} with ${result}`, () =>
      calls.completeLifecycleAction(target, result),
    );
    this.state.lifecycleEnded(target, outcome === 'not-active' ? 'not-active' : result);
    if (outcome === 'not-active')
      this.state.decide('lifecycle action was no longer active (expired or completed elsewhere)');
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
