// findNode with USE_PROVIDER_ID against the stack's real kube-apiserver, as the service's identity:
// the set-based hostname selector and the watch-cache lists (resourceVersion 0) are requests the API
// server accepts, and each way a node can be named is found.
import assert from 'node:assert/strict';
import { createNodeActivities, type NodeLookup } from '../../activities/kubernetes/nodes.js';
import { KubeFixture, instanceId, serviceClients, until } from '../helpers/kube.js';

describe("finding an instance's node by providerID without listing every node (real kube-apiserver)", function () {
  let kube: KubeFixture;
  const nodes = createNodeActivities({ core: serviceClients().core });

  beforeEach(async function () {
    kube = new KubeFixture();
    await kube.ensureNamespace();
  });

  afterEach(async function () {
    await kube.cleanup();
  });

  const lookup = (id: string, extra: Partial<NodeLookup> = {}): NodeLookup => ({
    instanceId: id,
    privateDnsName: `ip-10-9-${Math.floor(Math.random() * 250)}-7.ec2.internal`,
    availabilityZone: 'us-east-1a',
    useProviderId: true,
    ...extra,
  });

  /** The cache behind the lists may be a moment behind a node just created. */
  const found = (what: string, query: NodeLookup) => until(what, async () => (await nodes.findNode(query))?.name);

  it('finds the node named by the private DNS name, and the one named by the resource name', async function () {
    const id = instanceId();
    const byDns = lookup(id);
    await kube.node({ name: byDns.privateDnsName!, instanceId: id, kwok: false });
    assert.equal(await found('the node under its DNS name', byDns), byDns.privateDnsName);

    const other = instanceId();
    await kube.node({ name: `${other}.ec2.internal`, instanceId: other, kwok: false });
    assert.equal(await found('the node under its resource name', lookup(other)), `${other}.ec2.internal`);
  });

  it('finds a node named otherwise by its kubernetes.io/hostname label, in one selector for both names', async function () {
    const id = instanceId();
    const query = lookup(id);
    const name = kube.name('worker');
    await kube.node({ name, instanceId: id, kwok: false, labels: { 'kubernetes.io/hostname': `${id}.ec2.internal` } });
    assert.equal(await found('the node by its hostname label', { ...query, listAllNodes: false }), name);
  });

  it('finds a node named freely only by looking through every node, and not when told to skip that', async function () {
    const id = instanceId();
    const name = kube.name('freely');
    await kube.node({ name, instanceId: id, kwok: false });
    assert.equal(await found('the node among all nodes', lookup(id)), name);
    assert.equal(await nodes.findNode(lookup(id, { listAllNodes: false })), undefined);
  });
});
