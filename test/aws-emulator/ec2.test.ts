import assert from 'node:assert/strict';
import { DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import {
  awsClients,
  createGroupWithHook,
  describeInstance,
  terminateInstance,
  type GroupWithHook,
} from '../helpers/aws.js';

const clients = awsClients();

describe('AWS emulator: what EC2 and Auto Scaling report about a group instance', function () {
  let g: GroupWithHook;
  before(async function () {
    g = await createGroupWithHook({ tags: { 'k8s.io/cluster-autoscaler/enabled': 'true', team: 'infra' } }, clients);
  });
  after(async function () {
    await g.delete();
  });

  it('describes the instance with its private DNS name, placement and the group tags', async function () {
    const [instanceId] = g.instanceIds as [string];

    const instance = await describeInstance(clients.ec2, instanceId);

    assert.match(instance?.PrivateDnsName ?? '', /^ip-\d+-\d+-\d+-\d+\.ec2\.internal$/);
    assert.equal(instance?.Placement?.AvailabilityZone, 'us-east-1a');
    const tags = new Map((instance?.Tags ?? []).map((tag) => [tag.Key, tag.Value]));
    assert.equal(tags.get('aws:autoscaling:groupName'), g.groupName);
    assert.equal(tags.get('k8s.io/cluster-autoscaler/enabled'), 'true');
    assert.equal(tags.get('team'), 'infra');
  });

  it('reports the lifecycle state through DescribeAutoScalingInstances', async function () {
    const [instanceId] = g.instanceIds as [string];
    const state = async () =>
      (await clients.autoScaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] })))
        .AutoScalingInstances?.[0];

    assert.deepEqual(
      [(await state())?.LifecycleState, (await state())?.AutoScalingGroupName],
      ['InService', g.groupName],
    );
    await terminateInstance(g, instanceId);
    assert.equal((await state())?.LifecycleState, 'Terminating:Wait');
  });
});
