import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../helpers/aws.js';
import { lifecycleCalls } from '../helpers/emulator.js';
import { adminClients } from '../helpers/kube.js';
import { startTnth, type TnthProcess } from '../helpers/processes.js';
import { stackVar } from '../helpers/stack-env.js';
import { uniqueTaskQueue } from '../helpers/temporal.js';
import { removeDemoObjects } from './demo-objects.js';
import { root } from './tools.js';

describe('dev/compose/demo.ts: the compose demo gives the service a termination to handle (here on the local stack)', function () {
  this.timeout(300_000);
  const group = `tnth-demo-test-${randomUUID().slice(0, 8)}`;
  const queueUrl = `${stackVar('AWS_ENDPOINT_URL')}/123456789012/${group}`;
  const readyFile = join(tmpdir(), `${group}.ready`);
  const labelSelector = `tnth.dev/demo-group=${group}`;
  const processes: TnthProcess[] = [];

  after(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    rmSync(readyFile, { force: true });
    await removeDemoObjects(group, queueUrl);
  });

  it('makes a group, nodes and pods, scales one instance in, and sees it drained and completed with CONTINUE', async () => {
    const env = {
      QUEUE_URL: queueUrl,
      TEMPORAL_TASK_QUEUE: uniqueTaskQueue('compose-demo'),
      HEARTBEAT_INTERVAL: '5',
      DUPLICATE_WINDOW: '0',
      SHUTDOWN_GRACE_PERIOD: '5',
    };
    // The worker with the service's own identity: the demo's termination needs nothing more.
    processes.push(startTnth('worker', { ...env, KUBECONFIG: stackVar('SERVICE_KUBECONFIG') }));
    const demo = spawn(process.execPath, ['--import', 'tsx', 'dev/compose/demo.ts'], {
      cwd: root,
      env: { ...process.env, QUEUE_URL: queueUrl, DEMO_GROUP: group, DEMO_READY_FILE: readyFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    demo.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    demo.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((done) => demo.once('exit', (code) => done(code)));
    try {
      // As compose does: the starter once the demo made the queue.
      await waitFor('the demo to create the queue', () => Promise.resolve(existsSync(readyFile)), {
        timeoutMs: 60_000,
        intervalMs: 200,
      });
      processes.push(startTnth('starter', env));
      const code = await Promise.race([
        exited,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the demo did not finish')), 240_000)),
      ]);
      assert.equal(code, 0, `the demo's output:\n${output}`);
    } finally {
      demo.kill();
    }
    assert.match(output, /watch it: http:\/\/\S+\/namespaces\/default\/workflows\/termination-test-i-/);
    assert.match(output, /termination Done: lifecycle action CONTINUE/);

    const calls = await lifecycleCalls({ group });
    const completions = calls.filter((c) => c.action === 'CompleteLifecycleAction');
    assert.deepEqual(
      completions.map((c) => [c.outcome, c.result]),
      [['ok', 'CONTINUE']],
    );
    assert.ok(
      calls.some((c) => c.action === 'RecordLifecycleActionHeartbeat'),
      'the drain was heartbeated',
    );
    const kube = adminClients();
    const nodes = await kube.core.listNode({ labelSelector });
    const terminated = nodes.items.filter((n) => n.spec?.unschedulable);
    assert.equal(terminated.length, 1, 'the scaled-in instance node is cordoned, the other one is not');
    const pods = await kube.core.listNamespacedPod({ namespace: 'tnth-demo', labelSelector });
    assert.ok(
      pods.items.every((p) => p.spec?.nodeName !== terminated[0]!.metadata!.name),
      'no pod is left on the drained node',
    );
  });
});
