import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { awsClients, waitFor } from '../helpers/aws.js';
import { lifecycleCalls } from '../helpers/emulator.js';
import { removeDemoObjects } from './demo-objects.js';
import { root } from './tools.js';

/** A port free now, for a probes server of the dev.sh under test (beside a developer's own). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The processes `pid` started (`ps --ppid`): none when ps finds none. */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map(Number)
      .filter((child) => child > 0);
  } catch {
    return [];
  }
}

describe('dev/dev.sh: `npm run dev` shows a termination end to end, then keeps serving', function () {
  // A worker's first start bundles the workflows (tens of seconds), the demo's drain another ten.
  this.timeout(180_000);
  const suffix = randomUUID().slice(0, 8);
  const cluster = `dev-demo-${suffix}`;
  const group = `tnth-demo-dev-${suffix}`;
  let queueUrl = '';

  after(async () => {
    if (queueUrl) await removeDemoObjects(group, queueUrl);
  });

  it('runs the demo once worker and starter are ready: cordoned, draining, heartbeat sent, completed; the service outlives it and stops cleanly', async () => {
    const { QueueUrl } = await awsClients().sqs.send(new CreateQueueCommand({ QueueName: `tnth-dev-${suffix}` }));
    queueUrl = QueueUrl!;
    const workerPort = await freePort();
    const starterPort = await freePort();
    const dev = spawn('bash', ['dev/dev.sh'], {
      cwd: root,
      env: {
        ...process.env,
        QUEUE_URL: queueUrl,
        // The default task queue is tnth-termination-<cluster>: this run's own.
        CLUSTER_NAME: cluster,
        DEMO_GROUP: group,
        DEV_WORKER_PROBES_PORT: String(workerPort),
        DEV_STARTER_PROBES_PORT: String(starterPort),
        DUPLICATE_WINDOW: '0',
        SHUTDOWN_GRACE_PERIOD: '5',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    dev.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    dev.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let exitCode: number | null | undefined;
    const exited = new Promise<number | null>((done) =>
      dev.once('exit', (code, signal) => done((exitCode = code ?? (signal ? -1 : null)))),
    );
    try {
      await waitFor(
        'the demo to finish',
        () => Promise.resolve(exitCode !== undefined || /demo: (finished|failed)/.test(output)),
        { timeoutMs: 150_000, intervalMs: 200 },
      ).catch((error: Error) => {
        throw new Error(`${error.message}; dev.sh's output:\n${output}`);
      });
      assert.equal(exitCode, undefined, `dev.sh ended with the demo (exit ${exitCode}):\n${output}`);
      assert.match(output, /demo: termination Done: lifecycle action CONTINUE/, output);
      assert.match(output, /demo: finished\. The service keeps running/, output);
      assert.match(output, new RegExp(`watch it: http://\\S+/workflows/termination-${cluster}-i-`), output);
      const steps = [/cordoned node/, /phase Draining/, /lifecycle heartbeat 1 sent/, /lifecycle action completed/];
      const lines = output.split('\n').filter((line) => line.startsWith('demo: '));
      const at = steps.map((step) => lines.findIndex((line) => step.test(line)));
      assert.ok(
        at.every((line, i) => line >= 0 && (i === 0 || line > at[i - 1]!)),
        `cordoned, draining, a heartbeat and the completion are printed, in this order:\n${output}`,
      );
      assert.match(output, /budget \S+: 0 evictions allowed/, 'the budget held the second eviction back');

      const completions = (await lifecycleCalls({ group })).filter((c) => c.action === 'CompleteLifecycleAction');
      assert.deepEqual(
        completions.map((c) => [c.outcome, c.result]),
        [['ok', 'CONTINUE']],
      );
      // The service outlives the demo: the worker still answers its readiness probe.
      assert.equal((await fetch(`http://127.0.0.1:${workerPort}/readyz`)).status, 200);

      dev.kill('SIGTERM');
      const code = await Promise.race([
        exited,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('dev.sh did not stop')), 30_000)),
      ]);
      assert.equal(code, 0, `dev.sh's exit status after SIGTERM:\n${output}`);
      assert.match(output, /"msg":"worker stopped"/, 'the worker shut down, not killed');
      assert.match(output, /"msg":"starter stopped: polling ended/, 'the starter shut down, not killed');
      await assert.rejects(fetch(`http://127.0.0.1:${workerPort}/readyz`), 'no worker is left running');
    } finally {
      if (exitCode === undefined) {
        // A failed test: what dev.sh started (each in a process group of its own), then dev.sh itself.
        const children = childrenOf(dev.pid!);
        for (const pid of [...children, dev.pid!]) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
    }
  });
});
