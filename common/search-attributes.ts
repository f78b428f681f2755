import { defineSearchAttributeKey } from '@temporalio/common';

/**
 * The search attributes of a termination workflow, all Keyword. The local stack registers them,
 * the workflow keeps them current, operators filter on them (`InstanceId="i-0abc"`).
 */
export const searchAttributes = {
  clusterName: defineSearchAttributeKey('ClusterName', 'KEYWORD'),
  instanceId: defineSearchAttributeKey('InstanceId', 'KEYWORD'),
  nodeName: defineSearchAttributeKey('NodeName', 'KEYWORD'),
  autoScalingGroupName: defineSearchAttributeKey('AutoScalingGroupName', 'KEYWORD'),
  interruptionKind: defineSearchAttributeKey('InterruptionKind', 'KEYWORD'),
  terminationPhase: defineSearchAttributeKey('TerminationPhase', 'KEYWORD'),
} as const;

export const searchAttributeNames = Object.values(searchAttributes).map((key) => key.name);
