import {
  ApplicationFailure,
  CancellationScope,
  condition,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { LifecycleEvent } from '../common/events.js';
import { activityHeartbeatTimeoutSeconds, type LifecycleTarget } from '../common/lifecycle.js';
import { interruptionSignal, launchStatusQuery, stopHandlingUpdate, type WorkflowInput } from '../common/names.js';
import { searchAttributes } from '../common/search-attributes.js';
import type { LaunchStatus } from '../common/status.js';
import { calls, completion } from './activities.js';

/** A hook we know nothing of gets AWS's default HeartbeatTimeout. */
const defaultHookTimeoutSeconds = 3600;

/** Stop waiting this long before the hook would expire, so the completion lands in time. */
const marginSeconds = (timeout: number) => Math.max(15, Math.ceil(timeout * 0.1));

/**
 * The launch of one instance held by a LAUNCHING hook (workflow id `launch-<instance id>`): waits,
 * durably, until the instance's node has joined the cluster and is Ready, then completes the
 * lifecycle action with CONTINUE. When the node is not Ready shortly before the hook would expire,
 * it completes with ABANDON (Auto Scaling replaces the instance) and fails with the reason.
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
  upsertSearchAttributes([{ key: searchAttributes.instanceId, value: input.instanceId }]);

  const settings = await calls.runbookSettings();
  await condition(() => launch !== undefined || stopped);
  if (!launch) return { ...status, phase: 'Stopped' };
  const target: LifecycleTarget = {
    autoScalingGroupName: launch.autoScalingGroupName,
    lifecycleHookName: launch.lifecycleHookName,
    instanceId: launch.instanceId,
    lifecycleActionToken: launch.lifecycleActionToken,
  };
  status.lifecycle = { ...target };
  upsertSearchAttributes([
    { key: searchAttributes.autoScalingGroupName, value: target.autoScalingGroupName },
    { key: searchAttributes.interruptionKind, value: 'asg-launch' },
    { key: searchAttributes.terminationPhase, value: status.phase },
  ]);
  const timeout = (await calls.describeLifecycleHook(target))?.heartbeatTimeoutSeconds ?? defaultHookTimeoutSeconds;
  const deadline = (Date.parse(launch.time) || Date.now()) + (timeout - marginSeconds(timeout)) * 1000;
  status.deadline = new Date(deadline).toISOString();

  const waitActivity = proxyActivities<Activities>({
    startToCloseTimeout: `${Math.max(timeout, 60) + 60} seconds`,
    heartbeatTimeout: `${activityHeartbeatTimeoutSeconds} seconds`,
    retry: { initialInterval: '1 second', maximumInterval: '10 seconds' },
  }).waitForNodeReady;
  // In its own scope, so an operator's stop cancels the wait instead of leaving it to run out.
  const scope = new CancellationScope();
  const waiting = scope.run(() =>
    waitActivity({ instanceId: input.instanceId, useProviderId: settings.useProviderId, deadlineEpochMs: deadline }),
  );
  const seen = await Promise.race([waiting, condition(() => stopped).then(() => undefined)]);
  if (seen === undefined) {
    scope.cancel();
    await waiting.catch(() => undefined);
    status.phase = 'Stopped';
    status.decisions.push('stopped by an operator; the lifecycle action is left as it is');
    return status;
  }
  status.nodeName = seen.nodeName;
  const result = seen.ready ? 'CONTINUE' : 'ABANDON';
  status.decisions.push(
    seen.ready
      ? `node ${seen.nodeName} is Ready: completing with CONTINUE`
      : `node ${seen.nodeName ?? '(not joined)'} not Ready ${marginSeconds(timeout)} s before the hook expires: completing with ABANDON`,
  );
  status.phase = 'CompletingLifecycleAction';
  if (settings.dryRun) status.decisions.push(`dry run: would complete the lifecycle action with ${result}`);
  else {
    const { outcome } = await completion(target, result);
    status.result = outcome === 'not-active' ? 'not-active' : result;
  }
  status.phase = seen.ready ? 'Done' : 'GaveUp';
  upsertSearchAttributes([{ key: searchAttributes.terminationPhase, value: status.phase }]);
  if (!seen.ready) {
    throw ApplicationFailure.create({
      type: 'NodeNotReady',
      nonRetryable: true,
      message: `the node of ${input.instanceId} did not become Ready within the launch hook's ${timeout} s; the lifecycle action was completed with ABANDON`,
    });
  }
  return status;
}
