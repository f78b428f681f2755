// The Kubernetes side of an emulated EC2 instance, as the whole-stack tests need it: its node, named
// as EC2 names it, Ready under kwok, with one running pod to drain.
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { V1Pod } from '@kubernetes/client-node';
import { describeInstance } from './aws.js';
import type { KubeFixture } from './kube.js';

/** The instance's node, Ready, with one running ReplicaSet pod (1 s grace period). */
export async function nodeWithPod(
  kube: KubeFixture,
  ec2: EC2Client,
  instanceId: string,
): Promise<{ nodeName: string; pod: V1Pod }> {
  const nodeName = (await describeInstance(ec2, instanceId))!.PrivateDnsName!;
  await kube.node({ name: nodeName, instanceId });
  await kube.nodeReady(nodeName);
  const pod = await kube.replicaSetPod(nodeName, { gracePeriodSeconds: 1 });
  await kube.podRunning(pod.metadata!.name!);
  return { nodeName, pod };
}
