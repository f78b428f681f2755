// The API behaviour the drain is built on, against the stack's real kube-apiserver: strategic-merge
// cordons, optimistic concurrency (the 409 that NTH's lost taints came from), and PDB-guarded evictions.
import assert from 'node:assert/strict';
import { hasCause } from '../../activities/kubernetes/client.js';
import { KubeFixture, expectStatus, mergePatch, strategicMerge } from '../helpers/kube.js';

describe('kubernetes API semantics', function () {
  let kube: KubeFixture;

  beforeEach(async function () {
    kube = new KubeFixture();
    await kube.ensureNamespace();
  });

  afterEach(async function () {
    await kube.cleanup();
  });

  it('cordons a node with a strategic-merge patch that sets spec.unschedulable', async function () {
    const node = await kube.node();
    const name = node.metadata!.name!;
    assert.notEqual(node.spec?.unschedulable, true);

    await kube.kube.core.patchNode({ name, body: { spec: { unschedulable: true } } }, strategicMerge());

    const cordoned = await kube.kube.core.readNode({ name });
    assert.equal(cordoned.spec?.unschedulable, true);
    assert.equal(cordoned.spec?.providerID, node.spec?.providerID, 'the patch left the rest of the spec alone');
  });

  it('rejects an update that carries a stale resourceVersion with 409 Conflict', async function () {
    // A node kwok leaves alone: its status writes would make even the first update stale.
    const node = await kube.node({ kwok: false });
    const name = node.metadata!.name!;
    const first = await kube.kube.core.readNode({ name });
    const second = await kube.kube.core.readNode({ name });

    first.metadata!.labels = { ...first.metadata!.labels, 'tnth.dev/writer': 'first' };
    await kube.kube.core.replaceNode({ name, body: first });

    second.metadata!.labels = { ...second.metadata!.labels, 'tnth.dev/writer': 'second' };
    assert.equal(await expectStatus(kube.kube.core.replaceNode({ name, body: second })), 409);
    // A patch that states the resourceVersion it was computed from is refused the same way.
    const stalePatch = { metadata: { resourceVersion: second.metadata!.resourceVersion, labels: { x: 'y' } } };
    assert.equal(await expectStatus(kube.kube.core.patchNode({ name, body: stalePatch }, mergePatch())), 409);

    const current = await kube.kube.core.readNode({ name });
    assert.equal(current.metadata?.labels?.['tnth.dev/writer'], 'first', 'the first writer kept its change');
  });

  it('refuses an eviction with 429 while a PodDisruptionBudget allows no disruption', async function () {
    const node = (await kube.node()).metadata!.name!;
    const pod = await kube.replicaSetPod(node, { gracePeriodSeconds: 1 });
    const name = pod.metadata!.name!;
    // The API server checks PDBs only for running pods: a Pending pod is evicted regardless.
    await kube.podRunning(name);
    const pdb = await kube.pdb(pod.metadata!.labels!);
    const evict = () =>
      kube.kube.core.createNamespacedPodEviction({
        name,
        namespace: kube.namespace,
        body: { metadata: { name, namespace: kube.namespace } },
      });

    assert.equal(await expectStatus(evict()), 429);
    // What tells a budget's refusal from API Priority and Fairness's 429: the cause it names.
    const refusal = await evict().then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.equal(hasCause(refusal, 'DisruptionBudget'), true, 'the 429 names its DisruptionBudget cause');
    assert.equal(
      (await kube.kube.core.readNamespacedPod({ name, namespace: kube.namespace })).metadata?.deletionTimestamp,
      undefined,
    );

    // No disruption controller runs: the test plays it and allows one disruption.
    await kube.setPdbStatus(pdb.metadata!.name!, { disruptionsAllowed: 1 });
    await evict();
    const after = await kube.kube.policy.readNamespacedPodDisruptionBudget({
      name: pdb.metadata!.name!,
      namespace: kube.namespace,
    });
    assert.equal(after.status?.disruptionsAllowed, 0, 'the eviction used up the allowed disruption');
    await kube.podGone(name);
  });
});
