// The service runs with deploy/rbac/clusterrole.yaml and nothing more: everything the drain needs is
// allowed, and a change that widened the role (or a code path that needs more) shows up here.
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { kubeFailure } from '../../activities/kubernetes/client.js';
import { KubeFixture, expectStatus, serviceClients, strategicMerge, type KubeClients } from '../helpers/kube.js';

describe('the service identity (SERVICE_KUBECONFIG)', function () {
  let kube: KubeFixture;
  let service: KubeClients;
  let node: string;

  beforeEach(async function () {
    kube = new KubeFixture();
    await kube.ensureNamespace();
    service = serviceClients();
    node = (await kube.node()).metadata!.name!;
  });

  afterEach(async function () {
    await kube.cleanup();
  });

  it('may find, cordon and label nodes', async function () {
    const providerID = (await service.core.readNode({ name: node })).spec!.providerID!;
    const list = await service.core.listNode({ labelSelector: 'topology.kubernetes.io/zone=us-east-1a' });
    assert.ok(list.items.some((item) => item.spec?.providerID === providerID));

    const body = { metadata: { labels: { 'tnth.dev/draining': 'true' } }, spec: { unschedulable: true } };
    const patched = await service.core.patchNode({ name: node, body }, strategicMerge());
    assert.equal(patched.spec?.unschedulable, true);
  });

  it("may list a node's pods, read their DaemonSet and evict them", async function () {
    const daemonSetPod = await kube.daemonSetPod(node);
    const pod = await kube.replicaSetPod(node, { gracePeriodSeconds: 1 });
    await kube.podRunning(pod.metadata!.name!);

    const pods = await service.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` });
    assert.deepEqual(
      pods.items.map((item) => item.metadata?.name).sort(),
      [daemonSetPod.metadata!.name, pod.metadata!.name].sort(),
    );
    const owner = daemonSetPod.metadata!.ownerReferences![0]!;
    await service.apps.readNamespacedDaemonSet({ name: owner.name, namespace: kube.namespace });

    const name = pod.metadata!.name!;
    await service.core.createNamespacedPodEviction({
      name,
      namespace: kube.namespace,
      body: { metadata: { name, namespace: kube.namespace } },
    });
    await kube.podGone(name);
  });

  it('may record core events about a node in `default`, as the service does (a repeat is a 409, never a patch)', async function () {
    const regarding = { kind: 'Node', name: node, apiVersion: 'v1' };
    await service.core.createNamespacedEvent({
      namespace: 'default',
      body: {
        metadata: { name: kube.name('tnth-event'), namespace: 'default' },
        involvedObject: regarding,
        reason: 'CordonAndDrain',
        message: 'test event',
        type: 'Normal',
        source: { component: 'tnth' },
      },
    });
  });

  it('is forbidden (403) everything the ClusterRole does not grant', async function () {
    const pod = await kube.barePod(node);
    const podName = pod.metadata!.name!;
    const current = await service.core.readNode({ name: node });
    const forbidden: [string, () => Promise<unknown>][] = [
      ['delete a node', () => service.core.deleteNode({ name: node })],
      ['update a node', () => service.core.replaceNode({ name: node, body: current })],
      ['create a node', () => service.core.createNode({ body: { metadata: { name: kube.name('ip-forbidden') } } })],
      ['patch node status', () => service.core.patchNodeStatus({ name: node, body: { status: {} } }, strategicMerge())],
      ['delete a pod', () => service.core.deleteNamespacedPod({ name: podName, namespace: kube.namespace })],
      [
        'patch a pod',
        () => service.core.patchNamespacedPod({ name: podName, namespace: kube.namespace, body: {} }, strategicMerge()),
      ],
      ['list secrets', () => service.core.listSecretForAllNamespaces()],
      ['list daemonsets', () => service.apps.listDaemonSetForAllNamespaces()],
      ['list PDBs', () => service.policy.listPodDisruptionBudgetForAllNamespaces()],
    ];
    for (const [what, call] of forbidden) {
      assert.equal(await expectStatus(call()), 403, `the service may not ${what}`);
    }
    // What the service makes of such a refusal: permanent, and naming what to grant.
    const refusal = await service.core
      .deleteNamespacedPod({ name: podName, namespace: kube.namespace })
      .catch((e: unknown) => e);
    const failure = kubeFailure('deleting a pod', refusal);
    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.type, 'KubernetesRequestRefused');
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /cannot delete resource "pods" in API group ""/);
  });
});
