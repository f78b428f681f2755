// prepareNode and restoreNode against the stack's real kube-apiserver, as the service's identity:
// an undo (or a return from the warm pool) takes back what tnth added and nothing that was there.
import assert from 'node:assert/strict';
import { createNodeActivities } from '../../activities/kubernetes/nodes.js';
import { KubeFixture, serviceClients } from '../helpers/kube.js';

const taint = (key: string, value = 'x', effect = 'NoSchedule') => ({ key, value, effect });
const lbLabel = 'node.kubernetes.io/exclude-from-external-load-balancers';
const annotation = 'tnth/warm-pool-changes';

describe('node changes: what a preparation added is taken back, and only that (real kube-apiserver)', function () {
  let kube: KubeFixture;
  const nodes = createNodeActivities({ core: serviceClients().core });

  beforeEach(async function () {
    kube = new KubeFixture();
    await kube.ensureNamespace();
  });

  afterEach(async function () {
    await kube.cleanup();
  });

  it('reports the cordon, taints and labels it added, not those already there, and the undo removes just those', async () => {
    const theirs = taint('example.com/dedicated', 'gpu');
    const node = await kube.node({ kwok: false, labels: { [lbLabel]: 'true' }, taints: [theirs] });
    const name = node.metadata!.name!;
    // The API server's own taint of a new node, there before too.
    const before = (node.spec?.taints ?? []).map((t) => t.key);
    assert.ok(before.includes(theirs.key));
    const ours = taint('aws-node-termination-handler/rebalance-recommendation', 'event-1');
    const changes = await nodes.prepareNode({
      nodeName: name,
      taints: [ours, theirs],
      labels: { [lbLabel]: 'true' },
      cordon: true,
    });
    assert.deepEqual(changes, { cordoned: true, taints: [ours], labels: [] });

    // Someone adds a taint of their own meanwhile: the undo leaves it too.
    const later = taint('example.com/later');
    const current = await kube.kube.core.readNode({ name });
    await kube.kube.core.replaceNode({
      name,
      body: { ...current, spec: { ...current.spec, taints: [...(current.spec?.taints ?? []), later] } },
    });

    await nodes.restoreNode({ nodeName: name, changes });
    const after = await kube.kube.core.readNode({ name });
    assert.ok(!after.spec?.unschedulable, 'uncordoned');
    assert.deepEqual(
      after.spec?.taints?.map((t) => t.key),
      [...before, later.key],
    );
    assert.equal(after.metadata?.labels?.[lbLabel], 'true', 'a label that was there stays');
  });

  it('leaves a node that was cordoned before cordoned', async () => {
    const node = await kube.node({ kwok: false, unschedulable: true });
    const name = node.metadata!.name!;
    const changes = await nodes.prepareNode({
      nodeName: name,
      taints: [],
      labels: { [lbLabel]: 'true' },
      cordon: true,
    });
    assert.deepEqual(changes, { cordoned: false, taints: [], labels: [lbLabel] });
    await nodes.restoreNode({ nodeName: name, changes });
    const after = await kube.kube.core.readNode({ name });
    assert.equal(after.spec?.unschedulable, true, 'cordoned by someone else: left cordoned');
    assert.equal(after.metadata?.labels?.[lbLabel], undefined, 'the label tnth added is gone');
  });

  it('keeps what two preparations for a warm-pool return added on the node, and the return takes it all back with the record', async () => {
    const node = await kube.node({ kwok: false });
    const name = node.metadata!.name!;
    const before = node.spec?.taints ?? [];
    const drainTaint = taint('aws-node-termination-handler/asg-lifecycle-termination', 'event-2');
    const outOfService = taint('node.kubernetes.io/out-of-service', 'nodeshutdown', 'NoExecute');
    await nodes.prepareNode({ nodeName: name, taints: [drainTaint], labels: {}, cordon: true, recordAs: annotation });
    await nodes.prepareNode({ nodeName: name, taints: [outOfService], labels: {}, cordon: true, recordAs: annotation });
    const recorded = JSON.parse(
      (await kube.kube.core.readNode({ name })).metadata!.annotations![annotation]!,
    ) as unknown;
    assert.deepEqual(recorded, { cordoned: true, taints: [drainTaint, outOfService], labels: [] });

    const restored = await nodes.restoreNode({ nodeName: name, recordedAs: annotation });
    assert.deepEqual(restored, recorded);
    const after = await kube.kube.core.readNode({ name });
    assert.ok(!after.spec?.unschedulable);
    assert.deepEqual(after.spec?.taints ?? [], before);
    assert.equal(after.metadata?.annotations?.[annotation], undefined, 'the record is gone with what it recorded');
    assert.equal(
      await nodes.restoreNode({ nodeName: name, recordedAs: annotation }),
      undefined,
      'nothing left the second time',
    );
    assert.equal(await nodes.restoreNode({ nodeName: 'no-such-node', recordedAs: annotation }), undefined);
  });
});
