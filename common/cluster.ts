// Which cluster an EC2 instance belongs to, read from its tags: many clusters share one account (and
// often one account-wide EventBridge rule) and one Temporal namespace, and each handles its own.

/**
 * A cluster's name as its tags carry it: an EKS name (letters, digits, `-`, `_`) or a kOps or Cluster
 * API one, which is a DNS name (`prod.k8s.local`); at most 253 characters, alphanumeric at both ends.
 */
export const clusterNamePattern = /^[0-9A-Za-z]([A-Za-z0-9._-]{0,251}[0-9A-Za-z])?$/;

const kubernetesClusterTag = 'kubernetes.io/cluster/';

/** The tags that name an instance's cluster, in the order they are read (see `instanceCluster`). */
export const clusterTagOrder = ['aws:eks:cluster-name', 'eks:cluster-name', `${kubernetesClusterTag}<name>`] as const;

export interface ClusterTag {
  cluster: string;
  /** The tag that said so. */
  tag: string;
}

export type Ownership =
  | { owner: 'ours'; tag: string }
  | { owner: 'other-cluster'; cluster: string; tag: string }
  /** No tag names a cluster: CHECK_TAG_BEFORE_DRAINING and MANAGED_TAG decide, as before. */
  | { owner: 'untagged' };

/**
 * The cluster an instance's tags name, by the first of these that it carries: the tag key the user
 * named (CLUSTER_TAG_KEY, its value the cluster's name); `aws:eks:cluster-name` (set by EKS on the
 * instances of managed node groups; no user can write an `aws:` tag); `eks:cluster-name` (eksctl,
 * managed node groups); `kubernetes.io/cluster/<name>` (Cluster Autoscaler, Karpenter, kOps, the
 * cloud provider), where the key carries the name and `clusterName` wins when several are present.
 */
export function instanceCluster(
  tags: Record<string, string>,
  clusterName: string,
  clusterTagKey?: string,
): ClusterTag | undefined {
  for (const key of [clusterTagKey, 'aws:eks:cluster-name', 'eks:cluster-name']) {
    const value = key === undefined ? undefined : tags[key]?.trim();
    if (key !== undefined && value) return { cluster: value, tag: key };
  }
  const keys = Object.keys(tags).filter(
    (k) => k.startsWith(kubernetesClusterTag) && k.length > kubernetesClusterTag.length,
  );
  const key = keys.find((k) => k === `${kubernetesClusterTag}${clusterName}`) ?? keys.sort()[0];
  return key === undefined ? undefined : { cluster: key.slice(kubernetesClusterTag.length), tag: key };
}

export function ownership(tags: Record<string, string>, clusterName: string, clusterTagKey?: string): Ownership {
  const named = instanceCluster(tags, clusterName, clusterTagKey);
  if (!named) return { owner: 'untagged' };
  if (named.cluster === clusterName) return { owner: 'ours', tag: named.tag };
  return { owner: 'other-cluster', cluster: named.cluster, tag: named.tag };
}
