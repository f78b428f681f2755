// A tnth worker replica running on the very node it drains: it evicts every other pod first, its
// own pod last, and when the kubelet stops it for that eviction, another replica resumes the same
// drain attempt. The test plays the kubelet: SIGTERM to the worker whose pod was evicted, and the
// pod object kept (by a finalizer) until that process has exited, as a real kubelet keeps it.
import assert from 'node:assert/strict';
import type { Client, Connection } from '@temporalio/client';
import { terminationWorkflowId } from '../../common/names.js';
import type { TerminationStatus } from '../../common/status.js';
import {
  awsClients,
  createGroupWithHook,
  createQueue,
  terminateInstance,
  waitFor,
  type GroupWithHook,
} from '../helpers/aws.js';
import { lifecycleCalls } from '../helpers/emulator.js';
import { nodeWithPod } from '../helpers/instance-node.js';
import { KubeFixture } from '../helpers/kube.js';
import { startTnth, type TnthProcess } from '../helpers/processes.js';
import { prebuiltBundle } from '../helpers/service.js';
import { stackVar, testCluster } from '../helpers/stack-env.js';
import { stackClient, uniqueTaskQueue } from '../helpers/temporal.js';

const kubeletHold = 'tnth.test/kubelet-running';

describe('integration: a worker on the node it drains hands the drain over', function () {
  this.timeout(420_000);
  let client: Client;
  let connection: Connection;
  let group: GroupWithHook | undefined;
  const kube = new KubeFixture();
  const processes: TnthProcess[] = [];

  let bundle: string;

  before(async () => {
    ({ client, connection } = await stackClient());
    await kube.ensureNamespace();
    // Built once: each worker starts in seconds, as the image's does, however busy the machine is.
    bundle = await prebuiltBundle();
  });
  after(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await kube.cleanup();
    await group?.delete();
    await connection?.close();
  });

  it('evicts its own pod after every other pod, and another replica finishes the attempt: no attempt fails', async () => {
    const aws = awsClients();
    const queue = await createQueue(aws.sqs, 'tnth-self');
    group = await createGroupWithHook({
      heartbeatTimeout: 120,
      defaultResult: 'ABANDON',
      tags: { 'aws-node-termination-handler/managed': 'true' },
      queue,
      drainTestNotification: false,
    });
    const instanceId = group.instanceIds[0]!;
    const { nodeName, pod: appPod } = await nodeWithPod(kube, aws.ec2, instanceId);
    const release = { 'app.kubernetes.io/name': `tnth-${kube.run}`, 'app.kubernetes.io/instance': 'test' };
    const ownPod = await kube.replicaSetPod(nodeName, { gracePeriodSeconds: 1, labels: release });
    const ownName = ownPod.metadata!.name!;
    await kube.podRunning(ownName);
    await kube.kube.core.patchNamespacedPod({
      name: ownName,
      namespace: kube.namespace,
      body: [{ op: 'add', path: '/metadata/finalizers', value: [kubeletHold] }],
    });

    // The defaults a user gets from the chart, but for the instance's own names.
    const env = (podName: string) => ({
      TEMPORAL_TASK_QUEUE: taskQueue,
      KUBECONFIG: stackVar('SERVICE_KUBECONFIG'),
      QUEUE_URL: queue.url,
      DUPLICATE_WINDOW: '0',
      WORKFLOW_BUNDLE_PATH: bundle,
      POD_NAME: podName,
      POD_NAMESPACE: kube.namespace,
      NODE_NAME: nodeName,
      OWN_PODS_SELECTOR: Object.entries(release)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    });
    const taskQueue = uniqueTaskQueue('self');
    const starter = startTnth('starter', env('starter-elsewhere'));
    const onNode = startTnth('worker', env(ownName));
    processes.push(starter, onNode);
    await terminateInstance(group, instanceId);

    const evicted = await waitFor(
      'the worker to evict its own pod',
      async () => {
        const pod = await kube.kube.core.readNamespacedPod({ name: ownName, namespace: kube.namespace });
        return pod.metadata?.deletionTimestamp ? pod : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 200 },
    );
    assert.ok(evicted);
    const appGone = await kube.kube.core
      .readNamespacedPod({ name: appPod.metadata!.name!, namespace: kube.namespace })
      .then(
        (p) => p.metadata?.deletionTimestamp !== undefined,
        () => true,
      );
    assert.ok(appGone, 'the worker evicted its own pod before the application pod');

    // The kubelet: a replica elsewhere is running, the evicted one is stopped, its pod goes once it exited.
    const elsewhere = startTnth('worker', env('worker-elsewhere'));
    processes.push(elsewhere);
    await onNode.stop(90_000);
    await kube.kube.core.patchNamespacedPod({
      name: ownName,
      namespace: kube.namespace,
      body: [{ op: 'remove', path: '/metadata/finalizers' }],
    });

    const handle = client.workflow.getHandle(terminationWorkflowId(testCluster, instanceId));
    const status = (await handle.result()) as TerminationStatus;
    assert.equal(status.phase, 'Done');
    assert.equal(status.attempt, 1, 'the hand-over counted as a failed attempt');
    assert.equal(status.lifecycle?.result, 'CONTINUE');
    await kube.podGone(ownName);
    const completions = (await lifecycleCalls({ group: group.groupName })).filter(
      (c) => c.action === 'CompleteLifecycleAction',
    );
    assert.deepEqual(
      completions.map((c) => [c.outcome, c.result]),
      [['ok', 'CONTINUE']],
    );
    assert.match(onNode.output(), /is on the node it drains: evicting it last/);
  });
});
