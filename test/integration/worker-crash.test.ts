import assert from 'node:assert/strict';
import type { Client, Connection } from '@temporalio/client';
import { statusQuery, terminationWorkflowId } from '../../common/names.js';
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
import { stackVar, testCluster } from '../helpers/stack-env.js';
import { stackClient, uniqueTaskQueue } from '../helpers/temporal.js';

const hookTimeoutSeconds = 60;

describe('integration: a worker killed mid-drain (invariant 6)', function () {
  this.timeout(240_000);
  let client: Client;
  let connection: Connection;
  let group: GroupWithHook | undefined;
  const kube = new KubeFixture();
  const processes: TnthProcess[] = [];

  before(async () => {
    ({ client, connection } = await stackClient());
    await kube.ensureNamespace();
  });
  after(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await kube.cleanup();
    await group?.delete();
    await connection?.close();
  });

  it('loses nothing: another worker continues the drain and the heartbeats, and the hook never expires', async () => {
    const aws = awsClients();
    const queue = await createQueue(aws.sqs, 'tnth-crash');
    group = await createGroupWithHook({
      heartbeatTimeout: hookTimeoutSeconds,
      defaultResult: 'ABANDON',
      tags: { 'aws-node-termination-handler/managed': 'true' },
      queue,
      drainTestNotification: false,
    });
    const instanceId = group.instanceIds[0]!;
    const { pod } = await nodeWithPod(kube, aws.ec2, instanceId);
    const pdb = await kube.pdb({ app: pod.metadata!.labels!.app! });

    const env = {
      TEMPORAL_TASK_QUEUE: uniqueTaskQueue('crash'),
      KUBECONFIG: stackVar('SERVICE_KUBECONFIG'),
      QUEUE_URL: queue.url,
      HEARTBEAT_INTERVAL: '5',
      NODE_TERMINATION_GRACE_PERIOD: '20',
      DRAIN_RETRY_INTERVAL: '2',
      DUPLICATE_WINDOW: '0',
      SHUTDOWN_GRACE_PERIOD: '5',
    };
    const starter = startTnth('starter', env);
    const first = startTnth('worker', env);
    processes.push(starter, first);
    await terminateInstance(group, instanceId);

    const heartbeats = async () =>
      (await lifecycleCalls({ group: group!.groupName, actions: ['RecordLifecycleActionHeartbeat'] })).filter(
        (c) => c.outcome === 'ok',
      );
    await waitFor('the first worker to heartbeat the hook', async () => (await heartbeats()).length >= 1, {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    await first.exited;
    const second = startTnth('worker', env);
    processes.push(second);

    const handle = client.workflow.getHandle(terminationWorkflowId(testCluster, instanceId));
    await waitFor(
      'a drain attempt on the second worker',
      async () => ((await handle.query(statusQuery)).attempt >= 2 ? true : undefined),
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    await kube.setPdbStatus(pdb.metadata!.name!, { disruptionsAllowed: 1 });
    const status = (await handle.result()) as TerminationStatus;
    assert.equal(status.phase, 'Done');
    assert.equal(status.lifecycle?.result, 'CONTINUE');
    await kube.podGone(pod.metadata!.name!);

    const calls = await lifecycleCalls({ group: group.groupName });
    assert.deepEqual(
      calls.filter((c) => c.action === 'LifecycleActionExpired'),
      [],
      'the hook expired while a worker was down',
    );
    const completions = calls.filter((c) => c.action === 'CompleteLifecycleAction');
    assert.deepEqual(
      completions.map((c) => [c.outcome, c.result]),
      [['ok', 'CONTINUE']],
    );
    const times = [
      Date.parse(calls.find((c) => c.action === 'LifecycleActionStarted')!.time),
      ...(await heartbeats()).map((c) => Date.parse(c.time)),
      Date.parse(completions[0]!.time),
    ];
    assert.ok(
      times.some((t) => t > killedAt),
      'the second worker took the heartbeats over',
    );
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    assert.ok(
      Math.max(...gaps) < hookTimeoutSeconds * 1000,
      `the longest time without a heartbeat was ${Math.max(...gaps)} ms, the hook allows ${hookTimeoutSeconds} s`,
    );
  });
});
