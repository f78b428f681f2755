import assert from 'node:assert/strict';
import { ownership, type Ownership } from '../../common/cluster.js';

const cases: [string, Record<string, string>, string | undefined, Ownership][] = [
  [
    'no tag names a cluster',
    { Name: 'web', 'aws-node-termination-handler/managed': '' },
    undefined,
    { owner: 'untagged' },
  ],
  [
    'the EKS tag names this cluster',
    { 'aws:eks:cluster-name': 'prod-a' },
    undefined,
    { owner: 'ours', tag: 'aws:eks:cluster-name' },
  ],
  [
    'the EKS tag names another cluster',
    { 'aws:eks:cluster-name': 'prod-b' },
    undefined,
    { owner: 'other-cluster', cluster: 'prod-b', tag: 'aws:eks:cluster-name' },
  ],
  [
    "eksctl's tag",
    { 'eks:cluster-name': 'prod-b' },
    undefined,
    { owner: 'other-cluster', cluster: 'prod-b', tag: 'eks:cluster-name' },
  ],
  [
    "the cloud provider's tag, whose key carries the name",
    { 'kubernetes.io/cluster/prod-a': 'owned' },
    undefined,
    { owner: 'ours', tag: 'kubernetes.io/cluster/prod-a' },
  ],
  [
    "another cluster's kubernetes.io/cluster tag",
    { 'kubernetes.io/cluster/prod-b': 'shared' },
    undefined,
    { owner: 'other-cluster', cluster: 'prod-b', tag: 'kubernetes.io/cluster/prod-b' },
  ],
  [
    'several kubernetes.io/cluster tags: this cluster among them wins',
    { 'kubernetes.io/cluster/prod-b': 'shared', 'kubernetes.io/cluster/prod-a': 'shared' },
    undefined,
    { owner: 'ours', tag: 'kubernetes.io/cluster/prod-a' },
  ],
  [
    'the EKS tag is read before kubernetes.io/cluster',
    { 'aws:eks:cluster-name': 'prod-b', 'kubernetes.io/cluster/prod-a': 'owned' },
    undefined,
    { owner: 'other-cluster', cluster: 'prod-b', tag: 'aws:eks:cluster-name' },
  ],
  [
    'the tag the user names (CLUSTER_TAG_KEY) is read first',
    { team: 'prod-a', 'aws:eks:cluster-name': 'prod-b' },
    'team',
    { owner: 'ours', tag: 'team' },
  ],
  [
    'an empty user-named tag names nothing',
    { team: '', 'eks:cluster-name': 'prod-a' },
    'team',
    { owner: 'ours', tag: 'eks:cluster-name' },
  ],
];

describe("cluster ownership: which cluster an instance's tags name", () => {
  for (const [name, tags, tagKey, expected] of cases) {
    it(name, () => {
      assert.deepEqual(ownership(tags, 'prod-a', tagKey), expected);
    });
  }
});
