import assert from 'node:assert/strict';
import { ApiException, type AppsV1Api, type CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
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

/** The signal the drain gave a call, read the way the client's fetch reads it (its middleware's `pre`). */
function signalOf(options: unknown): AbortSignal | undefined {
  let signal: AbortSignal | undefined;
  const middleware = (options as { middleware?: { pre(c: unknown): unknown }[] } | undefined)?.middleware ?? [];
  for (const m of middleware) m.pre({ setSignal: (s: AbortSignal) => (signal = s) });
  return signal;
}

interface FakeOptions {
  /** Milliseconds each eviction takes (an admission webhook). */
  evictionMs?: number;
  /** Epoch ms until which a budget refuses every eviction. */
  budgetUntil?: number;
}

/** A node's pods as the API server keeps them; `refuse` answers an eviction with that status and body, `times` times. */
function fakeKube(
  names: string[],
  refuse: Record<string, { code: number; body: unknown; times?: number }>,
  options: FakeOptions = {},
) {
  const pods = new Map(names.map((n) => [n, pod(n)]));
  const evictions: string[] = [];
  let inFlight = 0;
  const seen = { maxInFlight: 0, aborted: 0 };
  const core = {
    listPodForAllNamespaces: () => Promise.resolve({ items: [...pods.values()], metadata: { resourceVersion: '1' } }),
    listNode: () => Promise.resolve({ items: [{ metadata: { name: 'n' } }] }),
    createNamespacedPodEviction: async ({ name }: { name: string }, requestOptions: unknown) => {
      evictions.push(name);
      inFlight++;
      seen.maxInFlight = Math.max(seen.maxInFlight, inFlight);
      try {
        if (options.evictionMs) {
          const signal = signalOf(requestOptions);
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(resolve, options.evictionMs);
            signal?.addEventListener('abort', () => {
              clearTimeout(timer);
              seen.aborted++;
              reject(new Error('aborted'));
            });
          });
        }
      } finally {
        inFlight--;
      }
      if (options.budgetUntil !== undefined && Date.now() < options.budgetUntil) {
        throw new ApiException(
          429,
          'refused',
          JSON.stringify({ message: 'Cannot evict pod', details: { causes: [{ reason: 'DisruptionBudget' }] } }),
          {},
        );
      }
      const refusal = refuse[name];
      if (refusal && (refusal.times ?? Infinity) > 0) {
        refusal.times = (refusal.times ?? Infinity) - 1;
        throw new ApiException(refusal.code, 'refused', JSON.stringify(refusal.body), {});
      }
      pods.delete(name);
      return {};
    },
  } as unknown as CoreV1Api;
  const apps = {} as AppsV1Api;
  return { kube: { core, apps }, evictions, seen };
}

describe('drain: each pod on its own', () => {
  it("evicts every other pod when one pod's eviction is refused, and names that pod and the server's words at the deadline", async () => {
    const twoBudgets = {
      code: 500,
      body: {
        message: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
      },
    };
    const { kube, evictions } = fakeKube(['a', 'b', 'c'], { b: twoBudgets });
    const activities = createDrainActivities(kube, { pollMs: 50 });
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
    const { kube } = fakeKube(['a'], { a: terminating });
    const activities = createDrainActivities(kube, { pollMs: 50 });
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
    const { kube, evictions } = fakeKube(['a', 'b'], { a: shed });
    const activities = createDrainActivities(kube, { pollMs: 50 });
    const env = activityEnvironment();
    const heartbeats: DrainProgress[] = [];
    env.on('heartbeat', (details: DrainProgress) => heartbeats.push(details));
    const started = Date.now();
    const result: DrainResult = await env.run((input: DrainInput) => activities.drainNode(input), {
      nodeName: 'n',
      // One at a time, so that the round's next eviction is the one the throttling held back.
      settings: { ...settings, evictionConcurrency: 1 },
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
    const { kube, evictions } = fakeKube(['a', 'b'], { a: budget });
    const activities = createDrainActivities(kube, { pollMs: 50 });
    const result: DrainResult = await activityEnvironment().run((input: DrainInput) => activities.drainNode(input), {
      nodeName: 'n',
      settings,
      deadlineEpochMs: Date.now() + 5_000,
    });
    assert.deepEqual(evictions.slice(0, 2), ['a', 'b']);
    assert.deepEqual(result.evicted.sort(), ['default/a', 'default/b']);
  });

  it('keeps EVICTION_CONCURRENCY evictions in flight at once, no more, and evicts every pod', async () => {
    const names = Array.from({ length: 40 }, (_, i) => `p${i}`);
    const { kube, seen } = fakeKube(names, {}, { evictionMs: 50 });
    const activities = createDrainActivities(kube, { pollMs: 50 });
    const result: DrainResult = await activityEnvironment().run((input: DrainInput) => activities.drainNode(input), {
      nodeName: 'n',
      settings: { ...settings, evictionConcurrency: 8 },
      deadlineEpochMs: Date.now() + 10_000,
    });
    assert.equal(result.evicted.length, 40);
    assert.equal(seen.maxInFlight, 8);
  });

  it('heartbeats on its timer while one eviction takes longer than a heartbeat interval', async () => {
    const { kube } = fakeKube(['slow'], {}, { evictionMs: 1_500 });
    const activities = createDrainActivities(kube, { pollMs: 50, heartbeatMs: 100 });
    const env = activityEnvironment();
    const beats: number[] = [];
    env.on('heartbeat', () => beats.push(Date.now()));
    const started = Date.now();
    await env.run((input: DrainInput) => activities.drainNode(input), {
      nodeName: 'n',
      settings,
      deadlineEpochMs: Date.now() + 10_000,
    });
    const during = beats.filter((t) => t - started < 1_400);
    assert.ok(during.length >= 5, `only ${during.length} heartbeats while the eviction ran`);
  });

  it('aborts the evictions in flight when the attempt is cancelled, and rethrows the cancellation', async () => {
    const { kube, seen } = fakeKube(['a', 'b', 'c'], {}, { evictionMs: 60_000 });
    const activities = createDrainActivities(kube, { pollMs: 50, heartbeatMs: 50 });
    const env = activityEnvironment();
    const run = env.run((input: DrainInput) => activities.drainNode(input), {
      nodeName: 'n',
      settings,
      deadlineEpochMs: Date.now() + 120_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    env.cancel();
    const error = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof CancelledFailure, String(error));
    assert.equal(seen.aborted, 3, 'an eviction still in flight after the cancellation');
  });

  it('counts a drain whose last eviction went through just before the deadline as drained, not timed out', async () => {
    const deadline = Date.now() + 3_000;
    const { kube } = fakeKube(['a'], {}, { budgetUntil: deadline - 300 });
    const activities = createDrainActivities(kube, { pollMs: 1_000 });
    const result: DrainResult = await activityEnvironment().run((input: DrainInput) => activities.drainNode(input), {
      nodeName: 'n',
      settings,
      deadlineEpochMs: deadline,
    });
    assert.deepEqual(result.evicted, ['default/a']);
  });

  it('fails at once, not retried, when RBAC forbids evictions, naming the verb and resource to grant', async () => {
    const rbac = {
      code: 403,
      body: {
        message:
          'pods "a" is forbidden: User "system:serviceaccount:tnth:tnth" cannot create resource "pods/eviction" in API group "" in the namespace "default"',
        reason: 'Forbidden',
      },
    };
    const { kube, evictions } = fakeKube(['a', 'b'], { a: rbac, b: rbac });
    const activities = createDrainActivities(kube, { pollMs: 50 });
    const error = await activityEnvironment()
      .run((input: DrainInput) => activities.drainNode(input), {
        nodeName: 'n',
        settings,
        deadlineEpochMs: Date.now() + 5_000,
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(error instanceof ApplicationFailure, String(error));
    assert.equal(error.type, 'KubernetesRequestRefused');
    assert.equal(error.nonRetryable, true);
    assert.match(error.message, /cannot create resource "pods\/eviction"/);
    assert.ok(evictions.length <= 2, 'the forbidden evictions were tried again');
  });
});
