import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { awsErrorCode, awsFailure } from './errors.js';

export interface InstanceFacts {
  instanceId: string;
  privateDnsName: string | undefined;
  availabilityZone: string | undefined;
  state: string | undefined;
  tags: Record<string, string>;
}

export function createInstanceActivities(ec2: EC2Client) {
  return {
    /** The instance's DNS name, zone and tags; undefined when EC2 no longer knows it. */
    async describeInstance(instanceId: string): Promise<InstanceFacts | undefined> {
      try {
        const { Reservations } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
        const instance = Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
        if (!instance) return undefined;
        return {
          instanceId,
          privateDnsName: instance.PrivateDnsName || undefined,
          availabilityZone: instance.Placement?.AvailabilityZone,
          state: instance.State?.Name,
          tags: Object.fromEntries((instance.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? ''])),
        };
      } catch (error) {
        if (awsErrorCode(error) === 'InvalidInstanceID.NotFound') return undefined;
        throw awsFailure(`describing instance ${instanceId}`, error);
      }
    },
  };
}
