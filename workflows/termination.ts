import { ApplicationFailure, allHandlersFinished, condition, continueAsNew, setHandler } from '@temporalio/workflow';
import {
  drainPlaceGrantedSignal,
  heartbeatRecordedSignal,
  interruptionSignal,
  statusQuery,
  type WorkflowInput,
} from '../common/names.js';
import { searchAttributes } from '../common/search-attributes.js';
import type { RunbookSettings } from '../common/settings.js';
import type { TerminationStatus } from '../common/status.js';
import { readRunbookSettings } from './activities.js';
import { OperatorControls, type CarriedControls } from './operator-controls.js';
import type { DrainPlace } from './drain-attempts.js';
import { DrainTurn } from './drain-turn.js';
import { setSearchAttributes } from './search-attribute-updates.js';
import { settleStartPatches } from './patches.js';
import { Runbook } from './runbook.js';
import { TerminationState, type CarriedState } from './termination-state.js';

/** What a run hands to the next when the termination continues as new. */
export interface CarriedRun {
  settings: RunbookSettings;
  state: CarriedState;
  controls: CarriedControls;
  place: DrainPlace;
}

export interface TerminationInput extends WorkflowInput {
  /** Set by continue-as-new only: the previous run's state and where its drain stood. */
  carried?: CarriedRun;
}

/**
 * The termination of one instance (workflow id `termination-<instance id>`). Events arrive as
 * `interruption` signals (signal-with-start), deduplicated by event id; each new batch runs the
 * runbook: resolve the node, taint and cordon, drain with the lifecycle heartbeat in scope, complete
 * the lifecycle action. However a run ends (done, failed, no node, not managed), the workflow stays
 * open for DUPLICATE_WINDOW so redelivered messages find it and are ignored, then returns its final
 * status, or fails with the reason when the last run failed. A long drain continues as new between
 * attempts, carrying everything it knows; the chain keeps the workflow id.
 */
export async function terminationWorkflow(input: TerminationInput): Promise<TerminationStatus> {
  const { carried } = input;
  const state = new TerminationState(input.instanceId, carried?.state);
  setHandler(interruptionSignal, (event) => {
    state.receive(event);
  });
  setHandler(heartbeatRecordedSignal, (progress) => state.holds.recordHeartbeat(progress));
  setHandler(statusQuery, () => state.status);
  const controls = new OperatorControls(state, carried?.controls);
  setSearchAttributes([{ key: searchAttributes.instanceId, value: input.instanceId }]);
  settleStartPatches();

  const turn = new DrainTurn(state);
  setHandler(drainPlaceGrantedSignal, (grant) => turn.granted(grant));
  const settings = carried?.settings ?? (await readRunbookSettings());
  state.status.dryRun = settings.dryRun;
  state.holds.configure(settings);
  const handOver = async (place: DrainPlace): Promise<never> => {
    // Updates that arrived first finish in this run; signals that arrive meanwhile make the server
    // refuse the hand-over and run this code again with them taken in, so none is lost.
    await condition(allHandlersFinished);
    state.decide(`continuing as new after ${state.status.attempt} drain attempt(s) to keep the history short`);
    return continueAsNew<typeof terminationWorkflow>({
      instanceId: input.instanceId,
      carried: { settings, state: state.carry(), controls: controls.carry(), place },
    });
  };
  turn.configure(settings);
  const runbook = new Runbook(state, settings, controls, handOver, turn);
  let ranOnce = false;
  if (carried) {
    await runbook.resume(carried.place);
    ranOnce = true;
  }
  while (state.status.phase !== 'Stopped') {
    const waiting = () => state.hasPending() || controls.stop !== undefined;
    const arrived = ranOnce
      ? await condition(waiting, settings.duplicateWindowSeconds * 1000)
      : (await condition(waiting), true);
    if (!arrived || controls.stop) break;
    await runbook.run(state.takePending());
    ranOnce = true;
  }
  if (controls.stop && state.status.phase !== 'Stopped') {
    if (ranOnce) {
      state.decide(
        `a stop requested in phase ${controls.stoppedInPhase} came after the runbook had passed the point where it can stop; it ended as ${state.status.phase}`,
      );
    } else {
      state.setPhase('Stopped');
      state.decide('stopped by an operator before the runbook ran');
      setSearchAttributes([{ key: searchAttributes.terminationPhase, value: 'Stopped' }]);
    }
  }
  await condition(allHandlersFinished);
  if (state.failure && state.status.phase === 'Failed') {
    throw ApplicationFailure.create({ type: state.failure.type, nonRetryable: true, message: state.failure.message });
  }
  return state.status;
}
