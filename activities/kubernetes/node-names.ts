// The names an EC2 instance's node goes by when nobody chose another: kubelets and the AWS cloud
// provider name a node after the instance's private DNS name, which is either IP-based
// (`ip-10-0-1-23.ec2.internal`) or, with resource-based naming, the instance's resource name
// (`i-0abc.us-west-2.compute.internal`; in us-east-1 `i-0abc.ec2.internal`).

/** The region of an availability zone: `us-east-1a`, `us-west-2-lax-1a` (Local Zone) and `us-gov-west-1a` alike. */
export function regionOfZone(zone: string | undefined): string | undefined {
  return zone?.match(/^[a-z]{2}(?:-[a-z]+)+-\d+/)?.[0];
}

/** The resource name EC2 gives the instance with resource-based naming. */
export function resourceName(instanceId: string, region: string): string {
  return region === 'us-east-1' ? `${instanceId}.ec2.internal` : `${instanceId}.${region}.compute.internal`;
}

/**
 * The names the instance's node may carry: its private DNS name and, when the zone names the region,
 * its resource name (which a node may carry while EC2 reports the IP-based name).
 */
export function instanceNodeNames(instance: {
  instanceId: string;
  privateDnsName: string | undefined;
  availabilityZone?: string | undefined;
}): string[] {
  const region = regionOfZone(instance.availabilityZone);
  const names = [instance.privateDnsName, region && resourceName(instance.instanceId, region)];
  return [...new Set(names.filter((name): name is string => !!name))];
}

/** A label value may hold at most 63 characters; a selector with a longer one is refused with 400. */
export const isLabelValue = (value: string) =>
  value.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(value);
