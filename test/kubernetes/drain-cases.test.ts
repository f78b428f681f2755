// The drain against the stack's real kube-apiserver, as the service's own identity, in the cases
// where kubectl drain (k8s.io/kubectl pkg/drain: filters.go, drain.go evictPods and waitForDelete)
// decides a pod's fate in a way of its own. Every drained node also carries an ordinary ReplicaSet
// pod, which must be evicted and gone whatever becomes of the others.
import assert from 'node:assert/strict';
import { AdmissionregistrationV1Api, ApiException, type CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { createKubeClients, type KubeClients } from '../../activities/kubernetes/client.js';
import {
  createDrainActivities,
  type DrainInput,
  type DrainOptions,
  type DrainProgress,
  type DrainResult,
} from '../../activities/kubernetes/drain.js';
import { failureTypes } from '../../common/failures.js';
import type { DrainSettings } from '../../common/settings.js';
import { activityEnvironment } from '../helpers/activity-environment.js';
import { expectStatus, KubeFixture, until } from '../helpers/kube.js';
import { stackVar } from '../helpers/stack-env.js';

const settings: DrainSettings = {
  ignoreDaemonSets: true,
  deleteLocalData: true,
  podTerminationGracePeriodSeconds: -1,
  nodeTerminationGracePeriodSeconds: 30,
};

const nameOf = (pod: V1Pod) => pod.metadata!.name!;
const idOf = (pod: V1Pod) => `${pod.metadata!.namespace}/${pod.metadata!.name}`;
const ids = (pods: V1Pod[]) => pods.map(idOf).sort();
const sorted = (names: string[] | undefined) => [...(names ?? [])].sort();
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface Drain {
  heartbeats: DrainProgress[];
  outcome: Promise<{ result: DrainResult } | { error: unknown }>;
  /** When the activity returned or threw; undefined while it runs. */
  endedAt: number | undefined;
  cancel(): void;
}

const drainInput = (nodeName: string, withinMs: number, extra: Partial<DrainInput> = {}): DrainInput => ({
  nodeName,
  settings,
  deadlineEpochMs: Date.now() + withinMs,
  ...extra,
});

/** Runs the drain activity without awaiting it; its heartbeats are recorded as they come. */
function startDrain(input: DrainInput, options: DrainOptions = {}, kube: KubeClients = serviceKube()): Drain {
  const env = activityEnvironment();
  const activities = createDrainActivities(kube, { pollMs: 200, heartbeatMs: 200, ...options });
  const heartbeats: DrainProgress[] = [];
  env.on('heartbeat', (details: DrainProgress) => heartbeats.push(details));
  const drain: Drain = {
    heartbeats,
    endedAt: undefined,
    cancel: () => env.cancel(),
    outcome: env
      .run<[DrainInput], DrainResult, (i: DrainInput) => Promise<DrainResult>>((i) => activities.drainNode(i), input)
      .then(
        (result: DrainResult) => ({ result }),
        (error: unknown) => ({ error }),
      )
      .finally(() => {
        drain.endedAt = Date.now();
      }),
  };
  return drain;
}

const serviceKube = () => createKubeClients(stackVar('SERVICE_KUBECONFIG'));

async function succeeded(drain: Drain): Promise<DrainResult> {
  const outcome = await drain.outcome;
  if ('error' in outcome) throw outcome.error;
  return outcome.result;
}

async function failed(drain: Drain): Promise<ApplicationFailure> {
  const outcome = await drain.outcome;
  assert.ok('error' in outcome, `the drain succeeded: ${JSON.stringify('result' in outcome && outcome.result)}`);
  assert.ok(outcome.error instanceof ApplicationFailure, String(outcome.error));
  return outcome.error;
}

/** What the API server answers an eviction of the pod now: admission runs on a dry run too. */
async function evictionAnswer(kube: KubeFixture, pod: V1Pod) {
  const { name, namespace } = pod.metadata as { name: string; namespace: string };
  try {
    await kube.kube.core.createNamespacedPodEviction({
      name,
      namespace,
      dryRun: 'All',
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } },
    });
    return { code: 201, message: '', causes: [] as string[] };
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const status = JSON.parse(String(error.body)) as {
      message?: string;
      details?: { causes?: { reason?: string }[] };
    };
    return {
      code: error.code,
      message: status.message ?? '',
      causes: status.details?.causes?.map((c) => c.reason ?? '') ?? [],
    };
  }
}

/** Deletes the pod's DaemonSet. No garbage collector runs: the pod stays, its ownerReference pointing at nothing. */
async function orphan(kube: KubeFixture, pod: V1Pod): Promise<void> {
  const owner = pod.metadata!.ownerReferences!.find((o) => o.controller)!;
  // Background propagation (the default) removes the DaemonSet at once; Orphan would leave it
  // Terminating behind a finalizer that only the garbage collector removes.
  await kube.kube.apps.deleteNamespacedDaemonSet({ name: owner.name, namespace: pod.metadata!.namespace! });
}

/** A recording wrapper around the real client: each eviction's call and answer, in order; calls still go to the server. */
function recordingEvictions(core: CoreV1Api, events: string[]): CoreV1Api {
  return new Proxy(core, {
    get(target, property, receiver) {
      if (property !== 'createNamespacedPodEviction') return Reflect.get(target, property, receiver) as unknown;
      return async (...args: Parameters<CoreV1Api['createNamespacedPodEviction']>) => {
        const pod = `${args[0].namespace}/${args[0].name}`;
        events.push(`sent ${pod}`);
        try {
          return await target.createNamespacedPodEviction(...args);
        } finally {
          events.push(`answered ${pod}`);
        }
      };
    },
  });
}

describe('drain on the real API server: the cases kubectl drain decides', function () {
  // The default skip-wait case alone takes over a minute; everything else a few seconds each.
  this.timeout(100_000);
  let kube: KubeFixture;

  async function kwokNode(): Promise<string> {
    const name = (await kube.node()).metadata!.name!;
    await kube.nodeReady(name);
    return name;
  }

  // The one slow case, with the default SKIP_WAIT_FOR_DELETE_TIMEOUT (60 s): started before the
  // other tests and awaited by the last one, so its minute passes while they run.
  const slow = {} as { kube: KubeFixture; drain: Drain; ordinary: V1Pod; stuck: V1Pod };
  before(async () => {
    slow.kube = new KubeFixture();
    await slow.kube.ensureNamespace();
    const node = (await slow.kube.node({ kwok: false })).metadata!.name!;
    slow.ordinary = await slow.kube.replicaSetPod(node, { gracePeriodSeconds: 0 });
    slow.stuck = await slow.kube.replicaSetPod(node, { gracePeriodSeconds: 1 });
    assert.equal(settings.skipWaitForDeleteTimeoutSeconds, undefined, 'the settings leave the default');
    slow.drain = startDrain(drainInput(node, 95_000));
  });
  after(async () => {
    if (slow.drain?.endedAt === undefined) slow.drain?.cancel();
    await slow.drain?.outcome;
    await slow.kube?.cleanup();
  });

  beforeEach(async () => {
    kube = new KubeFixture();
    await kube.ensureNamespace();
  });
  afterEach(async () => {
    await kube.cleanup();
  });

  it('waits for a pod whose namespace is being deleted (403 NamespaceTerminating), never calling it refused, and ends once it is gone', async () => {
    // kubectl evictPods: a 403 with cause NamespaceTerminating is no error; the eviction is tried
    // again until the pod is being deleted, then the pod is waited for like any evicted one.
    const node = await kwokNode();
    const ordinary = await kube.replicaSetPod(node, { gracePeriodSeconds: 1 });
    const namespace = await kube.ownNamespace();
    const doomed = await kube.replicaSetPod(node, { gracePeriodSeconds: 1, namespace });
    await kube.podRunning(nameOf(doomed), undefined, namespace);
    await kube.kube.core.deleteNamespace({ name: namespace });
    // No namespace controller runs: the namespace stays Terminating with the pod in it.
    const answer = await until('an eviction in the deleted namespace is refused', async () => {
      const a = await evictionAnswer(kube, doomed);
      return a.code !== 201 && a;
    });
    assert.equal(answer.code, 403, answer.message);
    assert.deepEqual(answer.causes, ['NamespaceTerminating'], answer.message);

    const drain = startDrain(drainInput(node, 30_000));
    await until('the drain has evicted the ordinary pod and tried the other', () =>
      Promise.resolve(
        drain.heartbeats.some(
          (h) => h.evicted?.includes(idOf(ordinary)) && h.left?.some((l) => l.reason !== 'not evicted yet'),
        ),
      ),
    );
    await kube.podGone(nameOf(ordinary));
    // The drain sees it gone at its next look (a round each second, from the watch cache).
    await until('the drain to see the ordinary pod gone', () =>
      Promise.resolve(drain.heartbeats.at(-1)?.left?.every((l) => l.pod !== idOf(ordinary)) ?? false),
    );
    const seen = drain.heartbeats.length;
    await until('five heartbeats more', () => Promise.resolve(drain.heartbeats.length >= seen + 5));
    assert.equal(drain.endedAt, undefined, 'the drain keeps waiting for the pod of the deleted namespace');
    for (const progress of drain.heartbeats.slice(seen)) {
      assert.deepEqual(progress.left, [{ pod: idOf(doomed), reason: 'its namespace is being deleted' }]);
    }
    assert.deepEqual(
      drain.heartbeats.flatMap((h) => h.refused ?? []),
      [],
      'no heartbeat reports the pod as refused',
    );

    // The namespace controller's part: it deletes the pods of the namespace (kwok finishes it).
    await kube.kube.core.deleteNamespacedPod({ name: nameOf(doomed), namespace });
    const result = await succeeded(drain);
    assert.deepEqual(result.evicted, [idOf(ordinary)]);
    assert.equal(await expectStatus(kube.kube.core.readNamespacedPod({ name: nameOf(doomed), namespace })), 404);
    // Then the controller's last step: the namespace, empty now, is finalized and removed.
    await kube.finalizeNamespace(namespace);
    assert.equal(await expectStatus(kube.kube.core.readNamespace({ name: namespace })), 404);
  });

  it("names the pod whose eviction an admission policy refuses with the server's words, and evicts every other", async () => {
    // kubectl evictPods: any other error ends that pod's eviction with "error when evicting
    // pods/...: <the server's error>", while the other pods' evictions go on to the end; the drain
    // fails with those errors.
    const node = await kwokNode();
    const ordinary = [
      await kube.replicaSetPod(node, { gracePeriodSeconds: 1 }),
      await kube.replicaSetPod(node, { gracePeriodSeconds: 1 }),
    ];
    const guarded = await kube.replicaSetPod(node, { gracePeriodSeconds: 1 });
    const admission = kube.kube.kubeconfig.makeApiClient(AdmissionregistrationV1Api);
    const policy = kube.name('tnth-test-no-eviction');
    const message = `${policy} keeps ${nameOf(guarded)} where it is`;
    await admission.createValidatingAdmissionPolicy({
      body: {
        metadata: { name: policy },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: {
            resourceRules: [
              { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods/eviction'] },
            ],
          },
          validations: [{ expression: `request.name != '${nameOf(guarded)}'`, message }],
        },
      },
    });
    try {
      await admission.createValidatingAdmissionPolicyBinding({
        body: {
          metadata: { name: policy },
          spec: {
            policyName: policy,
            validationActions: ['Deny'],
            matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': kube.namespace } } },
          },
        },
      });
      // The policy takes effect once the API server's admission has loaded it (under a second here).
      const answer = await until('the policy refuses the eviction', async () => {
        const a = await evictionAnswer(kube, guarded);
        return a.code !== 201 && a;
      });
      // A policy without its own `reason` answers 422 Invalid.
      assert.equal(answer.code, 422, answer.message);
      const words = `HTTP 422: pods "${nameOf(guarded)}" is forbidden: ValidatingAdmissionPolicy '${policy}' with binding '${policy}' denied request: ${message}`;
      assert.equal(`HTTP ${answer.code}: ${answer.message}`, words);

      const error = await failed(startDrain(drainInput(node, 8_000)));
      assert.equal(error.type, failureTypes.drainTimeout, error.message);
      assert.match(error.message, new RegExp(`evictions refused: ${escaped(idOf(guarded))}: ${escaped(words)}`));
      const [progress] = error.details as DrainProgress[];
      assert.deepEqual(progress!.left, [{ pod: idOf(guarded), reason: `eviction refused: ${words}` }]);
      assert.deepEqual(sorted(progress!.evicted), ids(ordinary));
      for (const pod of ordinary) await kube.podGone(nameOf(pod));
    } finally {
      await admission.deleteValidatingAdmissionPolicyBinding({ name: policy }).catch(() => undefined);
      await admission.deleteValidatingAdmissionPolicy({ name: policy });
    }
  });

  it('evicts a pod whose DaemonSet is gone and skips a pod whose DaemonSet exists (IGNORE_DAEMON_SETS=true)', async () => {
    // kubectl filters.go daemonSetFilter: a pod whose controlling DaemonSet is not found is deleted
    // under --force (as NTH runs it), with a warning; one whose DaemonSet exists is skipped under
    // --ignore-daemonsets.
    const node = await kwokNode();
    const ordinary = await kube.replicaSetPod(node, { gracePeriodSeconds: 1 });
    const orphaned = await kube.daemonSetPod(node, { gracePeriodSeconds: 1 });
    const daemon = await kube.daemonSetPod(node, { gracePeriodSeconds: 1 });
    await orphan(kube, orphaned);

    const result = await succeeded(startDrain(drainInput(node, 20_000)));
    assert.deepEqual(sorted(result.evicted), ids([ordinary, orphaned]));
    assert.deepEqual(result.skipped, [`${idOf(daemon)} (DaemonSet)`]);
    await kube.podGone(nameOf(orphaned));
    await kube.podGone(nameOf(ordinary));
    const left = await kube.kube.core.readNamespacedPod({ name: nameOf(daemon), namespace: kube.namespace });
    assert.equal(left.metadata?.deletionTimestamp, undefined, 'the DaemonSet pod is not evicted');
  });

  it('drains a node whose only DaemonSet pod is orphaned when DaemonSets are not ignored (IGNORE_DAEMON_SETS=false), and refuses one whose DaemonSet exists', async () => {
    // kubectl filters.go daemonSetFilter: the DaemonSet's existence is asked before
    // --ignore-daemonsets; only a DaemonSet that exists makes the drain fail without it.
    const node = await kwokNode();
    const other = await kwokNode();
    const ordinary = await kube.replicaSetPod(node, { gracePeriodSeconds: 1 });
    const orphaned = await kube.daemonSetPod(node, { gracePeriodSeconds: 1 });
    const daemon = await kube.daemonSetPod(other, { gracePeriodSeconds: 1 });
    await orphan(kube, orphaned);
    const strict = { ...settings, ignoreDaemonSets: false };

    const [drained, refused] = [
      startDrain(drainInput(node, 20_000, { settings: strict })),
      startDrain(drainInput(other, 20_000, { settings: strict })),
    ];
    const result = await succeeded(drained);
    assert.deepEqual(sorted(result.evicted), ids([ordinary, orphaned]));
    assert.deepEqual(result.skipped, []);
    await kube.podGone(nameOf(orphaned));
    await kube.podGone(nameOf(ordinary));
    const error = await failed(refused);
    assert.equal(error.type, failureTypes.undrainable, error.message);
    assert.ok(error.message.includes(`${idOf(daemon)} is managed by a DaemonSet`), error.message);
  });

  it('stops waiting for pods stuck terminating on a node without a kubelet 3 s past their deletionTimestamp (SKIP_WAIT_FOR_DELETE_TIMEOUT=3), and lists them', async () => {
    // kubectl drain.go waitForDelete (shouldSkipPod) and filters.go skipDeletedFilter: under
    // --skip-wait-for-delete-timeout=N a pod deleted more than N s ago is no longer waited for.
    const node = (await kube.node({ kwok: false })).metadata!.name!;
    // No grace period: the API server deletes it at once, kubelet or not.
    const ordinary = await kube.replicaSetPod(node, { gracePeriodSeconds: 0 });
    const stuck = [
      await kube.replicaSetPod(node, { gracePeriodSeconds: 1 }),
      await kube.replicaSetPod(node, { gracePeriodSeconds: 1 }),
    ];

    const drain = startDrain(
      drainInput(node, 30_000, { settings: { ...settings, skipWaitForDeleteTimeoutSeconds: 3 } }),
    );
    const result = await succeeded(drain);
    assert.deepEqual(sorted(result.evicted), ids([ordinary, ...stuck]));
    assert.deepEqual(sorted(result.notWaitedFor), ids(stuck));
    await kube.podGone(nameOf(ordinary));
    for (const pod of stuck) {
      const now = await kube.kube.core.readNamespacedPod({ name: nameOf(pod), namespace: kube.namespace });
      const deleting = now.metadata?.deletionTimestamp;
      assert.ok(deleting, `${nameOf(pod)} is being deleted, and still there`);
      assert.ok(drain.endedAt! - new Date(deleting).getTime() > 3_000, 'waited 3 s past its deletionTimestamp first');
    }
  });

  it('waits for no pod of a node whose kubelet is gone (kubeletGone): returns once all are evicted, inside their grace period', async () => {
    // Not kubectl's, which knows no instance state: a stopped or terminated instance runs no
    // kubelet to finish any deletion, so waiting (kubectl's default of forever) gains nothing.
    const node = (await kube.node({ kwok: false })).metadata!.name!;
    const ordinary = await kube.replicaSetPod(node, { gracePeriodSeconds: 0 });
    const stuck = [
      await kube.replicaSetPod(node, { gracePeriodSeconds: 120 }),
      await kube.replicaSetPod(node, { gracePeriodSeconds: 120 }),
    ];

    const drain = startDrain(drainInput(node, 30_000, { kubeletGone: true }));
    const result = await succeeded(drain);
    assert.deepEqual(sorted(result.evicted), ids([ordinary, ...stuck]));
    assert.deepEqual(sorted(result.notWaitedFor), ids(stuck));
    await kube.podGone(nameOf(ordinary));
    for (const pod of stuck) {
      const now = await kube.kube.core.readNamespacedPod({ name: nameOf(pod), namespace: kube.namespace });
      const deleting = now.metadata?.deletionTimestamp;
      assert.ok(deleting, `${nameOf(pod)} is being deleted`);
      assert.ok(drain.endedAt! < new Date(deleting).getTime(), 'the drain ended before the grace period did');
    }
  });

  it('fails NodeNotFound, not retried, when the node is deleted while a PodDisruptionBudget holds a pod, the other pods evicted before', async () => {
    // Not kubectl's, which retries a 429 every 5 s until its --timeout, node or no node; what is
    // kubectl's is that the other pods are evicted meanwhile, each on its own (evictPods).
    const node = await kwokNode();
    const ordinary = await kube.replicaSetPod(node, { gracePeriodSeconds: 1 });
    const held = await kube.replicaSetPod(node, { gracePeriodSeconds: 1 });
    // The eviction API checks budgets only for a Running pod.
    await kube.podRunning(nameOf(held));
    await kube.pdb({ app: held.metadata!.labels!.app! });

    const drain = startDrain(drainInput(node, 30_000));
    await until('the budget holds one pod and the other is evicted', () =>
      Promise.resolve(
        drain.heartbeats.some((h) => h.blockedByBudget.includes(idOf(held)) && h.evicted?.includes(idOf(ordinary))),
      ),
    );
    await kube.podGone(nameOf(ordinary));
    assert.equal(drain.endedAt, undefined, 'the budget keeps the drain going');
    await kube.kube.core.deleteNode({ name: node });

    const error = await failed(drain);
    assert.equal(error.type, failureTypes.nodeGone, error.message);
    assert.equal(error.nonRetryable, true);
    const left = await kube.kube.core.readNamespacedPod({ name: nameOf(held), namespace: kube.namespace });
    assert.equal(left.metadata?.deletionTimestamp, undefined, 'the held pod was never evicted');
  });

  it("evicts tnth's own pods last: every other pod's eviction answered before a replica's is sent, the replica's before the worker's own pod's", async () => {
    // Not kubectl's, which evicts all pods at once: tnth's worker hands the drain over to the
    // other replicas before its own pod stops, and the replicas go only once all else has.
    const node = await kwokNode();
    const labels = { 'app.kubernetes.io/name': 'tnth', 'app.kubernetes.io/instance': kube.name('tnth') };
    // Created first, so the node's pod list has them before the others.
    const own = await kube.replicaSetPod(node, { gracePeriodSeconds: 1, labels });
    const replica = await kube.replicaSetPod(node, { gracePeriodSeconds: 1, labels });
    const ordinary = [
      await kube.replicaSetPod(node, { gracePeriodSeconds: 1 }),
      await kube.replicaSetPod(node, { gracePeriodSeconds: 1 }),
      await kube.replicaSetPod(node, { gracePeriodSeconds: 1 }),
    ];
    const events: string[] = [];
    const service = serviceKube();
    const recorded = { ...service, core: recordingEvictions(service.core, events) };

    const drain = startDrain(
      drainInput(node, 30_000),
      { own: { podName: nameOf(own), namespace: kube.namespace, labels } },
      recorded,
    );
    const result = await succeeded(drain);
    const first = (event: string, pod: V1Pod) => {
      const at = events.indexOf(`${event} ${idOf(pod)}`);
      assert.ok(at >= 0, `no eviction of ${idOf(pod)}: ${events.join(', ')}`);
      return at;
    };
    for (const pod of ordinary) {
      assert.ok(first('answered', pod) < first('sent', replica), events.join(', '));
    }
    assert.ok(first('answered', replica) < first('sent', own), events.join(', '));
    assert.deepEqual(sorted(result.evicted), ids([own, replica, ...ordinary]));
    for (const pod of [own, replica, ...ordinary]) await kube.podGone(nameOf(pod));
  });

  it('by default stops waiting for a pod stuck terminating 60 s past its deletionTimestamp, and lists it', async () => {
    // kubectl's --skip-wait-for-delete-timeout as tnth defaults it (60 s; kubectl's own default, 0,
    // waits for ever). Started in `before`.
    const result = await succeeded(slow.drain);
    assert.deepEqual(sorted(result.evicted), ids([slow.ordinary, slow.stuck]));
    assert.deepEqual(result.notWaitedFor, [idOf(slow.stuck)]);
    await slow.kube.podGone(nameOf(slow.ordinary));
    const now = await slow.kube.kube.core.readNamespacedPod({
      name: nameOf(slow.stuck),
      namespace: slow.kube.namespace,
    });
    const deleting = now.metadata?.deletionTimestamp;
    assert.ok(deleting, 'the stuck pod is being deleted, and still there');
    assert.ok(
      slow.drain.endedAt! - new Date(deleting).getTime() > 60_000,
      'not before 60 s past its deletionTimestamp',
    );
  });
});
