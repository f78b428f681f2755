import { DescribeInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { awsErrorCode, awsFailure } from './errors.js';

export interface InstanceFacts {
  instanceId: string;
  privateDnsName: string | undefined;
  availabilityZone: string | undefined;
  state: string | undefined;
  tags: Record<string, string>;
  /*
   * What NTH's webhook templates call the node metadata (`{{ .AccountId }}`, `{{ .LocalIP }}`, ...).
   * Absent in descriptions recorded before they were read; running workflows replay them.
   */
  accountId?: string | undefined;
  instanceType?: string | undefined;
  /** As the instance metadata service says it: `spot`, `on-demand`, `scheduled`, `capacity-block`. */
  instanceLifecycle?: string | undefined;
  publicDnsName?: string | undefined;
  publicIpAddress?: string | undefined;
  privateIpAddress?: string | undefined;
  region?: string | undefined;
}

export function createInstanceActivities(ec2: EC2Client) {
  return {
    /** The instance's DNS name, zone and tags; undefined when EC2 no longer knows it. */
    async describeInstance(instanceId: string): Promise<InstanceFacts | undefined> {
      try {
        const { Reservations } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
        const reservation = Reservations?.find((r) => r.Instances?.some((i) => i.InstanceId === instanceId));
        const instance = reservation?.Instances?.find((i) => i.InstanceId === instanceId);
        if (!instance) return undefined;
        return {
          instanceId,
          privateDnsName: instance.PrivateDnsName || undefined,
          availabilityZone: instance.Placement?.AvailabilityZone,
          state: instance.State?.Name,
          tags: Object.fromEntries((instance.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? ''])),
          accountId: reservation?.OwnerId,
          instanceType: instance.InstanceType,
          // EC2 names no lifecycle for on-demand instances; the metadata service says `on-demand`.
          instanceLifecycle: instance.InstanceLifecycle ?? 'on-demand',
          publicDnsName: instance.PublicDnsName || undefined,
          publicIpAddress: instance.PublicIpAddress,
          privateIpAddress: instance.PrivateIpAddress,
          // The instance is in the region its description came from (a zone's name may not end in a letter).
          region: await ec2.config.region(),
        };
      } catch (error) {
        if (awsErrorCode(error) === 'InvalidInstanceID.NotFound') return undefined;
        throw awsFailure(`describing instance ${instanceId}`, error);
      }
    },
  };
}
