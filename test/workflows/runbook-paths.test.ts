import assert from 'node:assert/strict';
import { runTermination, useStack } from './harness.js';

describe('termination workflow: when there is nothing to drain', function () {
  this.timeout(60_000);
  const stack = useStack();

  it('finishes without a drain when the node is not found, leaving the lifecycle action to Auto Scaling', async () => {
    const { rec, status } = await runTermination(stack, { nodeName: undefined });
    assert.equal(status.phase, 'NodeNotFound');
    assert.equal(rec.prepared + rec.drains.length + rec.completions.length, 0);
    assert.match(status.decisions.join('\n'), /DELETE_SQS_MSG_IF_NODE_NOT_FOUND=false/);
  });

  it('completes the lifecycle action when the node is not found and DELETE_SQS_MSG_IF_NODE_NOT_FOUND says so', async () => {
    const { rec, status } = await runTermination(stack, {
      nodeName: undefined,
      settings: { deleteSqsMsgIfNodeNotFound: true },
    });
    assert.equal(status.phase, 'NodeNotFound');
    assert.deepEqual(
      rec.completions.map((c) => c.result),
      ['CONTINUE'],
    );
    assert.equal(rec.drains.length, 0);
  });

  it('leaves an instance without the managed tag alone when CHECK_TAG_BEFORE_DRAINING', async () => {
    const { rec, status } = await runTermination(stack, { settings: { checkTagBeforeDraining: true } });
    assert.equal(status.phase, 'NotManaged');
    assert.equal(rec.prepared + rec.drains.length + rec.completions.length, 0);
    assert.equal(rec.heartbeatsRunning, 0, 'the hold of the resolving phase ended with it');
    assert.equal(status.lifecycle?.result, 'left-to-expire');
  });

  it('waits COMPLETE_LIFECYCLE_ACTION_DELAY_SECONDS after the drain before completing', async () => {
    const { rec, status } = await runTermination(stack, { settings: { completeLifecycleActionDelaySeconds: 2 } });
    assert.equal(status.phase, 'Done');
    const drainEnd = rec.drains.at(-1)!.end!;
    assert.ok(
      rec.completions[0]!.at - drainEnd >= 2_000,
      `completed ${rec.completions[0]!.at - drainEnd} ms after the drain`,
    );
  });

  it('puts the out-of-service taint on only once the drain succeeded, never before it', async () => {
    const { rec, status } = await runTermination(stack, {
      drainFailures: 1,
      settings: { enableOutOfServiceTaint: true },
    });
    assert.equal(status.phase, 'Done');
    const outOfService = 'node.kubernetes.io/out-of-service';
    assert.ok(!rec.preparations[0]!.taints.includes(outOfService), 'tainted out-of-service before the drain');
    const tainted = rec.preparations.filter((p) => p.taints.includes(outOfService));
    assert.equal(tainted.length, 1);
    assert.ok(tainted[0]!.at >= rec.drains.at(-1)!.end!, 'tainted out-of-service while the drain ran');
    assert.ok(tainted[0]!.at <= rec.completions[0]!.at);
  });

  it('never puts the out-of-service taint on with CORDON_ONLY, nor after a drain it gave up on', async () => {
    for (const behaviour of [
      { settings: { enableOutOfServiceTaint: true, cordonOnly: true } },
      { drainFailures: 5, settings: { enableOutOfServiceTaint: true, drainMaxAttempts: 2 } },
    ]) {
      const { rec } = await runTermination(stack, behaviour);
      assert.deepEqual(
        rec.preparations.flatMap((p) => p.taints).filter((t) => t === 'node.kubernetes.io/out-of-service'),
        [],
        JSON.stringify(behaviour),
      );
    }
  });
});
