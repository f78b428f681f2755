// The drain against the stack's real kube-apiserver, as the service's own identity: one pod whose
// eviction the server refuses never keeps the other pods on the node.
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { createKubeClients } from '../../activities/kubernetes/client.js';
import { createDrainActivities, type DrainInput, type DrainRehearsal } from '../../activities/kubernetes/drain.js';
import { activityEnvironment } from '../helpers/activity-environment.js';
import { KubeFixture } from '../helpers/kube.js';
import { stackVar } from '../helpers/stack-env.js';

describe('drain on the real API server: each pod on its own', function () {
  this.timeout(60_000);
  let kube: KubeFixture;

  beforeEach(async () => {
    kube = new KubeFixture();
    await kube.ensureNamespace();
  });
  afterEach(async () => {
    await kube.cleanup();
  });

  it("evicts the other pods when one is under two PodDisruptionBudgets (the server's own 500), and says so", async () => {
    const node = (await kube.node()).metadata!.name!;
    await kube.nodeReady(node);
    const guarded = await kube.replicaSetPod(node, { gracePeriodSeconds: 1 });
    const free = await kube.replicaSetPod(node, { gracePeriodSeconds: 1 });
    await kube.podRunning(guarded.metadata!.name!);
    await kube.podRunning(free.metadata!.name!);
    // Each budget alone would allow the eviction; two of them make the eviction API refuse it.
    for (let i = 0; i < 2; i++) {
      const pdb = await kube.pdb({ app: guarded.metadata!.labels!.app! });
      await kube.setPdbStatus(pdb.metadata!.name!, { disruptionsAllowed: 1 });
    }
    const activities = createDrainActivities(createKubeClients(stackVar('SERVICE_KUBECONFIG')), { pollMs: 200 });
    const input: DrainInput = {
      nodeName: node,
      settings: {
        ignoreDaemonSets: true,
        deleteLocalData: true,
        podTerminationGracePeriodSeconds: -1,
        nodeTerminationGracePeriodSeconds: 8,
      },
      deadlineEpochMs: Date.now() + 8_000,
    };
    const error = await activityEnvironment()
      .run((i: DrainInput) => activities.drainNode(i), input)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(error instanceof ApplicationFailure, String(error));
    assert.equal(error.type, 'DrainTimeout', error.message);
    assert.match(
      error.message,
      new RegExp(
        `evictions refused: ${kube.namespace}/${guarded.metadata!.name!}: HTTP 500: .*more than one PodDisruptionBudget`,
      ),
    );
    await kube.podGone(free.metadata!.name!);
  });

  it('rehearses a drain for DRY_RUN: names the pods it would evict and leave, and evicts none', async () => {
    const node = (await kube.node()).metadata!.name!;
    await kube.nodeReady(node);
    const app = await kube.replicaSetPod(node, { gracePeriodSeconds: 1 });
    const agent = await kube.daemonSetPod(node);
    await kube.podRunning(app.metadata!.name!);
    const activities = createDrainActivities(createKubeClients(stackVar('SERVICE_KUBECONFIG')));
    const settings = {
      ignoreDaemonSets: true,
      deleteLocalData: true,
      podTerminationGracePeriodSeconds: -1,
      nodeTerminationGracePeriodSeconds: 8,
    };
    const plan: DrainRehearsal = await activityEnvironment().run(
      (i: Parameters<typeof activities.rehearseDrain>[0]) => activities.rehearseDrain(i),
      {
        nodeName: node,
        settings,
      },
    );
    assert.deepEqual(plan.wouldEvict, [`${kube.namespace}/${app.metadata!.name!}`]);
    assert.deepEqual(plan.skipped, [`${kube.namespace}/${agent.metadata!.name!} (DaemonSet)`]);
    assert.deepEqual(plan.undrainable, []);
    const pod = await kube.kube.core.readNamespacedPod({ namespace: kube.namespace, name: app.metadata!.name! });
    assert.equal(pod.metadata?.deletionTimestamp, undefined, 'the rehearsal evicted the pod');
    const refused: DrainRehearsal = await activityEnvironment().run(
      (i: Parameters<typeof activities.rehearseDrain>[0]) => activities.rehearseDrain(i),
      {
        nodeName: node,
        settings: { ...settings, ignoreDaemonSets: false },
      },
    );
    assert.equal(
      refused.undrainable.length,
      1,
      'a DaemonSet pod without IGNORE_DAEMON_SETS makes the node undrainable',
    );
  });
});
