// Follows the demo's termination and prints each step as it happens: the runbook's phases (from the
// workflow's status query), the cordon and each eviction (as the API server shows them), each
// lifecycle heartbeat and the completion of the lifecycle action.
import { setTimeout as sleep } from 'node:timers/promises';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { WorkflowHandle } from '@temporalio/client';
import { statusQuery } from '../../common/names.js';
import { finishedPhases, type TerminationPhase, type TerminationStatus } from '../../common/status.js';

/** Often enough to see a drain's steps of a few seconds each one by one. */
const pollMs = 500;

export interface FollowOptions {
  core: CoreV1Api;
  nodeName: string;
  /** The namespace of the demo's pods. */
  namespace: string;
  timeoutMs: number;
  log: (message: string) => void;
}

/**
 * Where a new phase is printed among what one look saw: before the cordon, between the cordon and the
 * evictions, or after the lifecycle action's completion.
 */
const phaseStep = (phase: TerminationPhase): 'before-cordon' | 'drain' | 'after-completion' =>
  ['Received', 'ResolvingNode', 'Cordoning'].includes(phase)
    ? 'before-cordon'
    : ['Draining', 'WaitingToRetry', 'CompletingLifecycleAction'].includes(phase)
      ? 'drain'
      : 'after-completion';

function describePhase(status: TerminationStatus, node: string): string {
  switch (status.phase) {
    case 'Received':
      return 'the scale-in reached the workflow';
    case 'ResolvingNode':
      return `finding the node of ${status.instanceId}`;
    case 'Cordoning':
      return `cordoning node ${node}`;
    case 'Draining':
      return `draining node ${node}, attempt ${status.attempt}: evicting its pods as their budget allows`;
    case 'WaitingToRetry':
      return `drain attempt ${status.attempt} failed (${status.lastError ?? 'no reason given'}): retrying`;
    case 'CompletingLifecycleAction':
      return `node ${node} drained: completing the lifecycle action`;
    case 'Notifying':
      return 'sending the notifications';
    case 'Done':
      return 'the runbook has finished';
    default:
      return status.lastError ?? '';
  }
}

/** Polls the workflow until its runbook has finished, printing what changed at each look. */
export async function follow(handle: WorkflowHandle, options: FollowOptions): Promise<TerminationStatus> {
  const { core, nodeName, namespace, log } = options;
  const deadline = Date.now() + options.timeoutMs;
  let phase: TerminationPhase | undefined;
  let cordoned = false;
  const evicted = new Set<string>();
  let heartbeats = 0;
  let result: string | undefined;
  let lastError = '';
  for (;;) {
    try {
      const status = await handle.query(statusQuery);
      const newPhase = status.phase !== phase ? phaseStep(status.phase) : undefined;
      const what = describePhase(status, nodeName);
      const phaseLine = `phase ${status.phase}${what ? `: ${what}` : ''}`;
      if (newPhase === 'before-cordon') log(phaseLine);
      if (!cordoned && (await core.readNode({ name: nodeName })).spec?.unschedulable) {
        cordoned = true;
        log(`cordoned node ${nodeName}: no new pod is scheduled there`);
      }
      if (newPhase === 'drain') log(phaseLine);
      phase = status.phase;
      const pods = await core.listNamespacedPod({ namespace, fieldSelector: `spec.nodeName=${nodeName}` });
      for (const pod of pods.items) {
        const name = `${namespace}/${pod.metadata!.name!}`;
        if (!pod.metadata?.deletionTimestamp || evicted.has(name)) continue;
        evicted.add(name);
        log(`evicted ${name}: it terminates within ${pod.metadata.deletionGracePeriodSeconds ?? '?'} s`);
      }
      for (; heartbeats < status.heartbeatsSent; heartbeats++)
        log(`lifecycle heartbeat ${heartbeats + 1} sent: Auto Scaling keeps holding the instance`);
      const ended = status.lifecycle?.result;
      if (ended && ended !== result) {
        result = ended;
        log(
          ended === 'CONTINUE' || ended === 'ABANDON'
            ? `lifecycle action completed with ${ended}: Auto Scaling terminates the instance`
            : `lifecycle action ${ended}`,
        );
      }
      if (newPhase === 'after-completion') log(phaseLine);
      if (finishedPhases.includes(status.phase)) return status;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      const cause = lastError ? ` (last error: ${lastError})` : '';
      throw new Error(`timed out after ${options.timeoutMs / 1000} s following ${handle.workflowId}${cause}`);
    }
    await sleep(pollMs);
  }
}
