// NTH's Prometheus series on a running tnth, read the way NTH's own e2e test reads them
// (test/e2e/prometheus-metrics-sqs-test in aws-node-termination-handler v1.25.6): a /metrics line
// `<name>{<labels>}` followed by a count, the labels in the exporter's order with the meter's scope.
import assert from 'node:assert/strict';
import { DeleteQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Client, Connection } from '@temporalio/client';
import { statusQuery, terminationWorkflowId } from '../../common/names.js';
import {
  awsClients,
  createGroupWithHook,
  describeInstance,
  terminateInstance,
  uniqueName,
  waitFor,
  type GroupWithHook,
} from '../helpers/aws.js';
import { KubeFixture } from '../helpers/kube.js';
import { startService, type Service } from '../helpers/service.js';
import { testCluster } from '../helpers/stack-env.js';
import { stackClient } from '../helpers/temporal.js';

const scope = 'otel_scope_name="aws.node.termination.handler",otel_scope_version=""';

/** The count of the series `name{labels}` on a /metrics page, as NTH's e2e test greps it; undefined if absent. */
function series(page: string, name: string, labels: string): number | undefined {
  const escaped = `${name}{${labels}}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`^${escaped}\\s+([0-9.e+]+)$`, 'm').exec(page);
  return match ? Number(match[1]) : undefined;
}

describe("integration: NTH's metrics (actions_total, events_error_total, nth_tagged_nodes, nth_tagged_instances) on a running tnth", function () {
  this.timeout(180_000);
  let client: Client;
  let connection: Connection;
  let service: Service;
  let group: GroupWithHook | undefined;
  const kube = new KubeFixture();
  const aws = awsClients();
  const port = 20000 + Math.floor(Math.random() * 500) * 2;
  // A tag of this test's own: nth_tagged_instances counts every instance of the account carrying it.
  const managedTag = `tnth-test/${uniqueName('managed')}`;
  const page = async (offset = 0) => (await fetch(`http://127.0.0.1:${port + offset}/metrics`)).text();

  before(async () => {
    ({ client, connection } = await stackClient());
    await kube.ensureNamespace();
    service = await startService('nth-metrics', {
      MANAGED_TAG: managedTag,
      ENABLE_PROMETHEUS_SERVER: 'true',
      PROMETHEUS_SERVER_PORT: String(port),
      TAINT_NODE: 'true',
      DUPLICATE_WINDOW: '0',
      SHUTDOWN_GRACE_PERIOD: '5',
    });
  });

  after(async () => {
    await service?.stop();
    await kube.cleanup();
    await group?.delete();
    if (service) await aws.sqs.send(new DeleteQueueCommand({ QueueUrl: service.queue.url }));
    await connection?.close();
  });

  it('serves every NTH series from the start, with its labels and scope', async () => {
    const worker = await waitFor('the worker to serve /metrics', () => page().catch(() => undefined), {
      timeoutMs: 90_000,
      intervalMs: 250,
    });
    assert.equal(series(worker, 'actions_total', scope), 0);
    assert.equal(series(worker, 'nth_tagged_nodes', scope), 0);
    assert.equal(series(worker, 'nth_tagged_instances', scope), 0);
    const starter = await waitFor('the starter to serve /metrics', () => page(1000).catch(() => undefined), {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    assert.equal(series(starter, 'events_error_total', scope), 0);
  });

  it("counts a termination's pre-drain, cordon-and-drain and post-drain, and the tagged instances and nodes", async () => {
    group = await createGroupWithHook({
      desiredCapacity: 2,
      heartbeatTimeout: 120,
      queue: service.queue,
      tags: { [managedTag]: 'true' },
      drainTestNotification: false,
    });
    const [instanceId] = group.instanceIds;
    const nodeName = (await describeInstance(aws.ec2, instanceId!))?.PrivateDnsName;
    assert.ok(instanceId && nodeName);
    await kube.node({ name: nodeName, instanceId });
    await kube.nodeReady(nodeName);
    // NTH records both every 30 s: two tagged instances, one of them a node of the cluster.
    await waitFor(
      'nth_tagged_instances 2 and nth_tagged_nodes 1',
      async () => {
        const metrics = await page();
        return series(metrics, 'nth_tagged_instances', scope) === 2 && series(metrics, 'nth_tagged_nodes', scope) === 1;
      },
      { timeoutMs: 75_000, intervalMs: 1_000 },
    );

    await terminateInstance(group, instanceId);
    const handle = client.workflow.getHandle(terminationWorkflowId(testCluster, instanceId));
    await waitFor(
      'the termination to be done',
      async () => (await handle.query(statusQuery).catch(() => undefined))?.phase === 'Done',
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    const metrics = await page();
    for (const action of ['pre-drain', 'cordon-and-drain', 'post-drain']) {
      const count = series(metrics, 'actions_total', `node_action="${action}",node_status="success",${scope}`);
      assert.equal(
        count,
        1,
        `actions_total of ${action}:\n${metrics
          .split('\n')
          .filter((l) => l.startsWith('actions'))
          .join('\n')}`,
      );
    }
    assert.equal(series(metrics, 'actions_total', `node_action="cordon",node_status="success",${scope}`), undefined);
  });

  it("counts a batch of messages none of which can be handled in events_error_total, as NTH's SQS monitor does", async () => {
    const before = series(await page(1000), 'events_error_total', `event_error_where="SQS_MONITOR",${scope}`) ?? 0;
    await aws.sqs.send(new SendMessageCommand({ QueueUrl: service.queue.url, MessageBody: '{"not":"an event"}' }));
    await waitFor(
      'events_error_total{event_error_where="SQS_MONITOR"} to count the batch',
      async () =>
        (series(await page(1000), 'events_error_total', `event_error_where="SQS_MONITOR",${scope}`) ?? 0) > before,
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  });
});
