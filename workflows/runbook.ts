import { ContinueAsNew, condition, isCancellation, patched, setCurrentDetails } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { InstanceFacts } from '../activities/aws/instances.js';
import { returnsToWarmPool, terminatesFromWarmPool, type InterruptionEvent } from '../common/events.js';
import { failureTypes, permanentFailureTypes } from '../common/failures.js';
import { searchAttributes } from '../common/search-attributes.js';
import type { EventAction, LifecycleResult, RunbookSettings } from '../common/settings.js';
import { mergeChanges, type TerminationPhase } from '../common/status.js';
import { AdvisorySteps } from './advisory-watch.js';
import type { Activities } from '../activities/index.js';
import { callsUntil, triedLocallyFirst, type LocalFirstCall } from './activities.js';
import { DrainAttempts, drainDeadline, kubeletGone, type DrainPlace, type HandOver } from './drain-attempts.js';
import { actionOfEvents, stronger, warmPoolChangesAnnotation } from './event-policy.js';
import { errorMessage, failureType } from './failures.js';
import { identifyInstance, noteOwnership } from './identify.js';
import type { LifecycleHolds } from './lifecycle-hold.js';
import { Notifier, type NodeContext } from './notifications.js';
import type { OperatorControls } from './operator-controls.js';
import { cannotWait, type DrainTurn } from './drain-turn.js';
import { outOfServiceTaint, preDrainLabels, preDrainTaints } from './taints.js';
import { shortPhasesPatch } from './patches.js';
import { setSearchAttributes } from './search-attribute-updates.js';
import { isLifecycleEvent } from './termination-state.js';
import type { TerminationState } from './termination-state.js';

/**
 * How long the hold must be able to go without a heartbeat loop for a lookup to be tried as a local
 * activity (which keeps a loop from starting while it runs): the try's 10 s, the workflow task's
 * 10 s timeout when its worker is lost meanwhile, then the 37 s a lost worker costs the hold
 * (`lostWorkerSeconds`), with room to spare.
 */
const unheldSeconds = 90;

/**
 * One run of the termination runbook for the events taken in together. Every step from the first
 * lookup to the completion runs while the instance's lifecycle actions are held (`holds.cover`);
 * every call retries until the work's deadline. However it ends, the outcome is in `state`: a
 * failure too is recorded (and thrown by the workflow when it closes), never left unhandled.
 */
export class Runbook {
  constructor(
    private readonly state: TerminationState,
    private readonly settings: RunbookSettings,
    private readonly controls: OperatorControls,
    private readonly handOver: HandOver,
    private readonly turn: DrainTurn,
  ) {}

  /** The events this run handles; their times set the deadlines. */
  private events: InterruptionEvent[] = [];

  /** The instance is known to be this cluster's (or no tag says otherwise): failures may complete its action. */
  private identified = false;

  /** What EC2 said of the instance when the run identified it (the drain budget reads its group). */
  private instance: InstanceFacts | undefined;

  private get holds(): LifecycleHolds {
    return this.state.holds;
  }

  async run(events: InterruptionEvent[]): Promise<void> {
    await this.givingTheTurnBack(() => this.runSteps(events));
  }

  /**
   * Runs `steps`, then gives back the termination's drain budget place, however they ended, unless
   * the run hands over to the next (which holds the place on).
   */
  private async givingTheTurnBack(steps: () => Promise<void>): Promise<void> {
    let handedOver = false;
    try {
      await steps();
    } catch (error) {
      handedOver = error instanceof ContinueAsNew;
      throw error;
    } finally {
      if (!handedOver) await this.turn.release(`the termination ended in phase ${this.state.status.phase}`);
    }
  }

  private async runSteps(events: InterruptionEvent[]): Promise<void> {
    const { state, holds } = this;
    state.failure = undefined;
    this.events = events;
    setSearchAttributes(
      [{ key: searchAttributes.interruptionKind, value: state.status.kinds.join(',') }],
      ...this.groupAttribute(),
    );
    let notifier = new Notifier(state, this.settings, events);
    let place: DrainPlace | undefined;
    const action = actionOfEvents(events, this.settings);
    if (action !== 'drain' || state.status.action === 'drain') {
      if (this.advisory.needsNothing(events, action)) return;
    }
    try {
      // An operator's stop or skip ends the lookup and the cordon too (they retry until the deadline).
      const found = await this.controls
        .cancellableAttempt(async () => {
          const instance = await identifyInstance({
            state: this.state,
            settings: this.settings,
            describe: () => this.quickly('describeInstance')(this.state.status.instanceId),
            setPhase: (phase) => this.setPhase(phase),
          });
          if (instance === 'other-cluster') return instance;
          this.identified = true;
          this.instance = instance;
          // Only for an instance that is ours to drain: another cluster's gets no Auto Scaling call.
          if (this.managed(instance)) await holds.describeHooks();
          return holds.cover(() => this.prepareNode(events, notifier, instance, action));
        })
        .catch((error: unknown) => {
          if (isCancellation(error) && this.controls.drainEnded) return 'operator' as const;
          throw error;
        });
      if (found === 'operator') return await this.endedByOperatorEarly();
      if (found === 'no-node') return await this.noNode();
      if (found === 'not-managed') return holds.leave('instance not managed (CHECK_TAG_BEFORE_DRAINING)');
      if (found === 'other-cluster') return holds.leave("another cluster's instance: that cluster handles it");
      // Events that came while the termination waited for its drain budget place joined this run.
      place = { events: this.events, ...found, retryAt: undefined, resumesInterrupted: false };
      if (action !== 'drain') {
        const watched = await this.advisory.watch(place, action);
        if (watched === 'stopped') return this.stopped();
        if (watched === 'undone') return;
        notifier = new Notifier(state, this.settings, watched);
        this.events = watched;
        const { node } = place;
        await notifier.interruption(node);
        await holds.cover(async () => {
          // The escalated drain waits for its place in the drain budget, already cordoned.
          if (this.turn.applies()) await this.takeTurn(this.instance, node.name);
          await this.applyAction(node, this.events, 'drain');
        });
        place = { ...place, events: this.events };
      }
      await this.drainAndComplete(place, notifier);
    } catch (error) {
      await this.failed(error, notifier, place);
    }
  }

  /** Where every step's failure ends: a node deleted meanwhile, or a failed termination. */
  private async failed(error: unknown, notifier: Notifier, place: DrainPlace | undefined): Promise<void> {
    if (isCancellation(error) || error instanceof ContinueAsNew) throw error;
    if (failureType(error) === failureTypes.nodeGone && this.state.status.phase !== 'CompletingLifecycleAction') {
      this.state.decide(`${errorMessage(error)}: nothing left to drain`);
      try {
        await this.noNode();
      } catch (completionError) {
        await this.fail(completionError, notifier, place);
      }
      return;
    }
    await this.fail(error, notifier, place);
  }

  /** A stop or a skip that came while the node was being found or cordoned. */
  private async endedByOperatorEarly(): Promise<void> {
    if (this.controls.stop) return this.stopped();
    this.state.decide(
      `drain skipped by an operator before it began${this.controls.skip?.reason ? `: ${this.controls.skip.reason}` : ''}`,
    );
    await this.completeLifecycle(this.controls.skip?.result ?? 'CONTINUE');
    this.setPhase(this.holds.anyLost() ? 'LifecycleActionLost' : 'Done');
  }

  /** Goes on with the drain where the previous run of the workflow handed over. */
  async resume(place: DrainPlace): Promise<void> {
    this.events = place.events;
    this.identified = true;
    this.state.decide(`run ${this.state.status.run} goes on with the drain of ${place.node.name}`);
    setSearchAttributes(
      [
        { key: searchAttributes.nodeName, value: place.node.name },
        { key: searchAttributes.interruptionKind, value: this.state.status.kinds.join(',') },
      ],
      ...this.groupAttribute(),
    );
    const notifier = new Notifier(this.state, this.settings, place.events);
    await this.givingTheTurnBack(async () => {
      try {
        await this.drainAndComplete(place, notifier);
      } catch (error) {
        await this.failed(error, notifier, place);
      }
    });
  }

  private async drainAndComplete(place: DrainPlace, notifier: Notifier): Promise<void> {
    const { state, settings, holds } = this;
    const { node, instanceType } = place;
    const outcome = await new DrainAttempts({
      state,
      settings,
      controls: this.controls,
      handOver: this.handOver,
      setPhase: (phase) => this.setPhase(phase),
      act: (decision, step) => this.act(decision, step),
    }).run(place, notifier);
    const release = () => this.turn.release(`drain ${outcome}`);
    if (outcome === 'stopped') {
      await release();
      return this.stopped();
    }
    // Giving the place back is a signal, which waits on Temporal: under `shortPhasesPatch` the action
    // is held meanwhile (a loaded server took 54 s over it once, and a 60 s hook expired).
    const heldRelease = patched(shortPhasesPatch);
    if (!heldRelease) await release();
    await holds.cover(async () => {
      if (heldRelease) await release();
      await notifier.outcome(
        node,
        outcome === 'gave-up' || outcome === 'lost' ? 'failed' : outcome === 'not-drained' ? 'cordoned' : 'drained',
      );
    });
    if (outcome === 'drained' && settings.enableOutOfServiceTaint) {
      // Pods not waited for may still run on a kubelet that hangs: the taint would force-detach
      // their volumes under them. Only a kubelet known gone (a stopped instance) makes that safe.
      const stillThere = state.status.podsNotWaitedFor ?? [];
      if (stillThere.length === 0 || kubeletGone(place.events)) await this.taintOutOfService(node);
      else state.decide(`no out-of-service taint: pods may still run on ${node.name} (${stillThere.join(', ')})`);
    }
    if (outcome === 'lost') {
      this.setPhase('LifecycleActionLost');
      await holds.cover(() => notifier.webhook(node, instanceType, true));
      return;
    }
    if (outcome === 'gave-up') {
      state.failure = {
        type: 'DrainFailed',
        message: `draining node ${node.name} of ${state.status.instanceId} failed after ${state.status.attempt} attempt(s): ${state.status.lastError ?? 'unknown error'}. Check the pods left (${state.status.podsLeft.map((p) => `${p.pod}: ${p.reason}`).join('; ') || 'none reported'}) and their PodDisruptionBudgets.`,
      };
      await this.completeOnFailure();
      this.setPhase('Failed');
      await holds.cover(() => notifier.webhook(node, instanceType, true));
      return;
    }
    // A stop that came after the drain still leaves the action as it is, as the stop promised.
    if (this.controls.stop) return this.stopped();
    if (holds.open().length > 0) {
      const requested = settings.completeLifecycleActionDelaySeconds * 1000;
      // The delay may not run into the action's global timeout.
      const delayMs = Math.min(requested, Math.max(0, holds.drainDeadline() - Date.now()));
      if (delayMs > 0) {
        state.decide(`waiting ${Math.round(delayMs / 1000)} s before completing the lifecycle action`);
        await holds.cover(() => condition(() => this.controls.stop !== undefined, delayMs));
        if (this.controls.stop) return this.stopped();
      }
      await this.completeLifecycle(outcome === 'skipped' ? (this.controls.skip?.result ?? 'CONTINUE') : 'CONTINUE');
    }
    this.setPhase(holds.anyLost() ? 'LifecycleActionLost' : 'Done');
    await holds.cover(() => notifier.webhook(node, instanceType, true));
  }

  /** The pods are gone: the instance is going down, and the taint lets its volumes move on. */
  private async taintOutOfService(node: NodeContext): Promise<void> {
    const { key, value, effect } = outOfServiceTaint;
    try {
      await this.holds.cover(() =>
        this.act(`taint ${node.name} ${key}=${value}:${effect}`, () =>
          this.calls().prepareNode({
            nodeName: node.name,
            taints: [outOfServiceTaint],
            labels: {},
            cordon: true,
            ...(this.events.some((e) => isLifecycleEvent(e) && returnsToWarmPool(e))
              ? { recordAs: warmPoolChangesAnnotation }
              : {}),
          }),
        ),
      );
    } catch (error) {
      if (isCancellation(error)) throw error;
      // The drain is done; a taint that cannot be set must not turn it into a failed termination.
      this.state.decide(`could not taint ${node.name} ${key}: ${errorMessage(error)}`);
    }
  }

  /** False when CHECK_TAG_BEFORE_DRAINING leaves the instance alone: it lacks MANAGED_TAG. */
  private managed(instance: InstanceFacts | undefined): boolean {
    return !this.settings.checkTagBeforeDraining || instance?.tags[this.settings.managedTag] !== undefined;
  }

  /** Finds the node, checks it is managed, records the interruption on it and cordons it. */
  private async prepareNode(
    events: InterruptionEvent[],
    notifier: Notifier,
    instance: InstanceFacts | undefined,
    action: EventAction,
  ): Promise<{ node: NodeContext; instanceType: string | undefined } | 'no-node' | 'not-managed'> {
    const { state, settings } = this;
    const instanceId = state.status.instanceId;
    if (!this.managed(instance)) {
      this.setPhase('NotManaged');
      await noteOwnership({ instanceId, owner: 'ours', notManaged: true });
      state.decide(`instance lacks the tag ${settings.managedTag} (CHECK_TAG_BEFORE_DRAINING): not handled`);
      return 'not-managed';
    }
    const found = await this.quickly('findNode')({
      instanceId,
      privateDnsName: instance?.privateDnsName,
      availabilityZone: instance?.availabilityZone,
      useProviderId: settings.useProviderId,
    });
    if (!found) {
      state.decide(
        `no node for ${instanceId} (${settings.useProviderId ? 'by provider ID' : `private DNS name ${instance?.privateDnsName ?? 'unknown'}`}): nothing to drain`,
      );
      return 'no-node';
    }
    state.status.nodeName = found.name;
    setSearchAttributes([{ key: searchAttributes.nodeName, value: found.name }]);
    const node: NodeContext = { name: found.name, providerId: found.providerId, labels: found.labels ?? {} };
    const instanceType = node.labels['node.kubernetes.io/instance-type'];
    await notifier.interruption(node);
    // Only a drain takes a place in the drain budget; a taint or a cordon for an advisory event does not.
    if (action === 'drain' && this.turn.applies()) await this.takeTurn(instance, node.name);

    this.setPhase('Cordoning');
    // Events that could not wait for the drain budget joined this run.
    await this.applyAction(node, this.events, action);
    return { node, instanceType };
  }

  /**
   * Does to the node what `action` asks for the events: a taint (NTH's per-kind taint, whatever
   * TAINT_NODE says), or a cordon with TAINT_NODE's taints and the load-balancer label. What it
   * added (not what was there) is kept in the status for an undo; on a scale-in back into the warm
   * pool also on the node, for the launch that brings the instance back.
   */
  private async applyAction(node: NodeContext, events: InterruptionEvent[], action: EventAction): Promise<void> {
    const { state, settings } = this;
    const cordon = action === 'cordon' || action === 'drain';
    // Each kind its own event's id; the action `taint` taints whatever TAINT_NODE and TAINT_STATE_CHANGE say.
    const taints = preDrainTaints(
      state.status.kinds,
      events,
      action === 'taint' ? { ...settings, taintNode: true, taintStateChange: true } : settings,
    );
    const labels = cordon ? preDrainLabels(settings) : {};
    const what = [
      ...(cordon ? [`cordon node ${node.name}`] : []),
      ...taints.map((t) => `taint node ${node.name} with ${t.key}=${t.value}:${t.effect}`),
      ...Object.entries(labels).map(([key, value]) => `label node ${node.name} with ${key}=${value}`),
    ];
    state.status.action = stronger(state.status.action ?? 'none', action);
    if (what.length === 0) return;
    const recordAs = events.some((e) => isLifecycleEvent(e) && returnsToWarmPool(e))
      ? warmPoolChangesAnnotation
      : undefined;
    // The interruption this cordon answers, for the notice-to-cordon latency.
    const notice = events[0] && { kind: events[0].kind, epochMs: Date.parse(events[0].time) || Date.now() };
    const changes = await this.act(what, () =>
      this.calls().prepareNode({
        nodeName: node.name,
        taints,
        labels,
        cordon,
        ...(recordAs ? { recordAs } : {}),
        ...(notice ? { notice } : {}),
      }),
    );
    // In dry run nothing changed: what would have been added stands in, so the undo says what it would take back.
    const added = changes ?? (settings.dryRun ? { cordoned: cordon, taints, labels: Object.keys(labels) } : undefined);
    if (added) state.status.nodeChanges = mergeChanges(state.status.nodeChanges, added);
  }

  /** The steps of an advisory event: watching after its taint or cordon, escalating or undoing. */
  private get advisory(): AdvisorySteps {
    return new AdvisorySteps({
      state: this.state,
      settings: this.settings,
      controls: this.controls,
      setPhase: (phase) => this.setPhase(phase),
      act: (decision, step) => this.act(decision, step),
      apply: async (node, events, action) => {
        this.events = events;
        await this.applyAction(node, events, action);
      },
      restoreNode: (input) => this.calls().restoreNode(input),
    });
  }

  /**
   * Waits for a drain budget place before the cordon: a node waiting its turn keeps serving. An event
   * that cannot wait (a Spot interruption after the scale-in) ends the wait and joins this run.
   */
  private async takeTurn(instance: InstanceFacts | undefined, nodeName: string): Promise<void> {
    const { state } = this;
    const urgentPending = () => cannotWait(state.peekPending());
    await this.turn.take({
      events: this.events,
      instance,
      nodeName,
      calls: this.calls(),
      deadline: () => drainDeadline(this.events, this.settings, this.holds),
      urgentArrived: urgentPending,
      actionsLost: () => this.holds.anyLost() && this.holds.open().length === 0,
      setPhase: (phase) => this.setPhase(phase),
    });
    if (urgentPending()) {
      this.events = [...this.events, ...state.takePending()];
      setSearchAttributes([{ key: searchAttributes.interruptionKind, value: state.status.kinds.join(',') }]);
    }
  }

  private async noNode(): Promise<void> {
    const lifecycle = this.events.filter(isLifecycleEvent);
    // A warmed instance whose node never joined (or left with the stop) has nothing to wait for.
    const fromWarmPool = lifecycle.length > 0 && lifecycle.every(terminatesFromWarmPool);
    if (this.holds.open().length > 0 && (this.settings.deleteSqsMsgIfNodeNotFound || fromWarmPool)) {
      if (fromWarmPool) this.state.decide('terminated from the warm pool without a node: completing with CONTINUE');
      await this.completeLifecycle('CONTINUE');
    } else this.holds.leave('no node to drain (DELETE_SQS_MSG_IF_NODE_NOT_FOUND=false)');
    this.setPhase('NodeNotFound');
  }

  /**
   * A lookup tried once locally, then as the activity that retries until the work's deadline, while
   * the hold can go `unheldSeconds` without a loop; otherwise the activity at once. In dry run
   * always the activity: the rehearsal's patch (`dryRunReadsPods`) is first called after these
   * calls, and a patch first called after a local activity's result can be missed on replay
   * (`settleStartPatches`).
   */
  private quickly<K extends LocalFirstCall>(name: K): Activities[K] {
    const calls = this.calls();
    if (this.settings.dryRun || !this.holds.canGoUnheld(unheldSeconds)) return calls[name];
    return triedLocallyFirst(name, calls);
  }

  /** Calls that retry until the work's deadline (`deadline`) for the events of this run. */
  private calls() {
    return callsUntil(drainDeadline(this.events, this.settings, this.holds));
  }

  /**
   * A step failed for good (a permanent error, or retries until the deadline): the action is completed
   * as LIFECYCLE_RESULT_ON_FAILURE says, the failure recorded, and the workflow fails when it closes.
   */
  private async fail(error: unknown, notifier: Notifier, place: DrainPlace | undefined): Promise<void> {
    const { state } = this;
    const phase = state.status.phase;
    state.status.lastError = errorMessage(error);
    const type = failureType(error);
    state.failure = {
      type: permanentFailureTypes.some((t) => t === type) ? type : 'TerminationFailed',
      message: `terminating ${state.status.instanceId} failed in phase ${phase}: ${state.status.lastError}`,
    };
    state.decide(`failed in phase ${phase}: ${state.status.lastError}`);
    try {
      // A completion that failed for good is not tried again with another result.
      if (phase === 'CompletingLifecycleAction') this.holds.leave('completing it failed');
      // Whose instance it is is not known: it may be another cluster's, whose action is not ours to end.
      else if (!this.identified && this.settings.clusterName) this.holds.leave('the instance could not be identified');
      else await this.completeOnFailure();
    } catch (completionError) {
      if (isCancellation(completionError)) throw completionError;
      state.decide(`could not complete the lifecycle action either: ${errorMessage(completionError)}`);
      this.holds.leave('completing it failed');
    }
    this.setPhase('Failed');
    await this.holds.cover(() => notifier.webhook(place?.node, place?.instanceType, true));
  }

  private async completeOnFailure(): Promise<void> {
    const result = this.settings.lifecycleResultOnFailure;
    if (this.holds.open().length === 0) return;
    // The operator's stop promised to leave the action alone; a failure after it keeps that promise.
    if (this.controls.stop) this.holds.leave('handling was stopped by an operator');
    else if (result !== 'NONE') await this.completeLifecycle(result);
    else this.holds.leave('LIFECYCLE_RESULT_ON_FAILURE=NONE');
  }

  private stopped(): void {
    this.setPhase('Stopped');
    this.state.decide(
      `stopped by an operator${this.controls.stop?.reason ? `: ${this.controls.stop.reason}` : ''}; the lifecycle action is left as it is`,
    );
  }

  private async completeLifecycle(result: LifecycleResult): Promise<void> {
    this.setPhase('CompletingLifecycleAction');
    if (this.settings.dryRun) {
      for (const target of this.holds.open()) {
        this.state.decide(
          `would complete lifecycle action of ${target.instanceId} (${target.lifecycleHookName}) with ${result}`,
        );
      }
      return;
    }
    await this.holds.complete(result);
  }

  /** Runs a step that changes AWS or Kubernetes, or, in dry run, records each thing it would have done. */
  private async act<T>(decision: string | string[], step: () => Promise<T>): Promise<T | undefined> {
    const decisions = typeof decision === 'string' ? [decision] : decision;
    if (this.settings.dryRun) {
      for (const each of decisions) this.state.decide(`would ${each}`);
      return undefined;
    }
    this.state.decide(decisions.join(', '));
    return step();
  }

  /** The group of the first lifecycle action held, as its own upsert (how histories before the patch set it). */
  private groupAttribute(): SearchAttributeUpdatePair[][] {
    const first = this.holds.open()[0];
    return first ? [[{ key: searchAttributes.autoScalingGroupName, value: first.autoScalingGroupName }]] : [];
  }

  private setPhase(phase: TerminationPhase): void {
    this.state.setPhase(phase);
    setSearchAttributes([{ key: searchAttributes.terminationPhase, value: phase }]);
    setCurrentDetails(this.summary());
  }

  private summary(): string {
    const { status } = this.state;
    return [
      `**${status.phase}** ${status.instanceId}${status.nodeName ? ` (node ${status.nodeName})` : ''}`,
      `kinds: ${status.kinds.join(', ')}; drain attempts: ${status.attempt}; heartbeats: ${status.heartbeatsSent}; run ${status.run}`,
      status.lastError ? `last error: ${status.lastError}` : '',
    ]
      .filter(Boolean)
      .join('\n\n');
  }
}
