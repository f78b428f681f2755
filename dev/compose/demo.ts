// The demo of docker compose, `npm run dev` and `npm run demo`: a live termination to watch. It makes an
// Auto Scaling group whose TERMINATING hook notifies the starter's queue, a Kubernetes node per instance
// (named after the instance's private DNS name, as EKS names nodes) with a ReplicaSet's pods under a
// PodDisruptionBudget that lets one go at a time, scales one instance in, and follows its termination
// workflow until the runbook has finished, printing each step (demo-follow.ts).
//
// Configured like the service, so it runs against docker-compose.yml and against the local stack alike:
// AWS_ENDPOINT_URL, AWS_REGION and credentials (the AWS SDK reads them), KUBECONFIG (an administrator:
// it makes nodes), TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, CLUSTER_NAME (the service's, in the workflow
// id), QUEUE_URL (the starter's queue; created when missing), TEMPORAL_UI_URL (for the link),
// DEMO_READY_FILE (written once the queue exists: compose starts the starter after it), DEMO_WAIT_FOR
// (URLs, space-separated, that answer 200 once the service is ready: `npm run dev` names its worker's
// and starter's /readyz) and DEMO_GROUP (the group's name, default tnth-demo-<random>; it also labels
// the Kubernetes objects).
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingGroupsCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand, DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { recommendedQueueAttributes } from '../../starter/queue-settings.js';
import { ApiException, AppsV1Api, CoreV1Api, KubeConfig, PolicyV1Api, type V1Pod } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { terminationWorkflowId } from '../../common/names.js';
import type { TerminationStatus } from '../../common/status.js';
import { createBudget } from './demo-budget.js';
import { follow } from './demo-follow.js';

/** The tag the worker checks before draining (CHECK_TAG_BEFORE_DRAINING, NTH's default MANAGED_TAG). */
const managedTag = process.env.MANAGED_TAG || 'aws-node-termination-handler/managed';
const namespace = 'tnth-demo';
const podsPerNode = 2;
/** Long enough that the drain, and the lifecycle heartbeats around it, can be watched. */
const podGracePeriodSeconds = 10;
/** The hook's timeout: a worker that stopped heartbeating lets the action expire within a minute. */
const hookHeartbeatTimeout = 60;
/** From the scale-in to the end of the runbook: a few drain attempts and the retries between them. */
const followTimeoutMs = 10 * 60_000;
/** A worker's first start bundles the workflows (`npm run dev` has no prebuilt bundle): tens of seconds. */
const serviceTimeoutMs = 180_000;

const log = (message: string) => console.log(`demo: ${message}`);

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${cause}`);
    }
    await sleep(500);
  }
}

const aws = { sqs: new SQSClient({}), ec2: new EC2Client({}), autoScaling: new AutoScalingClient({}) };

/**
 * The starter's queue (QUEUE_URL's last segment is its name) with a dead-letter queue and the
 * attributes the starter recommends; CreateQueue returns an existing one.
 */
async function ensureQueue(queueUrl: string): Promise<string> {
  const name = new URL(queueUrl).pathname.split('/').pop()!;
  const arnOf = async (url: string) =>
    (await aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes!
      .QueueArn!;
  const { QueueUrl: dlqUrl } = await waitFor('the AWS emulator', () =>
    aws.sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` })),
  );
  const { QueueUrl } = await aws.sqs.send(new CreateQueueCommand({ QueueName: name }));
  await aws.sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl,
      Attributes: {
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: await arnOf(dlqUrl!),
          maxReceiveCount: String(recommendedQueueAttributes.maxReceiveCount),
        }),
        MessageRetentionPeriod: String(recommendedQueueAttributes.MessageRetentionPeriod),
        VisibilityTimeout: String(recommendedQueueAttributes.VisibilityTimeout),
      },
    }),
  );
  if (QueueUrl !== queueUrl) log(`warning: the emulator calls the queue ${QueueUrl}, QUEUE_URL says ${queueUrl}`);
  return arnOf(queueUrl);
}

async function createGroup(groupName: string, queueArn: string): Promise<Instance[]> {
  const template = `${groupName}-template`;
  await aws.ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: template,
      LaunchTemplateData: { ImageId: 'ami-12c6146b', InstanceType: 'm5.large' },
    }),
  );
  await aws.autoScaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: groupName,
      LaunchTemplate: { LaunchTemplateName: template },
      MinSize: 0,
      MaxSize: 4,
      DesiredCapacity: 2,
      AvailabilityZones: [`${await region()}a`],
      Tags: [{ Key: managedTag, Value: 'true', PropagateAtLaunch: true }],
      LifecycleHookSpecificationList: [
        {
          LifecycleHookName: 'tnth-drain',
          LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
          HeartbeatTimeout: hookHeartbeatTimeout,
          DefaultResult: 'ABANDON',
          NotificationTargetARN: queueArn,
          RoleARN: 'arn:aws:iam::123456789012:role/tnth-asg-notifications',
        },
      ],
    }),
  );
  const { AutoScalingGroups } = await aws.autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }),
  );
  const instanceIds = (AutoScalingGroups?.[0]?.Instances ?? []).map((instance) => instance.InstanceId!);
  if (instanceIds.length === 0) throw new Error(`group ${groupName} started no instances`);
  const { Reservations } = await aws.ec2.send(new DescribeInstancesCommand({ InstanceIds: instanceIds }));
  return (Reservations ?? []).flatMap((reservation) => reservation.Instances ?? []);
}

async function region(): Promise<string> {
  return aws.ec2.config.region();
}

function kubeClients() {
  const config = new KubeConfig();
  config.loadFromDefault();
  return {
    core: config.makeApiClient(CoreV1Api),
    apps: config.makeApiClient(AppsV1Api),
    policy: config.makeApiClient(PolicyV1Api),
  };
}

const alreadyExists = (error: unknown) => error instanceof ApiException && error.code === 409;

/** The node EKS would register for the instance; kwok plays its kubelet. */
async function createNode(kube: ReturnType<typeof kubeClients>, instance: Instance, group: string): Promise<string> {
  const name = instance.PrivateDnsName!;
  const zone = instance.Placement!.AvailabilityZone!;
  await kube.core.createNode({
    body: {
      metadata: {
        name,
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'topology.kubernetes.io/zone': zone,
          'topology.kubernetes.io/region': zone.slice(0, -1),
          'node.kubernetes.io/instance-type': instance.InstanceType ?? 'm5.large',
          'tnth.dev/demo-group': group,
        },
        annotations: { 'kwok.x-k8s.io/node': 'fake' },
      },
      spec: { providerID: `aws:///${zone}/${instance.InstanceId}` },
      status: {
        addresses: [
          { type: 'InternalIP', address: instance.PrivateIpAddress! },
          { type: 'Hostname', address: name },
          { type: 'InternalDNS', address: name },
        ],
      },
    },
  });
  await waitFor(`node ${name} to be Ready`, async () => {
    const node = await kube.core.readNode({ name });
    return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') || undefined;
  });
  return name;
}

/**
 * A ReplicaSet's pods, bound to the nodes here so the demo needs no scheduler (the local stack runs
 * none). Where a controller manager runs (docker compose), the ReplicaSet replaces evicted pods on the
 * node that stays; elsewhere the budget's stand-in does (demo-budget.ts) with `createPod`.
 */
async function createPods(kube: ReturnType<typeof kubeClients>, group: string, nodes: string[]) {
  await kube.core.createNamespace({ body: { metadata: { name: namespace } } }).catch((error: unknown) => {
    if (!alreadyExists(error)) throw error;
  });
  const labels = { app: 'web', 'tnth.dev/demo-group': group };
  const replicas = nodes.length * podsPerNode;
  const template = {
    metadata: { labels },
    spec: {
      terminationGracePeriodSeconds: podGracePeriodSeconds,
      containers: [{ name: 'web', image: 'registry.k8s.io/pause:3.10' }],
    },
  };
  const replicaSet = await kube.apps.createNamespacedReplicaSet({
    namespace,
    body: {
      metadata: { name: `${group}-web`, namespace, labels },
      spec: { replicas, selector: { matchLabels: labels }, template },
    },
  });
  const owner = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    name: replicaSet.metadata!.name!,
    uid: replicaSet.metadata!.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
  const createPod = async (node: string, name = `${owner.name}-${randomUUID().slice(0, 5)}`) => {
    const pod: V1Pod = {
      metadata: { name, namespace, labels, ownerReferences: [owner] },
      spec: { ...template.spec, nodeName: node },
    };
    await kube.core.createNamespacedPod({ namespace, body: pod });
    return name;
  };
  for (const node of nodes) {
    for (let i = 0; i < podsPerNode; i++) await createPod(node, `${owner.name}-${node.split('.')[0]}-${i}`);
  }
  const labelSelector = `tnth.dev/demo-group=${group}`;
  await waitFor(`the pods of ${owner.name} to be Ready`, async () => {
    const pods = await kube.core.listNamespacedPod({ namespace, labelSelector });
    const ready = pods.items.filter((pod) =>
      pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
    return ready.length >= replicas || undefined;
  });
  return { name: owner.name, labels, replicas, createPod };
}

async function main(): Promise<number> {
  const queueUrl = required('QUEUE_URL');
  // The service's CLUSTER_NAME (compose's and `npm run dev`'s is local): the workflow id names it.
  const cluster = process.env.CLUSTER_NAME || 'local';
  const group = process.env.DEMO_GROUP || `tnth-demo-${randomUUID().slice(0, 8)}`;
  const serviceReady = (process.env.DEMO_WAIT_FOR ?? '').split(/\s+/).filter(Boolean);
  for (const url of serviceReady)
    await waitFor(`the service to be ready (${url})`, async () => (await fetch(url)).ok || undefined, serviceTimeoutMs);
  if (serviceReady.length > 0) log('the worker and the starter are ready');
  const queueArn = await ensureQueue(queueUrl);
  if (process.env.DEMO_READY_FILE) writeFileSync(process.env.DEMO_READY_FILE, `${queueUrl}\n`);
  log(`queue ${queueUrl} ready`);

  const instances = await createGroup(group, queueArn);
  log(`group ${group}: instances ${instances.map((i) => i.InstanceId).join(', ')}, TERMINATING hook to the queue`);
  const kube = kubeClients();
  const nodes = [];
  for (const instance of instances) nodes.push(await createNode(kube, instance, group));
  const replicaSet = await createPods(kube, group, nodes);
  log(`nodes ${nodes.join(', ')} Ready, ${podsPerNode} pods each (namespace ${namespace})`);
  const budget = await createBudget(kube, {
    namespace,
    name: replicaSet.name,
    labels: replicaSet.labels,
    replicas: replicaSet.replicas,
    nodeSelector: `tnth.dev/demo-group=${group}`,
    createPod: (node) => replicaSet.createPod(node),
    log,
  });

  const connection = await waitFor('Temporal', () =>
    Connection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233', connectTimeout: 2_000 }),
  );
  try {
    const client = new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' });
    const victim = instances[0]!;
    await aws.autoScaling.send(
      new TerminateInstanceInAutoScalingGroupCommand({
        InstanceId: victim.InstanceId,
        ShouldDecrementDesiredCapacity: true,
      }),
    );
    log(`scaled in ${victim.InstanceId} (node ${victim.PrivateDnsName}): it waits in Terminating:Wait`);
    const handle = client.workflow.getHandle(terminationWorkflowId(cluster, victim.InstanceId!));
    // Not found until the starter has handed the hook's notification over.
    await waitFor(`the starter to start ${handle.workflowId}`, () => handle.describe(), followTimeoutMs);
    const ui = process.env.TEMPORAL_UI_URL;
    const link = ui ? `: watch it: ${ui}/namespaces/${client.options.namespace}/workflows/${handle.workflowId}` : '';
    log(`workflow ${handle.workflowId} started${link}`);
    const status: TerminationStatus = await follow(handle, {
      core: kube.core,
      nodeName: victim.PrivateDnsName!,
      namespace,
      timeoutMs: followTimeoutMs,
      log,
    });
    log(
      `termination ${status.phase}: lifecycle action ${status.lifecycle?.result ?? 'none'}, ${status.heartbeatsSent} heartbeats, evicted ${status.podsEvicted.join(', ') || 'nothing'}`,
    );
    return status.phase === 'Done' && status.lifecycle?.result === 'CONTINUE' ? 0 : 1;
  } finally {
    await budget.stop();
    await connection.close();
  }
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(`demo: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
