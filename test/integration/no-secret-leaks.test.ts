import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, EventsV1Api, KubeConfig } from '@kubernetes/client-node';
import type { Client, Connection } from '@temporalio/client';
import { statusQuery, terminationWorkflowId } from '../../common/names.js';
import type { TerminationStatus } from '../../common/status.js';
import { serviceAccount } from '../../dev/stack/kubernetes.js';
import {
  awsClients,
  createGroupWithHook,
  createQueue,
  describeInstance,
  terminateInstance,
  waitFor,
  type GroupWithHook,
  type QueueRef,
} from '../helpers/aws.js';
import { KubeFixture } from '../helpers/kube.js';
import { startTnth, type TnthProcess } from '../helpers/processes.js';
import { leaks, searchableText } from '../helpers/secret-scan.js';
import { stackVar, testCluster } from '../helpers/stack-env.js';
import { stackClient, uniqueTaskQueue } from '../helpers/temporal.js';
import { startTlsFront, type TlsFront } from '../helpers/tls-front.js';

const managedTag = 'aws-node-termination-handler/managed';
// Letters, digits and dashes only: JSON escaping, URL encoding and log formatting leave them as they are.
const planted = (what: string) => `SECRET-${what}-${randomBytes(12).toString('hex')}`;
// The webhook answers 500 this many times (retried by the activity's policy: 2 s, then 4 s) before a 200.
const webhookFailures = 2;

/** A port with the next `count - 1` free as well, found by listening on each for a moment. */
async function freePorts(count: number): Promise<number> {
  for (;;) {
    const base = 23000 + Math.floor(Math.random() * 2000) * 4;
    const held: TcpServer[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const server = createTcpServer();
        held.push(server);
        await new Promise<void>((done, fail) => server.once('error', fail).listen(base + i, '127.0.0.1', done));
      }
      return base;
    } catch {
      // Taken: try another.
    } finally {
      await Promise.all(held.map((server) => new Promise((done) => server.close(done))));
    }
  }
}

describe('integration: no planted secret reaches a log, a history, the status query, a Kubernetes event or /metrics', function () {
  this.timeout(180_000);
  const secrets = {
    webhookUrlPath: planted('url-path'),
    webhookAuthorization: planted('header-authorization'),
    webhookApiKey: planted('header-api-key'),
    temporalApiKey: planted('temporal-api-key'),
    awsSecretAccessKey: planted('aws-secret-key'),
    serviceAccountToken: '',
  };
  const aws = awsClients();
  const kube = new KubeFixture();
  // The worker's /metrics on this port and the SDK's exporter on the next; the starter's two above.
  let metricsPort: number;
  const taskQueue = uniqueTaskQueue('secrets');
  const scratch = mkdtempSync(join(tmpdir(), 'tnth-secrets-'));
  const webhooks: { url: string; authorization: string | undefined; apiKey: string | undefined; status: number }[] = [];
  let client: Client;
  let connection: Connection;
  let queue: QueueRef;
  let group: GroupWithHook | undefined;
  let front: TlsFront;
  let webhookServer: Server;
  let worker: TnthProcess | undefined;
  let starter: TnthProcess | undefined;

  before(async () => {
    ({ client, connection } = await stackClient());
    await kube.ensureNamespace();
    queue = await createQueue(aws.sqs, 'tnth-secrets');
    front = await startTlsFront(stackVar('TEMPORAL_ADDRESS'));
    metricsPort = await freePorts(4);
    webhookServer = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const status = webhooks.length < webhookFailures ? 500 : 200;
        webhooks.push({
          url: req.url ?? '',
          authorization: req.headers.authorization,
          apiKey: req.headers['x-api-key'] as string | undefined,
          status,
        });
        res.statusCode = status;
        res.end();
      });
    });
    await new Promise<void>((done) => webhookServer.listen(0, '127.0.0.1', done));
  });

  after(async () => {
    await Promise.all([starter?.stop(), worker?.stop()]);
    await kube.cleanup();
    await group?.delete();
    await connection?.close();
    webhookServer?.close();
    await front?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** The service's kubeconfig with a token minted for this test: the service account's own credential. */
  async function plantedKubeconfig(): Promise<string> {
    const minted = await kube.kube.core.createNamespacedServiceAccountToken({
      ...serviceAccount,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    assert.ok(minted.status?.token, 'the API server minted a token');
    secrets.serviceAccountToken = minted.status.token;
    const service = new KubeConfig();
    service.loadFromFile(stackVar('SERVICE_KUBECONFIG'));
    const user = service.getCurrentUser()!;
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: service.clusters,
      users: [{ name: user.name, token: secrets.serviceAccountToken }],
      contexts: service.contexts,
      currentContext: service.getCurrentContext(),
    });
    const file = join(scratch, 'service.kubeconfig');
    writeFileSync(file, config.exportConfig(), { mode: 0o600 });
    return file;
  }

  it('keeps the webhook URL and headers, the Temporal API key, the AWS secret key and the service account token out of everything it writes, through a failing webhook and a refused drain', async () => {
    const started = Date.now();
    const webhookPort = (webhookServer.address() as AddressInfo).port;
    const env = {
      CLUSTER_NAME: testCluster,
      WEBHOOK_URL: `http://127.0.0.1:${webhookPort}/hooks/${secrets.webhookUrlPath}`,
      WEBHOOK_HEADERS: JSON.stringify({
        Authorization: `Bearer ${secrets.webhookAuthorization}`,
        'X-Api-Key': secrets.webhookApiKey,
      }),
      // An API key turns TLS on (common/temporal-connection.ts): the processes reach the plain dev server
      // through a TLS front, so the key is used by a working run, not only read at start.
      TEMPORAL_ADDRESS: front.address,
      TEMPORAL_TLS_CA_FILE: front.caFile,
      TEMPORAL_TLS_SERVER_NAME: front.serverName,
      TEMPORAL_API_KEY: secrets.temporalApiKey,
      TEMPORAL_TASK_QUEUE: taskQueue,
      AWS_SECRET_ACCESS_KEY: secrets.awsSecretAccessKey,
      KUBECONFIG: await plantedKubeconfig(),
      EMIT_KUBERNETES_EVENTS: 'true',
      QUEUE_URL: queue.url,
      LOG_LEVEL: 'debug',
      HEARTBEAT_INTERVAL: '5',
      NODE_TERMINATION_GRACE_PERIOD: '4',
      DRAIN_RETRY_INTERVAL: '2',
      DUPLICATE_WINDOW: '0',
      SHUTDOWN_GRACE_PERIOD: '5',
      ENABLE_PROMETHEUS_SERVER: 'true',
      PROMETHEUS_SERVER_PORT: String(metricsPort),
    };
    worker = startTnth('worker', env);
    starter = startTnth('starter', { ...env, PROMETHEUS_SERVER_PORT: String(metricsPort + 2) });

    group = await createGroupWithHook({
      heartbeatTimeout: 60,
      tags: { [managedTag]: 'true' },
      queue,
      drainTestNotification: false,
    });
    const instanceId = group.instanceIds[0]!;
    const nodeName = (await describeInstance(aws.ec2, instanceId))!.PrivateDnsName!;
    await kube.node({ name: nodeName, instanceId });
    await kube.nodeReady(nodeName);
    const pod = await kube.replicaSetPod(nodeName, { gracePeriodSeconds: 1 });
    await kube.podRunning(pod.metadata!.name!);
    const pdb = await kube.pdb({ app: pod.metadata!.labels!.app! });

    await terminateInstance(group, instanceId);
    const handle = client.workflow.getHandle(terminationWorkflowId(testCluster, instanceId));
    const statuses: TerminationStatus[] = [];
    // While the drain is refused: the pending activities' heartbeat details and last failures.
    const described: unknown[] = [];
    const describeRaw = () =>
      client.workflowService.describeWorkflowExecution({
        namespace: client.options.namespace,
        execution: { workflowId: handle.workflowId },
      });
    await waitFor(
      'a drain attempt refused by the PDB, and the next one waiting',
      async () => {
        for (const p of [worker!, starter!]) {
          assert.equal(p.child.exitCode, null, `a process exited early:\n${p.output().slice(-3000)}`);
        }
        const status = await handle.query(statusQuery).catch(() => undefined);
        if (!status) return false;
        statuses.push(status);
        described.push(await describeRaw());
        return status.attempt >= 2 && status.phase === 'WaitingToRetry' && status;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await kube.setPdbStatus(pdb.metadata!.name!, { disruptionsAllowed: 1 });
    const result = (await handle.result()) as TerminationStatus;
    assert.equal(result.phase, 'Done', `the termination finished: ${JSON.stringify(result)}`);
    statuses.push(result, await handle.query(statusQuery));

    // The plants went where they belong: Temporal through TLS with the API key, the webhook with its headers.
    assert.ok(front.connections() >= 2, 'both processes reached Temporal through the TLS front');
    assert.deepEqual(
      webhooks.map((w) => w.status),
      [...Array<number>(webhookFailures).fill(500), 200],
      'the webhook failed, was retried and delivered',
    );
    for (const w of webhooks) {
      assert.equal(w.url, `/hooks/${secrets.webhookUrlPath}`);
      assert.deepEqual([w.authorization, w.apiKey], [`Bearer ${secrets.webhookAuthorization}`, secrets.webhookApiKey]);
    }

    const metrics = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const [workerMetrics, starterMetrics] = await Promise.all([metrics(metricsPort), metrics(metricsPort + 2)]);
    assert.deepEqual(await Promise.all([starter.stop(), worker.stop()]), [0, 0], 'starter and worker exit cleanly');

    // Every workflow of the run (this test's task queue is its own): each history, decoded, and its description.
    const histories: Record<string, string> = {};
    for await (const execution of client.workflow.list({ query: `TaskQueue="${taskQueue}"` })) {
      const run = client.workflow.getHandle(execution.workflowId, execution.runId);
      histories[`history of ${execution.workflowId}/${execution.runId}`] = searchableText({
        history: await run.fetchHistory(),
        memo: execution.memo,
        searchAttributes: execution.searchAttributes,
      });
    }
    assert.ok(
      Object.keys(histories).some((place) => place.includes(handle.workflowId)),
      'the termination is among the workflows scanned',
    );

    const admin = kube.kube.kubeconfig;
    const events: Record<string, string> = {};
    for (const namespace of ['default', kube.namespace]) {
      const core = await admin.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace });
      const eventsApi = await admin.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace });
      events[`core/v1 events in ${namespace}`] = searchableText(core.items);
      events[`events.k8s.io/v1 events in ${namespace}`] = searchableText(eventsApi.items);
    }
    const nodeEvents = await admin.makeApiClient(CoreV1Api).listNamespacedEvent({
      namespace: 'default',
      fieldSelector: `involvedObject.name=${nodeName}`,
    });
    assert.ok(nodeEvents.items.length >= 2, 'tnth recorded events on the node');

    const places = {
      'worker output': worker.output(),
      'starter output': starter.output(),
      ...histories,
      'describe while draining': searchableText(described),
      'status query': searchableText(statuses),
      ...events,
      node: searchableText(await kube.kube.core.readNode({ name: nodeName })),
      'worker /metrics': workerMetrics,
      'starter /metrics': starterMetrics,
    };
    // The scans see what they should: the run is in them, only the secrets are not.
    assert.match(places['worker output'], /webhook sent/);
    assert.match(places['status query'], /PodDisruptionBudget/);
    assert.match(workerMetrics, /^tnth_/m);
    assert.match(starterMetrics, /^tnth_/m);
    assert.deepEqual(leaks(secrets, places), [], 'a planted secret was found');
    assert.ok(Date.now() - started < 150_000, 'the run stays well under the suite timeout');
  });
});
