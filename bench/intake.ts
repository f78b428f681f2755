// `npm run bench:intake`: hand-off throughput and latency of the starter against the local stack.
// Sends BENCH_MESSAGES (1,000) messages to a fresh queue of the stack's SQS while a starter runs in this
// process, and times each from just before its SendMessageBatch call to the moment Temporal accepted its
// signal-with-start (the workflow started). BENCH_RUNS (3) runs, then three diagnostics that take SQS,
// Temporal or both out of the way, to show which one limits the figure, and the CPU time per message Temporal, the
// AWS emulator and this process spent. Messages are sent faster than they are handed off, so the latencies
// mostly measure the backlog. Not part of the tests.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateQueueCommand, DeleteQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { pino } from 'pino';
import { loadStarterConfig } from '../starter/config.js';
import type { HandOff } from '../starter/hand-off.js';
import { StarterMetrics } from '../starter/metrics.js';
import type { BatchFailure, MessageQueue, QueueMessage } from '../starter/queue.js';
import { runStarter } from '../starter/starter.js';
import { loadStackEnv } from '../test/helpers/stack-env.js';
import { cpuPerMessage, sampleCpu } from './stack-cpu.js';

const messages = Number(process.env.BENCH_MESSAGES ?? 1_000);
const runs = Number(process.env.BENCH_RUNS ?? 3);
/** SendMessageBatch calls in flight at once, so sending keeps ahead of the starter where it can. */
const sendConcurrency = 8;
/** Single-event kinds, in the mix an ASG-heavy cluster sees: each message starts one workflow. */
const templates = [
  'asg-terminate.eventbridge.json',
  'asg-terminate.notification.json',
  'spot-interruption.eventbridge.json',
  'rebalance-recommendation.eventbridge.json',
  'state-change.stopping.eventbridge.json',
  'asg-launch.sns.json',
].map((name) => readFileSync(resolve(import.meta.dirname, '../test/fixtures/messages', name), 'utf8'));

interface RunResult {
  seconds: number;
  throughput: number;
  sendRate: number;
  p50: number;
  p99: number;
  max: number;
  perReceive: number;
  /** CPU time per message of Temporal, the AWS emulator and this process, while the messages went through. */
  cpu: string;
}

const freshInstanceId = () => `i-${randomBytes(9).toString('hex').slice(0, 17)}`;

/** One body per message, each naming one fresh instance. */
function bodies(count = messages): { instanceId: string; body: string }[] {
  return Array.from({ length: count }, (_, index) => {
    const instanceId = freshInstanceId();
    return { instanceId, body: templates[index % templates.length]!.replaceAll(/i-[0-9a-f]{17}/g, instanceId) };
  });
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;

async function waitUntil(what: string, check: () => Promise<boolean> | boolean, intervalMs = 20, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * Terminates the run's workflows and waits until that is done: the server's batch operations go at about
 * 50 workflows a second, so without the wait the cleanup of one run takes Temporal's time during the next.
 */
async function terminateTaskQueue(client: Client, taskQueue: string): Promise<void> {
  const { workflowService } = client.connection;
  const { namespace } = client.options;
  const jobId = randomUUID();
  await workflowService.startBatchOperation({
    namespace,
    jobId,
    reason: 'bench:intake cleanup',
    visibilityQuery: `TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`,
    terminationOperation: {},
  });
  const running = proto.temporal.api.enums.v1.BatchOperationState.BATCH_OPERATION_STATE_RUNNING;
  await waitUntil(
    'the cleanup batch operation',
    async () => (await workflowService.describeBatchOperation({ namespace, jobId })).state !== running,
    500,
  );
}

async function averageReceiveBatch(metrics: StarterMetrics): Promise<number> {
  const { values } = await metrics.receiveBatchSize.get();
  const value = (suffix: string) => values.find((v) => v.metricName?.endsWith(suffix))?.value ?? 0;
  return value('_sum') / Math.max(1, value('_count'));
}

/**
 * One run: a starter on a fresh queue, then the messages sent as fast as the emulator takes them.
 * With `handOff: 'none'` Temporal is left out (the hand-off does nothing): SQS alone.
 */
async function endToEnd(sqs: SQSClient, client: Client, handOff: 'temporal' | 'none'): Promise<RunResult> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `bench-intake-${randomUUID()}` }));
  if (!QueueUrl) throw new Error('no queue');
  const taskQueue = `bench-intake-${randomUUID()}`;
  const sentAt = new Map<string, number>();
  const acceptedAt = new Map<string, number>();
  const metrics = new StarterMetrics();
  const stop = new AbortController();
  const starter = runStarter(
    loadStarterConfig({ ...process.env, QUEUE_URL: QueueUrl, TEMPORAL_TASK_QUEUE: taskQueue }),
    {
      logger: pino({ level: 'warn' }),
      signal: stop.signal,
      metrics,
      wrapHandOff:
        (temporal): HandOff =>
        async (event) => {
          if (handOff === 'temporal') await temporal(event);
          acceptedAt.set(event.instanceId, performance.now());
        },
    },
  );
  try {
    // One message first, so the gRPC connection is up before the clock starts.
    const [warmUp] = bodies(1);
    await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: [{ Id: '0', MessageBody: warmUp!.body }] }));
    await waitUntil('the warm-up hand-off', () => acceptedAt.has(warmUp!.instanceId));
    acceptedAt.clear();

    const all = bodies();
    const batches = Array.from({ length: Math.ceil(all.length / 10) }, (_, b) => all.slice(b * 10, b * 10 + 10));
    const cpuBefore = sampleCpu();
    const started = performance.now();
    const sendAll = async () => {
      for (let batch = batches.shift(); batch; batch = batches.shift()) {
        const now = performance.now();
        for (const { instanceId } of batch) sentAt.set(instanceId, now);
        await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl,
            Entries: batch.map(({ body }, entry) => ({ Id: String(entry), MessageBody: body })),
          }),
        );
      }
    };
    await Promise.all(Array.from({ length: sendConcurrency }, sendAll));
    const sent = performance.now();
    await waitUntil(`${messages} hand-offs`, () => all.every(({ instanceId }) => acceptedAt.has(instanceId)));
    const cpu = cpuPerMessage(cpuBefore, sampleCpu(), messages);
    const finished = Math.max(...acceptedAt.values());
    const latencies = all
      .map(({ instanceId }) => acceptedAt.get(instanceId)! - sentAt.get(instanceId)!)
      .sort((a, b) => a - b);
    if (handOff === 'temporal') {
      await waitUntil(`${messages} workflows in Temporal`, async () => {
        const { count } = await client.workflow.count(`TaskQueue = "${taskQueue}"`);
        return count >= messages + 1;
      });
    }
    const seconds = (finished - started) / 1000;
    return {
      seconds,
      throughput: messages / seconds,
      sendRate: messages / ((sent - started) / 1000),
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      max: latencies.at(-1)!,
      perReceive: await averageReceiveBatch(metrics),
      cpu,
    };
  } finally {
    stop.abort();
    await starter;
    if (handOff === 'temporal') await terminateTaskQueue(client, taskQueue);
    await sqs.send(new DeleteQueueCommand({ QueueUrl }));
  }
}

/** Serves the bodies 10 at a time, as fast as asked: the starter and Temporal without SQS in the way. */
class MemoryQueue implements MessageQueue {
  private next = 0;
  deleted = 0;

  constructor(private readonly messages: QueueMessage[]) {}

  async receive(signal: AbortSignal): Promise<QueueMessage[]> {
    const batch = this.messages.slice(this.next, this.next + 10);
    this.next += batch.length;
    if (batch.length === 0) await sleep(100, undefined, { signal }).catch(() => undefined);
    return batch;
  }

  async delete(messages: QueueMessage[]): Promise<BatchFailure[]> {
    this.deleted += messages.length;
    return Promise.resolve([]);
  }

  async retryAfter(): Promise<BatchFailure[]> {
    return Promise.resolve([]);
  }
}

/**
 * The starter's hand-off rate when the queue costs nothing: Temporal alone, or with `handOff: 'none'`
 * the starter alone (receive, parse, route, delete in this process, nothing sent anywhere).
 */
async function inMemoryQueue(client: Client, handOff: 'temporal' | 'none'): Promise<{ rate: number; cpu: string }> {
  const taskQueue = `bench-intake-${randomUUID()}`;
  const queue = new MemoryQueue(
    bodies().map(({ body }, index) => ({ messageId: `m${index}`, receiptHandle: `r${index}`, body })),
  );
  const stop = new AbortController();
  const cpuBefore = sampleCpu();
  const started = performance.now();
  const starter = runStarter(
    loadStarterConfig({ ...process.env, QUEUE_URL: 'http://memory.invalid/queue', TEMPORAL_TASK_QUEUE: taskQueue }),
    {
      logger: pino({ level: 'warn' }),
      signal: stop.signal,
      queue,
      ...(handOff === 'none' ? { wrapHandOff: (): HandOff => () => Promise.resolve() } : {}),
    },
  );
  try {
    await waitUntil(`${messages} hand-offs`, () => queue.deleted >= messages);
    const rate = messages / ((performance.now() - started) / 1000);
    return { rate, cpu: cpuPerMessage(cpuBefore, sampleCpu(), messages) };
  } finally {
    stop.abort();
    await starter;
    await terminateTaskQueue(client, taskQueue);
  }
}

const describeRun = (r: RunResult) =>
  `${messages} messages in ${r.seconds.toFixed(1)} s = ${r.throughput.toFixed(0)} messages/s handed off ` +
  `(sent at ${r.sendRate.toFixed(0)}/s, ${r.perReceive.toFixed(1)} per receive); send -> workflow started ` +
  `p50 ${r.p50.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms, max ${r.max.toFixed(0)} ms; CPU per message: ${r.cpu}`;

async function main(): Promise<void> {
  loadStackEnv();
  const pollers = loadStarterConfig({ ...process.env, QUEUE_URL: 'http://localhost/q' }).STARTER_POLLERS;
  console.log(
    `bench:intake on ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ` +
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, load average ${loadavg()[0]!.toFixed(1)}; ` +
      `stack on the same machine: Temporal ${process.env.TEMPORAL_ADDRESS}, SQS ${process.env.AWS_ENDPOINT_URL}; ` +
      `${pollers} pollers; ${messages} messages x ${runs} runs`,
  );
  const sqs = new SQSClient({});
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
  try {
    const results: RunResult[] = [];
    for (let index = 1; index <= runs; index++) {
      const result = await endToEnd(sqs, client, 'temporal');
      console.log(`run ${index}: ${describeRun(result)}`);
      results.push(result);
    }
    if (results.length > 0) {
      const throughputs = results.map((r) => r.throughput);
      const mean = throughputs.reduce((a, b) => a + b, 0) / throughputs.length;
      console.log(
        `throughput: mean ${mean.toFixed(0)} messages/s, min ${Math.min(...throughputs).toFixed(0)}, ` +
          `max ${Math.max(...throughputs).toFixed(0)} (target >= 200); ` +
          `p50 ${results.map((r) => r.p50.toFixed(0)).join(' / ')} ms; p99 ${results.map((r) => r.p99.toFixed(0)).join(' / ')} ms`,
      );
    }
    if (process.env.BENCH_DIAGNOSTICS !== 'false') {
      console.log(`diagnostic, SQS only (hand-off does nothing): ${describeRun(await endToEnd(sqs, client, 'none'))}`);
      const { rate, cpu } = await inMemoryQueue(client, 'temporal');
      console.log(
        `diagnostic, Temporal only (in-memory queue): ${rate.toFixed(0)} messages/s handed off; CPU per message: ${cpu}`,
      );
      const alone = await inMemoryQueue(client, 'none');
      console.log(
        `diagnostic, the starter alone (in-memory queue, hand-off does nothing): ${alone.rate.toFixed(0)} messages/s (target >= 1,000); CPU per message: ${alone.cpu}`,
      );
    }
  } finally {
    sqs.destroy();
    await connection.close();
  }
}

await main();
