import { DescribeAutoScalingGroupsCommand, type AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { ApplicationFailure } from '@temporalio/activity';
import { awsFailure } from './errors.js';

export function createGroupActivities(autoScaling: AutoScalingClient) {
  return {
    /**
     * The size a percentage drain budget counts from: the larger of the desired capacity and the
     * instances in the group. During a scale-in the desired capacity is already the smaller target
     * while the instances leaving are still members (Terminating:Wait); the budget is of those.
     */
    async autoScalingGroupSize(groupName: string): Promise<number> {
      try {
        const { AutoScalingGroups } = await autoScaling.send(
          new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }),
        );
        const group = AutoScalingGroups?.find((g) => g.AutoScalingGroupName === groupName);
        if (!group) {
          throw ApplicationFailure.create({
            type: 'AutoScalingGroupNotFound',
            nonRetryable: true,
            message: `Auto Scaling group ${groupName} not found: a percentage drain budget has no size to count from`,
          });
        }
        return Math.max(group.DesiredCapacity ?? 0, group.Instances?.length ?? 0);
      } catch (error) {
        if (error instanceof ApplicationFailure) throw error;
        throw awsFailure(`describing Auto Scaling group ${groupName}`, error);
      }
    },
  };
}
