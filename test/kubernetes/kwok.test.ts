// kwok stands in for the kubelets: these tests prove the fake nodes behave as a drain expects real
// ones to (dev/k8s/kwok.yaml): Ready with a live lease, pods Running, deleted pods gone after their grace.
import assert from 'node:assert/strict';
import { KubeFixture, until } from '../helpers/kube.js';

describe('kwok nodes', function () {
  let kube: KubeFixture;

  beforeEach(async function () {
    kube = new KubeFixture();
    await kube.ensureNamespace();
  });

  afterEach(async function () {
    await kube.cleanup();
  });

  it('makes an annotated node Ready and keeps its lease', async function () {
    const name = (await kube.node()).metadata!.name!;
    await kube.nodeReady(name);
    const lease = await until(`${name} has a node lease`, async () => {
      const found = await kube.kube.coordination.readNamespacedLease({ name, namespace: 'kube-node-lease' });
      return found.spec?.renewTime !== undefined && found;
    });
    // A lease renewed within its duration is what marks a node's kubelet alive.
    const age = Date.now() - new Date(lease.spec!.renewTime!).getTime();
    assert.ok(age < lease.spec!.leaseDurationSeconds! * 1000, `lease renewed ${age} ms ago`);
  });

  it('leaves a node without the annotation alone', async function () {
    const plain = (await kube.node({ kwok: false })).metadata!.name!;
    const managed = (await kube.node()).metadata!.name!;
    // kwok handles nodes in the order it sees them: once the later node is Ready, the earlier was judged.
    await kube.nodeReady(managed);
    const node = await kube.kube.core.readNode({ name: plain });
    assert.equal(node.status?.conditions, undefined);
  });

  it('runs the pods bound to its nodes', async function () {
    const node = (await kube.node()).metadata!.name!;
    const pods = await Promise.all([
      kube.barePod(node),
      kube.replicaSetPod(node),
      kube.daemonSetPod(node),
      kube.emptyDirPod(node),
      kube.mirrorPod(node),
    ]);
    for (const pod of pods) {
      const running = await kube.podRunning(pod.metadata!.name!);
      assert.ok(running.status?.podIP, `${pod.metadata!.name} has a pod IP`);
      assert.equal(running.status?.containerStatuses?.[0]?.ready, true);
    }
  });

  it('removes an evicted pod once its grace period has passed, and not before', async function () {
    const graceSeconds = 3;
    const node = (await kube.node()).metadata!.name!;
    const name = (await kube.barePod(node, { gracePeriodSeconds: graceSeconds })).metadata!.name!;
    await kube.podRunning(name);

    const evictedAt = Date.now();
    await kube.kube.core.createNamespacedPodEviction({
      name,
      namespace: kube.namespace,
      body: { metadata: { name, namespace: kube.namespace } },
    });
    const terminating = await kube.kube.core.readNamespacedPod({ name, namespace: kube.namespace });
    assert.ok(terminating.metadata?.deletionTimestamp, 'the eviction started a graceful deletion');

    await kube.podGone(name, (graceSeconds + 10) * 1000);
    // deletionTimestamp has whole seconds, so the deadline can come up to a second early.
    const elapsed = Date.now() - evictedAt;
    assert.ok(elapsed >= (graceSeconds - 1) * 1000, `gone after ${elapsed} ms, before its ${graceSeconds} s grace`);
  });
});
