import assert from 'node:assert/strict';
import { ApiException, type CoreV1Api, type V1Node } from '@kubernetes/client-node';
import { createNodeActivities, type NodeLookup } from '../../activities/kubernetes/nodes.js';
import { instanceNodeNames, regionOfZone } from '../../activities/kubernetes/node-names.js';

const instanceId = 'i-0123456789abcdef0';
const dnsName = 'ip-10-0-1-23.us-west-2.compute.internal';
const resourceName = `${instanceId}.us-west-2.compute.internal`;

const node = (name: string, providerId: string | undefined, hostname = name): V1Node => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': hostname } },
  spec: { providerID: providerId },
  status: { conditions: [{ type: 'Ready', status: 'True' }] },
});

/** A CoreV1Api over a fixed set of nodes that records every call, as `read <name>` or `list <selector>`. */
function fakeCore(nodes: V1Node[]) {
  const calls: string[] = [];
  const listParams: { labelSelector?: string; resourceVersion?: string }[] = [];
  const core = {
    readNode: ({ name }: { name: string }) => {
      calls.push(`read ${name}`);
      const found = nodes.find((n) => n.metadata?.name === name);
      return found ? Promise.resolve(found) : Promise.reject(new ApiException(404, 'Not Found', '{}', {}));
    },
    listNode: (params: { labelSelector?: string; resourceVersion?: string } = {}) => {
      calls.push(`list ${params.labelSelector ?? '(all)'}`);
      listParams.push(params);
      const selector = params.labelSelector;
      const match = (n: V1Node) => {
        const hostname = n.metadata?.labels?.['kubernetes.io/hostname'] ?? '';
        if (selector === undefined) return true;
        const set = /^kubernetes\.io\/hostname in \((.*)\)$/.exec(selector);
        if (set) return set[1]!.split(',').includes(hostname);
        return selector === `kubernetes.io/hostname=${hostname}`;
      };
      return Promise.resolve({ items: nodes.filter(match) });
    },
  };
  return { activities: createNodeActivities({ core: core as unknown as CoreV1Api }), calls, listParams };
}

const byProviderId = (extra: Partial<NodeLookup> = {}): NodeLookup => ({
  instanceId,
  privateDnsName: dnsName,
  availabilityZone: 'us-west-2a',
  useProviderId: true,
  ...extra,
});

describe("node lookup: an instance's node is found by its names, a list of every node only as the last resort", () => {
  it('derives the region of a zone, Local Zones and GovCloud included', () => {
    assert.equal(regionOfZone('us-east-1a'), 'us-east-1');
    assert.equal(regionOfZone('ap-southeast-4c'), 'ap-southeast-4');
    assert.equal(regionOfZone('us-west-2-lax-1a'), 'us-west-2');
    assert.equal(regionOfZone('us-gov-west-1a'), 'us-gov-west-1');
    assert.equal(regionOfZone('use1-az1'), undefined, 'a zone id names no region');
    assert.equal(regionOfZone(undefined), undefined);
  });

  it("names an instance's node by its private DNS name and its resource name (ec2.internal in us-east-1)", () => {
    assert.deepEqual(instanceNodeNames({ instanceId, privateDnsName: dnsName, availabilityZone: 'us-west-2a' }), [
      dnsName,
      resourceName,
    ]);
    assert.deepEqual(
      instanceNodeNames({ instanceId, privateDnsName: 'ip-10-0-1-23.ec2.internal', availabilityZone: 'us-east-1b' }),
      ['ip-10-0-1-23.ec2.internal', `${instanceId}.ec2.internal`],
    );
    assert.deepEqual(instanceNodeNames({ instanceId, privateDnsName: resourceName, availabilityZone: 'us-west-2a' }), [
      resourceName,
    ]);
    assert.deepEqual(
      instanceNodeNames({ instanceId, privateDnsName: dnsName }),
      [dnsName],
      'no zone, no resource name',
    );
  });

  it('USE_PROVIDER_ID: reads the node named by the private DNS name and lists nothing', async () => {
    const kube = fakeCore([node(dnsName, `aws:///us-west-2a/${instanceId}`), node('other', 'aws:///us-west-2a/i-1')]);
    const found = await kube.activities.findNode(byProviderId());
    assert.equal(found?.name, dnsName);
    assert.deepEqual(kube.calls, [`read ${dnsName}`]);
  });

  it('USE_PROVIDER_ID: finds a node named by the resource name while EC2 reports the IP-based name', async () => {
    const kube = fakeCore([node(resourceName, `aws:///us-west-2a/${instanceId}`)]);
    const found = await kube.activities.findNode(byProviderId());
    assert.equal(found?.name, resourceName);
    assert.deepEqual(kube.calls, [`read ${dnsName}`, `read ${resourceName}`]);
  });

  it("USE_PROVIDER_ID: passes over a node that goes by the instance's name but whose providerID names another instance", async () => {
    const kube = fakeCore([
      node(dnsName, 'aws:///us-west-2a/i-0ffffffffffffffff'),
      node('custom-1', `aws:///us-west-2a/${instanceId}`, 'custom-1'),
    ]);
    const found = await kube.activities.findNode(byProviderId());
    assert.equal(found?.name, 'custom-1');
    assert.equal(found?.providerId, `aws:///us-west-2a/${instanceId}`);
  });

  it('USE_PROVIDER_ID: then selects by kubernetes.io/hostname for both names in one list from the watch cache', async () => {
    const kube = fakeCore([node('worker-7', `aws://us-west-2a/${instanceId}`, dnsName)]);
    const found = await kube.activities.findNode(byProviderId());
    assert.equal(found?.name, 'worker-7');
    assert.deepEqual(kube.calls, [
      `read ${dnsName}`,
      `read ${resourceName}`,
      `list kubernetes.io/hostname in (${dnsName},${resourceName})`,
    ]);
    assert.equal(kube.listParams[0]?.resourceVersion, '0');
  });

  it('USE_PROVIDER_ID: lists every node, from the watch cache, only when no name matches', async () => {
    const kube = fakeCore([
      node('other', 'aws:///us-west-2a/i-1'),
      node('named-freely', `aws:///us-west-2a/${instanceId}`),
    ]);
    const found = await kube.activities.findNode(byProviderId());
    assert.equal(found?.name, 'named-freely');
    assert.deepEqual(kube.calls.slice(-1), ['list (all)']);
    assert.deepEqual(
      kube.listParams.map((p) => p.resourceVersion),
      ['0', '0'],
      'no list is a quorum read',
    );
  });

  it('USE_PROVIDER_ID: with listAllNodes false, stops after the names, and never accepts a node without a providerID', async () => {
    const kube = fakeCore([node(dnsName, undefined), node('named-freely', `aws:///us-west-2a/${instanceId}`)]);
    assert.equal(await kube.activities.findNode(byProviderId({ listAllNodes: false })), undefined);
    assert.ok(!kube.calls.includes('list (all)'));
  });

  it('USE_PROVIDER_ID: reads a name too long for a label value but leaves it out of the selector (the API would refuse it)', async () => {
    const longName = `ip-10-0-1-23.${'a'.repeat(40)}.example.internal`;
    const kube = fakeCore([]);
    await kube.activities.findNode(byProviderId({ privateDnsName: longName }));
    assert.deepEqual(kube.calls, [
      `read ${longName}`,
      `read ${resourceName}`,
      `list kubernetes.io/hostname in (${resourceName})`,
      'list (all)',
    ]);
  });

  it('USE_PROVIDER_ID: without the DNS name or the zone, lists every node at once', async () => {
    const kube = fakeCore([node('named-freely', `aws:///us-west-2a/${instanceId}`)]);
    const found = await kube.activities.findNode(
      byProviderId({ privateDnsName: undefined, availabilityZone: undefined }),
    );
    assert.equal(found?.name, 'named-freely');
    assert.deepEqual(kube.calls, ['list (all)']);
  });

  it('by private DNS name: reads the node so named, then selects by kubernetes.io/hostname; never lists every node', async () => {
    const kube = fakeCore([node('worker-7', undefined, dnsName)]);
    const found = await kube.activities.findNode({ instanceId, privateDnsName: dnsName, useProviderId: false });
    assert.equal(found?.name, 'worker-7');
    assert.deepEqual(kube.calls, [`read ${dnsName}`, `list kubernetes.io/hostname=${dnsName}`]);
    assert.equal(kube.listParams[0]?.resourceVersion, '0');

    const none = fakeCore([node('named-freely', `aws:///us-west-2a/${instanceId}`)]);
    assert.equal(
      await none.activities.findNode({ instanceId, privateDnsName: dnsName, useProviderId: false }),
      undefined,
    );
    assert.equal(
      await none.activities.findNode({ instanceId, privateDnsName: undefined, useProviderId: false }),
      undefined,
    );
    assert.deepEqual(none.calls, [`read ${dnsName}`, `list kubernetes.io/hostname=${dnsName}`]);
  });
});
