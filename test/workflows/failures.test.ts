import assert from 'node:assert/strict';
import { ActivityFailure, ApplicationFailure, TimeoutFailure, type ProtoFailure } from '@temporalio/common';
import { wasInterrupted } from '../../workflows/failures.js';

const activityFailure = (retryState: ActivityFailure['retryState'], cause: Error) =>
  new ActivityFailure('activity failed', 'drainNode', '1', retryState, 'worker', cause);
/** As the SDK decodes it: the schedule-to-close timeout, the last try's failure in its raw form only. */
function outOfTime(last?: ProtoFailure): TimeoutFailure {
  const failure = new TimeoutFailure('Not enough time to schedule next retry', undefined, 'SCHEDULE_TO_CLOSE');
  failure.failure = { message: failure.message, timeoutFailureInfo: { timeoutType: 3 }, cause: last };
  return failure;
}

const heartbeatTimeout: ProtoFailure = {
  message: 'activity Heartbeat timeout',
  timeoutFailureInfo: { timeoutType: 4 },
};
const applicationFailure = (type: string, message: string): ProtoFailure => ({
  message,
  applicationFailureInfo: { type },
});

describe('drain attempts: interrupted or failed', () => {
  it('calls an attempt interrupted when its retries ran out of time after a lost worker, a shutdown or an unreachable API', () => {
    for (const last of [
      heartbeatTimeout,
      applicationFailure('WorkerShutdown', 'Worker is shutting down and this activity did not complete in time'),
      applicationFailure('KubernetesUnreachable', 'listing the pods of node n: connect ECONNREFUSED'),
    ]) {
      assert.equal(wasInterrupted(activityFailure('TIMEOUT', outOfTime(last))), true, String(last.message));
    }
    const unreachable = ApplicationFailure.retryable(
      'listing the pods of node n: fetch failed',
      'KubernetesUnreachable',
    );
    assert.equal(wasInterrupted(activityFailure('TIMEOUT', unreachable)), true, 'the last try failed, no retry fits');
    const lostWorker = new TimeoutFailure('activity Heartbeat timeout', undefined, 'HEARTBEAT');
    assert.equal(wasInterrupted(activityFailure('TIMEOUT', lostWorker)), true, 'a last try that timed out');
    assert.equal(wasInterrupted(activityFailure('TIMEOUT', outOfTime())), true, 'cut off with no failure of its own');
  });

  it('counts an attempt whose every try failed the same way (a 500 that stays, a bug), and one that failed for good', () => {
    const stays = applicationFailure('Error', 'evicting pod p: HTTP 500: more than one PodDisruptionBudget');
    assert.equal(wasInterrupted(activityFailure('TIMEOUT', outOfTime(stays))), false);
    const staysToTheEnd = ApplicationFailure.retryable('evicting pod p: HTTP 500', 'Error');
    assert.equal(wasInterrupted(activityFailure('TIMEOUT', staysToTheEnd)), false);
    const timedOut = ApplicationFailure.nonRetryable('pods left', 'DrainTimeout');
    assert.equal(wasInterrupted(activityFailure('NON_RETRYABLE_FAILURE', timedOut)), false);
    const oldPolicy = new TimeoutFailure('activity Heartbeat timeout', undefined, 'HEARTBEAT');
    assert.equal(wasInterrupted(activityFailure('MAXIMUM_ATTEMPTS_REACHED', oldPolicy)), false);
  });
});
