import assert from 'node:assert/strict';
import { ApiException, type CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import type { DrainInput, DrainProgress, DrainResult } from '../../activities/kubernetes/drain.js';
import { createDrainActivities } from '../../activities/kubernetes/drain.js';
import type { DrainSettings } from '../../common/settings.js';
import { activityEnvironment } from '../helpers/activity-environment.js';

const settings: DrainSettings = {
  ignoreDaemonSets: true,
  deleteLocalData: true,
  podTerminationGracePeriodSeconds: -1,
  nodeTerminationGracePeriodSeconds: 120,
};

const pod = (name: string): V1Pod => ({
  metadata: {
    name,
    namespace: 'default',
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: '1' }],
  },
  spec: { nodeName: 'n', containers: [] },
  status: { phase: 'Running' },
});

/** A node's pods as the API server keeps them; `refuse` answers an eviction with that status and body, `times` times. */
function fakeCore(names: string[], refuse: Record<string, { code: number; body: unknown; times?: number }>) {
  const pods = new Map(names.map((n) => [n, pod(n)]));
  const evictions: string[] = [];
  const core = {
    listPodForAllNamespaces: () => Promise.resolve({ items: [...pods.values()] }),
    createNamespacedPodEviction: ({ name }: { name: string }) => {
      evictions.push(name);
      const refusal = refuse[name];
      if (refusal && (refusal.times ?? Infinity) > 0) {
        refusal.times = (refusal.times ?? Infinity) - 1;
        return Promise.reject(new ApiException(refusal.code, 'refused', JSON.stringify(refusal.body), {}));
      }
      pods.delete(name);
      return Promise.resolve({});
    },
  } as unknown as CoreV1Api;
  return { core, evictions };
}

describe('drain: each pod on its own', () => {
  it("evicts every other pod when one pod's eviction is refused, and names that pod and the server's words at the deadline", async () => {
    const twoBudgets = {
      code: 500,
      body: {
        message: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
      },
    };
    const { core, evictions } = fakeCore(['a', 'b', 'c'], { b: twoBudgets });
    const activities = createDrainActivities({ core }, { pollMs: 50 });
    const drainNode = (input: DrainInput) => activities.drainNode(input);
    const env = activityEnvironment();
    const heartbeats: DrainProgress[] = [];
    env.on('heartbeat', (details: DrainProgress) => heartbeats.push(details));
    const error = await env.run(drainNode, { nodeName: 'n', settings, deadlineEpochMs: Date.now() + 500 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof ApplicationFailure, String(error));
    assert.equal(error.type, 'DrainTimeout');
    assert.match(
      error.message,
      /pods left: default\/b;.*evictions refused: default\/b: HTTP 500: This pod has more than one PodDisruptionBudget/,
    );
    assert.ok(evictions.filter((n) => n === 'b').length >= 2, 'the refused pod was tried again the next round');
    assert.deepEqual([...new Set(evictions.filter((n) => n !== 'b'))].sort(), ['a', 'c']);
    assert.deepEqual(heartbeats.at(-1)?.evicted?.sort(), ['default/a', 'default/c']);
  });

  it('takes a pod whose namespace is being deleted as going, and waits for it', async () => {
    const terminating = {
      code: 403,
      body: { message: 'forbidden', details: { causes: [{ reason: 'NamespaceTerminating' }] } },
    };
    const { core } = fakeCore(['a'], { a: terminating });
    const activities = createDrainActivities({ core }, { pollMs: 50 });
    const drainNode = (input: DrainInput) => activities.drainNode(input);
    const error = await activityEnvironment()
      .run(drainNode, { nodeName: 'n', settings, deadlineEpochMs: Date.now() + 300 })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(error instanceof ApplicationFailure);
    assert.doesNotMatch(error.message, /evictions refused/, 'a terminating namespace is no refusal');
  });

  it('waits out API Priority and Fairness (a 429 without a budget) for its Retry-After, and reports no budget', async () => {
    const shed = { code: 429, body: { message: 'Too many requests', details: { retryAfterSeconds: 1 } }, times: 1 };
    const { core, evictions } = fakeCore(['a', 'b'], { a: shed });
    const activities = createDrainActivities({ core }, { pollMs: 50 });
    const env = activityEnvironment();
    const heartbeats: DrainProgress[] = [];
    env.on('heartbeat', (details: DrainProgress) => heartbeats.push(details));
    const started = Date.now();
    const result: DrainResult = await env.run((input: DrainInput) => activities.drainNode(input), {
      nodeName: 'n',
      settings,
      deadlineEpochMs: Date.now() + 5_000,
    });
    assert.deepEqual(result.evicted.sort(), ['default/a', 'default/b']);
    assert.deepEqual(
      evictions.slice(0, 2),
      ['a', 'a'],
      'the throttled round went no further, the next began with the pod',
    );
    assert.ok(Date.now() - started >= 1_000, 'the Retry-After was not waited out');
    assert.ok(
      heartbeats.every((h) => h.blockedByBudget.length === 0),
      'throttling reported as a budget refusal',
    );
  });

  it('goes on with the other pods in the round when a budget refuses one', async () => {
    const budget = {
      code: 429,
      body: { message: 'Cannot evict pod', details: { causes: [{ reason: 'DisruptionBudget' }] } },
      times: 1,
    };
    const { core, evictions } = fakeCore(['a', 'b'], { a: budget });
    const activities = createDrainActivities({ core }, { pollMs: 50 });
    const result: DrainResult = await activityEnvironment().run((input: DrainInput) => activities.drainNode(input), {
      nodeName: 'n',
      settings,
      deadlineEpochMs: Date.now() + 5_000,
    });
    assert.deepEqual(evictions.slice(0, 2), ['a', 'b']);
    assert.deepEqual(result.evicted.sort(), ['default/a', 'default/b']);
  });
});
