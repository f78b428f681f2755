import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { NodeReadiness } from '../activities/node-readiness.js';
import { launchesIntoWarmPool, type LifecycleEvent } from '../common/events.js';
import { activityHeartbeatTimeoutSeconds, type LifecycleTarget } from '../common/lifecycle.js';
import { interruptionSignal, launchStatusQuery, stopHandlingUpdate, type WorkflowInput } from '../common/names.js';
import { searchAttributes } from '../common/search-attributes.js';
import type { LaunchStatus } from '../common/status.js';
import { calls, completion, readRunbookSettings } from './activities.js';
import { ownership } from '../common/cluster.js';
import { warmPoolChangesAnnotation } from './event-policy.js';
import { errorMessage } from './failures.js';
import { noteOwnership } from './identify.js';
import { setSearchAttributes } from './search-attribute-updates.js';

/** A hook we know nothing of gets AWS's default HeartbeatTimeout. */
const defaultHookTimeoutSeconds = 3600;

/** Stop waiting this long before the hook would expire, so the completion lands in time. */
const marginSeconds = (timeout: number) => Math.max(15, Math.ceil(timeout * 0.1));

/** The wait answers by its deadline; this is room for the answer to arrive, well within the margin. */
const answerSeconds = 10;

/**
 * The launch of one instance held by a LAUNCHING hook (workflow id `launch-<instance id>`): waits,
 * durably, until the instance's node has joined the cluster, is Ready and carries none of
 * LAUNCH_READINESS_TAINTS, then completes the lifecycle action with CONTINUE. When it is not ready
 * shortly before the hook would expire, it completes with the hook's DefaultResult (ABANDON when the
 * hook cannot be read: Auto Scaling replaces the instance) and fails naming what was missing. When it
 * cannot tell (the API refuses its requests), it fails and leaves the action to the hook's DefaultResult.
 * A launch into the warm pool completes at once: the instance is stopped there, no node joins. One
 * from the warm pool into the group takes back what the scale-in into the pool did to its node.
 */
export async function launchLifecycleWorkflow(input: WorkflowInput): Promise<LaunchStatus> {
  const status: LaunchStatus = {
    instanceId: input.instanceId,
    phase: 'WaitingForNode',
    nodeName: undefined,
    lifecycle: undefined,
    deadline: undefined,
    result: undefined,
    decisions: [],
  };
  let launch: LifecycleEvent | undefined;
  let stopped = false;
  setHandler(interruptionSignal, (event) => {
    if (event.kind === 'asg-launch' && launch === undefined) launch = event;
  });
  setHandler(launchStatusQuery, () => status);
  setHandler(stopHandlingUpdate, () => {
    stopped = true;
    return `stopped waiting for the node of ${input.instanceId}`;
  });
  setSearchAttributes([{ key: searchAttributes.instanceId, value: input.instanceId }]);

  const settings = await readRunbookSettings(calls);
  await condition(() => launch !== undefined || stopped);
  if (!launch) return { ...status, phase: 'Stopped' };
  const target: LifecycleTarget = {
    autoScalingGroupName: launch.autoScalingGroupName,
    lifecycleHookName: launch.lifecycleHookName,
    instanceId: launch.instanceId,
    lifecycleActionToken: launch.lifecycleActionToken,
  };
  status.lifecycle = { ...target };
  setSearchAttributes([
    { key: searchAttributes.autoScalingGroupName, value: target.autoScalingGroupName },
    { key: searchAttributes.interruptionKind, value: 'asg-launch' },
    { key: searchAttributes.terminationPhase, value: status.phase },
  ]);
  if (settings.clusterName) {
    // Another cluster's launch is that cluster's to complete: CONTINUE or ABANDON from here would decide it.
    let tags: Record<string, string> = {};
    try {
      tags = (await calls.describeInstance(input.instanceId))?.tags ?? {};
    } catch (error) {
      if (isCancellation(error)) throw error;
      // Not knowing whose launch it is must not cost the instance: the wait goes on as without a cluster.
      status.decisions.push(`could not read the tags of ${input.instanceId} (${errorMessage(error)}): taken as ours`);
    }
    const owner = ownership(tags, settings.clusterName, settings.clusterTagKey);
    if (owner.owner === 'other-cluster') {
      status.phase = 'OtherCluster';
      status.decisions.push(
        `instance ${input.instanceId} belongs to cluster ${owner.cluster} (tag ${owner.tag}), not ${settings.clusterName}: its launch is left to it`,
      );
      setSearchAttributes([{ key: searchAttributes.terminationPhase, value: status.phase }]);
      await noteOwnership({
        instanceId: input.instanceId,
        owner: owner.owner,
        cluster: owner.cluster,
        clusterName: settings.clusterName,
      });
      return status;
    }
  }
  // Launches that began before warm pools were told apart go on as they began.
  if (launchesIntoWarmPool(launch) && patched('launch-into-warm-pool')) {
    status.decisions.push(
      `launch of ${input.instanceId} into the warm pool (${launch.origin ?? 'EC2'} -> WarmPool): no node joins while it is warmed; completing with CONTINUE`,
    );
    return complete(status, target, 'CONTINUE', settings.dryRun);
  }
  const hook = await calls.describeLifecycleHook(target);
  const timeout = hook?.heartbeatTimeoutSeconds ?? defaultHookTimeoutSeconds;
  const deadline = (Date.parse(launch.time) || Date.now()) + (timeout - marginSeconds(timeout)) * 1000;
  status.deadline = new Date(deadline).toISOString();

  // The wait retries its own failed looks and keeps its place in its heartbeat details, so Temporal
  // retries it only when its worker is lost, and never past the deadline.
  const waitSeconds = `${Math.max(0, Math.ceil((deadline - Date.now()) / 1000)) + answerSeconds} seconds`;
  const waitActivity = proxyActivities<Activities>({
    startToCloseTimeout: waitSeconds,
    scheduleToCloseTimeout: waitSeconds,
    heartbeatTimeout: `${activityHeartbeatTimeoutSeconds} seconds`,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  }).waitForNodeReady;
  // In its own scope, so an operator's stop cancels the wait instead of leaving it to run out.
  const scope = new CancellationScope();
  const waiting = scope.run(() =>
    waitActivity({
      instanceId: input.instanceId,
      useProviderId: settings.useProviderId,
      deadlineEpochMs: deadline,
      readinessTaints: settings.launchReadinessTaints ?? [],
    }),
  );
  let seen: NodeReadiness | undefined | null;
  let waitError: unknown;
  try {
    seen = await Promise.race([waiting, condition(() => stopped).then(() => undefined)]);
  } catch (error) {
    if (isCancellation(error)) throw error;
    seen = null;
    waitError = error;
    // Out of time (a lost worker, a last look that ran long): the node was not seen Ready by the
    // deadline, which is the ABANDON case, not a question left to the hook's DefaultResult.
    if (error instanceof ActivityFailure && error.retryState === 'TIMEOUT') {
      status.decisions.push(`the wait for the node ran out of time (${errorMessage(error)})`);
      seen = { nodeName: undefined, ready: false };
    }
  }
  if (seen === null) {
    const error = waitError;
    status.phase = 'Failed';
    status.decisions.push(
      `could not tell whether the node of ${input.instanceId} is Ready (${errorMessage(error)}): the lifecycle action is left to the hook's DefaultResult`,
    );
    setSearchAttributes([{ key: searchAttributes.terminationPhase, value: status.phase }]);
    throw ApplicationFailure.create({
      type: 'NodeReadinessUnknown',
      nonRetryable: true,
      message: `waiting for the node of ${input.instanceId}: ${errorMessage(error)}`,
    });
  }
  if (seen === undefined) {
    scope.cancel();
    await waiting.catch(() => undefined);
    status.phase = 'Stopped';
    status.decisions.push('stopped by an operator; the lifecycle action is left as it is');
    return status;
  }
  status.nodeName = seen.nodeName;
  if (seen.ready) {
    status.decisions.push(
      `node ${seen.nodeName} is Ready and carries none of the startup taints: completing with CONTINUE`,
    );
    if (launch.origin === 'WarmPool' && seen.nodeName !== undefined && patched('restore-from-warm-pool'))
      await restoreFromWarmPool(status, seen.nodeName, settings.dryRun);
    return complete(status, target, 'CONTINUE', settings.dryRun);
  }
  const result = hook?.defaultResult ?? 'ABANDON';
  const missing =
    seen.nodeName === undefined
      ? 'no node joined'
      : seen.nodeReady === false
        ? `node ${seen.nodeName} is not Ready`
        : `node ${seen.nodeName} still carries ${(seen.blockingTaints ?? []).join(', ') || 'a startup taint'} (LAUNCH_READINESS_TAINTS)`;
  status.decisions.push(
    `${missing} ${marginSeconds(timeout)} s before the hook expires: completing with ${result}, the hook's ${hook?.defaultResult ? 'DefaultResult' : 'result when it cannot be read'}`,
  );
  await complete(status, target, result, settings.dryRun, 'GaveUp');
  throw ApplicationFailure.create({
    type: 'NodeNotReady',
    nonRetryable: true,
    message: `the node of ${input.instanceId} did not become Ready within the launch hook's ${timeout} s (${missing}); the lifecycle action was completed with ${result}`,
  });
}

/** Completes the launch's action (or, in dry run, says it would) and ends in `phase`. */
async function complete(
  status: LaunchStatus,
  target: LifecycleTarget,
  result: 'CONTINUE' | 'ABANDON',
  dryRun: boolean,
  phase: 'Done' | 'GaveUp' = 'Done',
): Promise<LaunchStatus> {
  status.phase = 'CompletingLifecycleAction';
  if (dryRun) status.decisions.push(`dry run: would complete the lifecycle action with ${result}`);
  else {
    const { outcome } = await completion(target, result);
    status.result = outcome === 'not-active' ? 'not-active' : result;
  }
  status.phase = phase;
  setSearchAttributes([{ key: searchAttributes.terminationPhase, value: status.phase }]);
  return status;
}

/**
 * The instance comes back from the warm pool: its node keeps the cordon and taints of the scale-in
 * that put it there. What that scale-in added (recorded on the node) is taken back, and only that.
 */
async function restoreFromWarmPool(status: LaunchStatus, nodeName: string, dryRun: boolean): Promise<void> {
  if (dryRun) {
    status.decisions.push(`dry run: would take back what the scale-in into the warm pool added to ${nodeName}`);
    return;
  }
  try {
    const restored = await calls.restoreNode({ nodeName, recordedAs: warmPoolChangesAnnotation });
    status.decisions.push(
      restored
        ? `back from the warm pool: ${
            [
              ...(restored.cordoned ? [`uncordoned ${nodeName}`] : []),
              ...restored.taints.map((t) => `removed taint ${t.key}:${t.effect}`),
              ...restored.labels.map((l) => `removed label ${l}`),
            ].join(', ') || 'nothing was left to take back'
          }`
        : `back from the warm pool: ${nodeName} records no changes of a scale-in into the pool`,
    );
  } catch (error) {
    if (isCancellation(error)) throw error;
    // The node is Ready: a cordon left on it costs capacity, not the launch.
    status.decisions.push(
      `could not take back the warm pool scale-in's changes to ${nodeName}: ${errorMessage(error)}`,
    );
  }
}
