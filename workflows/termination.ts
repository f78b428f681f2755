import {
  allHandlersFinished,
  condition,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { heartbeatRecordedSignal, interruptionSignal, statusQuery, type WorkflowInput } from '../common/names.js';
import { searchAttributes } from '../common/search-attributes.js';
import type { TerminationStatus } from '../common/status.js';
import { OperatorControls } from './operator-controls.js';
import { Runbook } from './runbook.js';
import { TerminationState } from './termination-state.js';

const { runbookSettings } = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds' });

/**
 * The termination of one instance (workflow id `termination-<instance id>`). Events arrive as
 * `interruption` signals (signal-with-start), deduplicated by event id; each new batch runs the
 * runbook: resolve the node, taint and cordon, drain with the lifecycle heartbeat in scope, complete
 * the lifecycle action. After a run the workflow stays open for DUPLICATE_WINDOW so redelivered
 * messages find it and are ignored, then returns its final status.
 */
export async function terminationWorkflow(input: WorkflowInput): Promise<TerminationStatus> {
  const state = new TerminationState(input.instanceId);
  setHandler(interruptionSignal, (event) => {
    state.receive(event);
  });
  setHandler(heartbeatRecordedSignal, (progress) => state.holds.recordHeartbeat(progress));
  setHandler(statusQuery, () => state.status);
  const controls = new OperatorControls(state);
  upsertSearchAttributes([{ key: searchAttributes.instanceId, value: input.instanceId }]);

  const settings = await runbookSettings();
  state.status.dryRun = settings.dryRun;
  state.holds.configure(settings);
  const runbook = new Runbook(state, settings, controls);
  let ranOnce = false;
  for (;;) {
    const waiting = () => state.hasPending() || controls.stop !== undefined;
    const arrived = ranOnce
      ? await condition(waiting, settings.duplicateWindowSeconds * 1000)
      : (await condition(waiting), true);
    if (!arrived || controls.stop) break;
    await runbook.run(state.takePending());
    ranOnce = true;
    if (state.status.phase === 'Stopped') break;
  }
  if (controls.stop && state.status.phase !== 'Stopped') {
    state.setPhase('Stopped');
    state.decide('stopped by an operator before the runbook ran');
    upsertSearchAttributes([{ key: searchAttributes.terminationPhase, value: 'Stopped' }]);
  }
  await condition(allHandlersFinished);
  return state.status;
}
