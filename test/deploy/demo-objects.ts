// What dev/compose/demo.ts leaves behind for one group, removed after a test of it: the starter's queue
// and its dead-letter queue, the group and its launch template, and in Kubernetes (namespace tnth-demo) its pods, ReplicaSet, budget, nodes and
// their leases, all labelled tnth.dev/demo-group=<group>.
import { DeleteAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling';
import { DeleteLaunchTemplateCommand } from '@aws-sdk/client-ec2';
import { DeleteQueueCommand } from '@aws-sdk/client-sqs';
import { awsClients } from '../helpers/aws.js';
import { adminClients } from '../helpers/kube.js';

const namespace = 'tnth-demo';

export async function removeDemoObjects(group: string, queueUrl: string): Promise<void> {
  const aws = awsClients();
  for (const url of [queueUrl, `${queueUrl}-dlq`])
    await aws.sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => undefined);
  await aws.autoScaling
    .send(new DeleteAutoScalingGroupCommand({ AutoScalingGroupName: group, ForceDelete: true }))
    .catch(() => undefined);
  await aws.ec2
    .send(new DeleteLaunchTemplateCommand({ LaunchTemplateName: `${group}-template` }))
    .catch(() => undefined);
  const labelSelector = `tnth.dev/demo-group=${group}`;
  const kube = adminClients();
  await kube.policy.deleteCollectionNamespacedPodDisruptionBudget({ namespace, labelSelector });
  await kube.core.deleteCollectionNamespacedPod({ namespace, labelSelector, gracePeriodSeconds: 0 });
  await kube.apps.deleteCollectionNamespacedReplicaSet({ namespace, labelSelector });
  const nodes = await kube.core.listNode({ labelSelector });
  await kube.core.deleteCollectionNode({ labelSelector });
  for (const node of nodes.items)
    await kube.coordination
      .deleteNamespacedLease({ name: node.metadata!.name!, namespace: 'kube-node-lease' })
      .catch(() => undefined);
}
