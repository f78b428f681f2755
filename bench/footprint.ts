// `npm run bench:footprint`: the memory of a worker and a starter at rest, as production runs them
// (the compiled `dist/`, the prebuilt workflow bundle, the image's node flags and environment:
// bench/image-runtime.ts; BENCH_NODE_FLAGS instead of its flags), on the local stack with nothing to do. Prints
// the resident set at start and at rest, and where it goes: the V8 heap, external and array buffers
// (the SDK's payloads), and what is left outside V8 (the SDK's Rust core, code, the allocator).
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { bundlerOptions, workflowsPath } from '../worker/workflow-bundle.js';
import { awsClients, createQueue } from '../test/helpers/aws.js';
import { loadStackEnv, stackVar } from '../test/helpers/stack-env.js';
import { uniqueTaskQueue } from '../test/helpers/temporal.js';
import { imageRuntime } from '../test/deploy/dockerfile.js';

const restSeconds = Number(process.env.BENCH_REST_SECONDS ?? 60);
const root = resolve(import.meta.dirname, '..');
const mib = (bytes: number) => +(bytes / 2 ** 20).toFixed(1);

loadStackEnv();
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
const dir = mkdtempSync(join(tmpdir(), 'tnth-footprint-'));
const bundlePath = join(dir, 'workflow-bundle.js');
writeFileSync(bundlePath, (await bundleWorkflowCode({ workflowsPath, ...bundlerOptions })).code);
const queue = await createQueue(awsClients().sqs, 'tnth-footprint');
const image = imageRuntime();
const nodeFlags = (process.env.BENCH_NODE_FLAGS?.split(' ') ?? image.nodeFlags).filter(Boolean);
const env = {
  ...image.env,
  ...process.env,
  CLUSTER_NAME: 'footprint',
  TEMPORAL_TASK_QUEUE: uniqueTaskQueue('footprint'),
  KUBECONFIG: stackVar('SERVICE_KUBECONFIG'),
  QUEUE_URL: queue.url,
  WORKFLOW_BUNDLE_PATH: bundlePath,
  ENABLE_PROBES_SERVER: 'true',
  LOG_LEVEL: 'warn',
};

const rss = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

async function measure(subcommand: 'worker' | 'starter', probesPort: number) {
  const report = join(dir, `${subcommand}.json`);
  const child = spawn(
    process.execPath,
    [...nodeFlags, '--import', join(root, 'bench/memory-report.mjs'), join(root, 'dist/bin/tnth.js'), subcommand],
    {
      env: { ...env, PROBES_SERVER_PORT: String(probesPort), TNTH_MEMORY_REPORT: report },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${probesPort}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`${subcommand} not ready within 60 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const samples: number[] = [];
  for (let i = 0; i < restSeconds; i++) {
    samples.push(rss(child.pid!));
    await new Promise((r) => setTimeout(r, 1_000));
  }
  const usage = JSON.parse(readFileSync(report, 'utf8')) as NodeJS.MemoryUsage;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  const atRest = samples.slice(-Math.max(1, Math.floor(samples.length / 3))).sort((a, b) => a - b);
  const rest = atRest[Math.floor(atRest.length / 2)]!;
  return {
    rssAtStartMiB: mib(Math.max(...samples.slice(0, 10))),
    rssAtRestMiB: mib(rest),
    v8HeapUsedMiB: mib(usage.heapUsed),
    v8HeapTotalMiB: mib(usage.heapTotal),
    externalMiB: mib(usage.external),
    arrayBuffersMiB: mib(usage.arrayBuffers),
    outsideV8MiB: mib(rest - usage.heapTotal - usage.external),
  };
}

const worker = await measure('worker', 18_180);
const starter = await measure('starter', 18_181);
console.log(
  JSON.stringify(
    { restSeconds, nodeFlags, imageEnv: image.env, workflowBundleMiB: mib(statSync(bundlePath).size), worker, starter },
    null,
    2,
  ),
);
