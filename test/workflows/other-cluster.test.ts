import assert from 'node:assert/strict';
import { runTermination, useStack } from './harness.js';

const clusterA = { clusterName: 'prod-a' };

describe("termination workflow: another cluster's instance is left alone", function () {
  this.timeout(60_000);
  const stack = useStack();

  it('changes nothing and completes nothing for an instance whose tags name another cluster, and counts it', async () => {
    const { rec, status, error } = await runTermination(stack, {
      settings: { ...clusterA, deleteSqsMsgIfNodeNotFound: true },
      instanceTags: { 'aws:eks:cluster-name': 'prod-b' },
    });
    assert.equal(error, undefined);
    assert.equal(status.phase, 'OtherCluster');
    assert.equal(rec.prepared + rec.drains.length + rec.completions.length, 0);
    assert.equal(rec.heartbeats.length, 0, 'a heartbeat loop ran for an instance of another cluster');
    assert.equal(status.lifecycle?.result, 'left-to-expire');
    assert.deepEqual(rec.ownershipNotes, [
      { instanceId: status.instanceId, owner: 'other-cluster', cluster: 'prod-b', clusterName: 'prod-a' },
    ]);
    assert.match(status.decisions.join('\n'), /belongs to cluster prod-b \(tag aws:eks:cluster-name\), not prod-a/);
  });

  it('holds the action while EC2 is slow to say whose the instance is, and still completes nothing of another cluster', async () => {
    const { rec, status } = await runTermination(stack, {
      settings: clusterA,
      instanceTags: { 'kubernetes.io/cluster/prod-b': 'owned' },
      describeMs: 12_000,
    });
    assert.equal(status.phase, 'OtherCluster');
    assert.ok(rec.heartbeats.length >= 1, 'the action was not held while the instance was described');
    assert.equal(rec.heartbeatsRunning, 0, 'the hold outlived the lookup');
    assert.equal(rec.prepared + rec.drains.length + rec.completions.length, 0);
  });

  it('completes nothing when it cannot tell whose the instance is (EC2 refuses to describe it)', async () => {
    const { rec, status, error } = await runTermination(stack, {
      settings: { ...clusterA, lifecycleResultOnFailure: 'ABANDON' },
      describeRefused: 'AwsRequestRefused',
    });
    assert.ok(error, "the failure is the workflow's");
    assert.equal(status.phase, 'Failed');
    assert.equal(rec.completions.length, 0, "an action that may be another cluster's was completed");
    assert.equal(status.lifecycle?.result, 'left-to-expire');
  });

  it("drains its own cluster's instance, and one no tag assigns to a cluster", async () => {
    const runs = await Promise.all([
      runTermination(stack, { settings: clusterA, instanceTags: { 'kubernetes.io/cluster/prod-a': 'owned' } }),
      runTermination(stack, { settings: clusterA }),
    ]);
    for (const { rec, status } of runs) {
      assert.equal(status.phase, 'Done');
      assert.equal(rec.drains.length, 1);
      assert.deepEqual(
        rec.completions.map((c) => c.result),
        ['CONTINUE'],
      );
    }
    assert.match(runs[0].status.decisions.join('\n'), /is of cluster prod-a \(tag kubernetes\.io\/cluster\/prod-a\)/);
  });
});
