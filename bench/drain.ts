// `npm run bench:drain`: tnth's drain against the real `kubectl drain` of the same Kubernetes
// release, on the stack's kube-apiserver with kwok nodes. Each case fills two identical cordoned
// nodes with BENCH_PODS (110, the kubelet's default max pods) ReplicaSet pods whose grace period
// is 1 s, then drains one with tnth's drain activity (as the service's identity, EVICTION_CONCURRENCY
// at its default) and the other with `kubectl drain --ignore-daemonsets --delete-emptydir-data
// --force` (same identity), each timed until it returns, which both do once the pods are gone.
// The cases: no admission webhook, then a webhook on pods/eviction that answers after 150 ms, and in
// that case tnth alone at each evictionConcurrency of BENCH_CONCURRENCY ("1,8,16,32,64,110"), to
// choose the default. Prints figures, asserts none; kubectl is built on first use (dev/k8s/build.sh
// kubectl). Removes its nodes, namespace and webhook on every path. Not part of the tests.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKubeClients } from '../activities/kubernetes/client.js';
import { createDrainActivities, type DrainInput } from '../activities/kubernetes/drain.js';
import { loadConfig } from '../common/config.js';
import { activityEnvironment } from '../test/helpers/activity-environment.js';
import { adminClients } from '../test/helpers/kube.js';
import { loadStackEnv, stackVar } from '../test/helpers/stack-env.js';
import { BenchCluster, podGraceSeconds } from './drain-cluster.js';
import { startEvictionWebhook, type EvictionWebhook } from './eviction-webhook.js';

const pods = positiveInt('BENCH_PODS', process.env.BENCH_PODS ?? '110');
const sweep = (process.env.BENCH_CONCURRENCY ?? '1,8,16,32,64,110')
  .split(',')
  .map((value) => positiveInt('BENCH_CONCURRENCY', value));
const webhookDelayMs = 150;
/** Each drain's own bound (tnth's deadline, kubectl's --timeout): a stuck drain fails the bench. */
const drainBoundSeconds = 300;
/** The whole run's bound, cleanup included: every case has a drain at one pod at a time at worst. */
const benchBoundMs = 30 * 60_000;
const root = join(import.meta.dirname, '..');

function positiveInt(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new Error(`bench:drain: ${name}: ${text} is not a positive integer`);
  return value;
}

/** Builds kubectl of the stack's Kubernetes release unless cached; returns its path and the seconds taken. */
function kubectlBinary(): { path: string; version: string; seconds: number } {
  const version = /^KUBERNETES_VERSION=(\S+)$/m.exec(readFileSync(join(root, 'dev/k8s/versions.env'), 'utf8'))?.[1];
  if (!version) throw new Error('dev/k8s/versions.env has no KUBERNETES_VERSION');
  if (!process.env.TNTH_GOBIN) throw new Error('TNTH_GOBIN is not set: run `npm run bench:drain`');
  const started = performance.now();
  execFileSync('bash', [join(root, 'dev/k8s/build.sh'), 'kubectl'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const path = join(process.env.TNTH_GOBIN, `kubectl-${version}`);
  return { path, version, seconds: (performance.now() - started) / 1000 };
}

loadStackEnv();
const kubectl = kubectlBinary();
const serviceKubeconfig = stackVar('SERVICE_KUBECONFIG');
const tnth = createDrainActivities(createKubeClients(serviceKubeconfig));
const defaultConcurrency = loadConfig({ CLUSTER_NAME: 'bench' }).EVICTION_CONCURRENCY;
const admin = adminClients();
const cluster = new BenchCluster(admin);
let webhook: EvictionWebhook | undefined;
let kubectlRunning: ChildProcess | undefined;

async function tnthDrain(node: string, evictionConcurrency: number): Promise<number> {
  const input: DrainInput = {
    nodeName: node,
    settings: {
      ignoreDaemonSets: true,
      deleteLocalData: true,
      podTerminationGracePeriodSeconds: -1,
      nodeTerminationGracePeriodSeconds: drainBoundSeconds,
      evictionConcurrency,
    },
    deadlineEpochMs: Date.now() + drainBoundSeconds * 1000,
  };
  const started = performance.now();
  await activityEnvironment().run((i: DrainInput) => tnth.drainNode(i), input);
  return finished(node, 'tnth', started);
}

async function kubectlDrain(node: string): Promise<number> {
  const args = ['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', '--force'];
  args.push(`--timeout=${drainBoundSeconds}s`, `--kubeconfig=${serviceKubeconfig}`);
  const started = performance.now();
  const output: Buffer[] = [];
  // KUBERC=off: a developer's ~/.kube/kuberc must not change what is measured.
  const child = spawn(kubectl.path, args, {
    env: { ...process.env, KUBERC: 'off' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  kubectlRunning = child;
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
  const kill = setTimeout(() => child.kill('SIGKILL'), (drainBoundSeconds + 30) * 1000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  }).finally(() => {
    clearTimeout(kill);
    kubectlRunning = undefined;
  });
  if (code !== 0) {
    const tail = Buffer.concat(output).toString('utf8').trim().split('\n').slice(-10).join('\n');
    throw new Error(`kubectl drain ${node} exited with ${code}:\n${tail}`);
  }
  return finished(node, 'kubectl', started);
}

/** Seconds since `started`, once the node is seen empty: a drain that returns early fails the bench. */
async function finished(node: string, tool: string, started: number): Promise<number> {
  const seconds = (performance.now() - started) / 1000;
  const left = (await cluster.pods(node)).length;
  if (left > 0) throw new Error(`${tool} drain of ${node} returned with ${left} pods still on the node`);
  return seconds;
}

interface Measured {
  seconds: number;
  /** Evictions the webhook held at once, at most: how many the drain really sent in parallel. */
  peakAtWebhook?: number;
}

async function measure(drain: () => Promise<number>): Promise<Measured> {
  webhook?.resetPeak();
  const seconds = await drain();
  return { seconds, peakAtWebhook: webhook?.peakInFlight };
}

async function pair(title: string): Promise<void> {
  const [tnthNode, kubectlNode] = [await cluster.filledNode(pods), await cluster.filledNode(pods)];
  if (webhook) await webhookActive(kubectlNode);
  const ours = await measure(() => tnthDrain(tnthNode, defaultConcurrency));
  const theirs = await measure(() => kubectlDrain(kubectlNode));
  const peaks = webhook
    ? `; evictions at the webhook at once: tnth ${ours.peakAtWebhook}, kubectl ${theirs.peakAtWebhook}`
    : '';
  console.log(
    `${title}: ${pods} pods; tnth ${ours.seconds.toFixed(2)} s (evictionConcurrency ${defaultConcurrency}), ` +
      `kubectl ${theirs.seconds.toFixed(2)} s; tnth/kubectl ${(ours.seconds / theirs.seconds).toFixed(2)} ` +
      `(target <= 1.2)${peaks}; load average ${loadavg()[0]!.toFixed(1)}`,
  );
}

/** The API server reads webhook configurations from a watch: a dry-run eviction shows when it calls ours. */
async function webhookActive(node: string): Promise<void> {
  const [pod] = await cluster.pods(node);
  const name = pod!.metadata!.name!;
  const deadline = Date.now() + 20_000;
  const before = webhook!.reviews;
  while (webhook!.reviews === before) {
    if (Date.now() > deadline) throw new Error('the eviction webhook was not called within 20 s');
    await admin.core.createNamespacedPodEviction({
      name,
      namespace: cluster.namespace,
      dryRun: 'All',
      body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: cluster.namespace } },
    });
    await sleep(100);
  }
}

let cleaning: Promise<void> | undefined;
const cleanup = () =>
  (cleaning ??= (async () => {
    kubectlRunning?.kill();
    await webhook?.close();
    await cluster.cleanup();
  })());

async function main(): Promise<void> {
  console.log(
    `bench:drain on ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), node ${process.version}, ` +
      `load average ${loadavg()[0]!.toFixed(1)}; kube-apiserver and kwok of the stack on the same machine; ` +
      `${kubectl.path} ready in ${kubectl.seconds.toFixed(0)} s; pods' grace period ${podGraceSeconds} s`,
  );
  await cluster.createNamespace();
  await pair('no webhook');
  console.log(
    `kwok gave each node ${cluster.kwokPodCapacity} allocatable pods` +
      (Number(cluster.kwokPodCapacity) < pods ? `, raised to ${pods}` : ''),
  );
  webhook = await startEvictionWebhook(
    admin.kubeconfig,
    `tnth-bench-drain-${cluster.run}`,
    cluster.namespaceLabels,
    webhookDelayMs,
  );
  await pair(`webhook ${webhookDelayMs} ms`);
  const figures: string[] = [];
  for (const concurrency of sweep) {
    const node = await cluster.filledNode(pods);
    await webhookActive(node);
    const { seconds, peakAtWebhook } = await measure(() => tnthDrain(node, concurrency));
    figures.push(`${concurrency}: ${seconds.toFixed(2)} s (${peakAtWebhook} at once)`);
  }
  console.log(
    `tnth by evictionConcurrency, webhook ${webhookDelayMs} ms, ${pods} pods: ${figures.join(', ')}; ` +
      `load average ${loadavg()[0]!.toFixed(1)}`,
  );
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void cleanup().finally(() => process.exit(130)));
}
const watchdog = setTimeout(() => {
  console.error(`bench:drain: still running after ${benchBoundMs / 60_000} minutes; cleaning up and stopping`);
  void cleanup().finally(() => process.exit(1));
}, benchBoundMs);
let code = 0;
try {
  await main();
} catch (error) {
  console.error('bench:drain failed:', error);
  code = 1;
} finally {
  await cleanup().catch((error: unknown) => {
    console.error('bench:drain: cleanup failed:', error);
    code = 1;
  });
  clearTimeout(watchdog);
}
// The API clients keep sockets alive; the figures are out, nothing is left to wait for.
process.exit(code);
