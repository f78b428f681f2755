import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { planDrain, waitsFor, type OwnPods } from '../../activities/kubernetes/drain-plan.js';
import type { DrainSettings } from '../../common/settings.js';

const settings: DrainSettings = {
  ignoreDaemonSets: true,
  deleteLocalData: true,
  podTerminationGracePeriodSeconds: -1,
  nodeTerminationGracePeriodSeconds: 120,
};

interface Extra {
  owner?: string;
  ownerName?: string;
  /** An owner reference that is not the controller (as some operators add). */
  notController?: boolean;
  mirror?: boolean;
  emptyDir?: boolean;
  phase?: string;
  namespace?: string;
  labels?: Record<string, string>;
  deletedSecondsAgo?: number;
}

const pod = (name: string, extra: Extra = {}): V1Pod => ({
  metadata: {
    name,
    namespace: extra.namespace ?? 'apps',
    labels: extra.labels,
    ownerReferences: extra.owner
      ? [
          {
            apiVersion: 'apps/v1',
            kind: extra.owner,
            name: extra.ownerName ?? 'x',
            uid: 'u',
            controller: !extra.notController,
          },
        ]
      : undefined,
    annotations: extra.mirror ? { 'kubernetes.io/config.mirror': 'hash' } : undefined,
    deletionTimestamp:
      extra.deletedSecondsAgo === undefined ? undefined : new Date(Date.now() - extra.deletedSecondsAgo * 1000),
  },
  spec: { containers: [], volumes: extra.emptyDir ? [{ name: 'tmp', emptyDir: {} }] : undefined },
  status: { phase: extra.phase ?? 'Running' },
});

const pods = [
  pod('web', { owner: 'ReplicaSet' }),
  pod('bare'),
  pod('agent', { owner: 'DaemonSet', ownerName: 'agent' }),
  pod('static', { mirror: true }),
  pod('cache', { owner: 'ReplicaSet', emptyDir: true }),
  pod('job', { owner: 'Job', phase: 'Succeeded' }),
];

const names = (list: V1Pod[]) => list.map((p) => p.metadata!.name);
const existing = (...daemonSets: string[]) => ({
  daemonSetExists: (_namespace: string, name: string) => Promise.resolve(daemonSets.includes(name)),
});

describe("drain plan: which pods a drain evicts, in kubectl drain's order and by its rules", () => {
  it('evicts finished pods first, then controlled, bare and emptyDir pods; skips DaemonSet and mirror pods', async () => {
    const plan = await planDrain(pods, settings, existing('agent'));
    assert.deepEqual(names(plan.evict), ['job', 'web', 'bare', 'cache']);
    assert.deepEqual(plan.skipped, ['apps/agent (DaemonSet)', 'apps/static (mirror pod)']);
    assert.deepEqual(plan.undrainable, []);
  });

  it('refuses a node with a running DaemonSet pod when IGNORE_DAEMON_SETS=false, never for a finished one', async () => {
    const plan = await planDrain(
      [...pods, pod('agent-done', { owner: 'DaemonSet', ownerName: 'agent', phase: 'Failed' })],
      { ...settings, ignoreDaemonSets: false },
      existing('agent'),
    );
    assert.deepEqual(plan.undrainable, ['apps/agent is managed by a DaemonSet (IGNORE_DAEMON_SETS=false)']);
    assert.ok(names(plan.evict).includes('agent-done'));
  });

  it('evicts the pod of a DaemonSet that is gone (orphaned), and counts only the controller reference', async () => {
    const plan = await planDrain(
      [
        pod('orphan', { owner: 'DaemonSet', ownerName: 'deleted' }),
        pod('adopted', { owner: 'DaemonSet', notController: true }),
      ],
      { ...settings, ignoreDaemonSets: false },
      existing('agent', 'x'),
    );
    assert.deepEqual(plan.undrainable, []);
    assert.deepEqual(names(plan.evict), ['orphan', 'adopted']);
  });

  it('refuses a node with emptyDir pods when DELETE_LOCAL_DATA=false, unless the pod has finished', async () => {
    const plan = await planDrain(
      [...pods, pod('scratch-done', { emptyDir: true, phase: 'Succeeded' })],
      { ...settings, deleteLocalData: false },
      existing('agent'),
    );
    assert.deepEqual(plan.undrainable, ['apps/cache has emptyDir data (DELETE_LOCAL_DATA=false)']);
    assert.ok(names(plan.evict).includes('scratch-done'));
  });

  it("evicts tnth's replicas after every other pod, and the drain's own worker pod the very last", async () => {
    const own: OwnPods = { podName: 'tnth-worker-a', namespace: 'tnth', labels: { 'app.kubernetes.io/name': 'tnth' } };
    const tnth = { namespace: 'tnth', labels: { 'app.kubernetes.io/name': 'tnth' } };
    const plan = await planDrain(
      [pod('tnth-worker-a', tnth), pod('tnth-worker-b', tnth), pod('web'), pod('lookalike', { labels: tnth.labels })],
      settings,
      { own, ...existing() },
    );
    assert.deepEqual(names(plan.evict), ['web', 'lookalike', 'tnth-worker-b', 'tnth-worker-a']);
  });

  it('stops waiting for a pod deleted longer ago than SKIP_WAIT_FOR_DELETE_TIMEOUT (default 60 s), and for none of a gone kubelet', async () => {
    const stuck = pod('stuck', { deletedSecondsAgo: 61 });
    const going = pod('going', { deletedSecondsAgo: 30 });
    assert.equal(waitsFor(stuck, settings, false), false);
    assert.equal(waitsFor(going, settings, false), true);
    assert.equal(waitsFor(stuck, { ...settings, skipWaitForDeleteTimeoutSeconds: 0 }, false), true, '0 waits for all');
    assert.equal(waitsFor(going, settings, true), false, 'a stopped instance finishes no deletion');
    assert.equal(waitsFor(pod('running'), settings, true), true, 'a pod not yet evicted is evicted first');
    const plan = await planDrain([stuck, going], settings, existing());
    assert.deepEqual(plan.notWaitedFor, ['apps/stuck']);
    assert.deepEqual(names(plan.evict), ['going']);
  });
});
