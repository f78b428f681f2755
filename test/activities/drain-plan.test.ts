import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { classifyPods } from '../../activities/kubernetes/drain.js';
import type { DrainSettings } from '../../common/settings.js';

const settings: DrainSettings = {
  ignoreDaemonSets: true,
  deleteLocalData: true,
  podTerminationGracePeriodSeconds: -1,
  nodeTerminationGracePeriodSeconds: 120,
};

const pod = (
  name: string,
  extra: { owner?: string; mirror?: boolean; emptyDir?: boolean; phase?: string } = {},
): V1Pod => ({
  metadata: {
    name,
    namespace: 'apps',
    ownerReferences: extra.owner
      ? [{ apiVersion: 'apps/v1', kind: extra.owner, name: 'x', uid: 'u', controller: true }]
      : undefined,
    annotations: extra.mirror ? { 'kubernetes.io/config.mirror': 'hash' } : undefined,
  },
  spec: { containers: [], volumes: extra.emptyDir ? [{ name: 'tmp', emptyDir: {} }] : undefined },
  status: { phase: extra.phase ?? 'Running' },
});

const pods = [
  pod('web', { owner: 'ReplicaSet' }),
  pod('bare'),
  pod('agent', { owner: 'DaemonSet' }),
  pod('static', { mirror: true }),
  pod('cache', { owner: 'ReplicaSet', emptyDir: true }),
  pod('job', { owner: 'Job', phase: 'Succeeded' }),
];

const names = (list: V1Pod[]) => list.map((p) => p.metadata!.name);

describe('drain plan: which pods a drain evicts, as kubectl drain decides', () => {
  it('evicts controlled, bare and emptyDir pods; skips DaemonSet, mirror and finished pods', () => {
    const plan = classifyPods(pods, settings);
    assert.deepEqual(names(plan.evict), ['web', 'bare', 'cache']);
    assert.deepEqual(plan.skipped, ['apps/agent (DaemonSet)', 'apps/static (mirror pod)', 'apps/job (finished)']);
    assert.deepEqual(plan.undrainable, []);
  });

  it('refuses a node with DaemonSet pods when IGNORE_DAEMON_SETS=false', () => {
    const plan = classifyPods(pods, { ...settings, ignoreDaemonSets: false });
    assert.deepEqual(plan.undrainable, ['apps/agent is managed by a DaemonSet (IGNORE_DAEMON_SETS=false)']);
  });

  it('refuses a node with emptyDir pods when DELETE_LOCAL_DATA=false', () => {
    const plan = classifyPods(pods, { ...settings, deleteLocalData: false });
    assert.deepEqual(plan.undrainable, ['apps/cache has emptyDir data (DELETE_LOCAL_DATA=false)']);
  });
});
