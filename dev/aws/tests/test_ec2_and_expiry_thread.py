"""What EC2 reports about group instances, and expiry with no request to trigger it."""

from __future__ import annotations

import time

from tnth_emulator import expiry, install
from tnth_emulator.settings import Settings

from conftest import Aws


def test_describe_instances_shows_dns_name_placement_and_the_group_tags(aws: Aws) -> None:
    group = aws.group(
        desired=1,
        tags=[
            {"Key": "team", "Value": "infra", "PropagateAtLaunch": True},
            {"Key": "private", "Value": "yes", "PropagateAtLaunch": False},
        ],
    )
    [instance_id] = aws.instances(group)

    [instance] = aws.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"]

    assert instance["PrivateDnsName"].endswith(".ec2.internal")
    assert instance["Placement"]["AvailabilityZone"] == "us-east-1a"
    tags = {tag["Key"]: tag["Value"] for tag in instance["Tags"]}
    assert tags["aws:autoscaling:groupName"] == group
    assert tags["team"] == "infra" and "private" not in tags


def test_describe_auto_scaling_instances_shows_the_lifecycle_state(aws: Aws) -> None:
    group = aws.group(desired=1)
    aws.hook(group)
    [instance] = aws.instances(group)
    aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=True)

    [described] = aws.asg.describe_auto_scaling_instances(InstanceIds=[instance])["AutoScalingInstances"]

    assert (described["LifecycleState"], described["AutoScalingGroupName"]) == ("Terminating:Wait", group)


def test_the_expiry_thread_applies_the_default_result_without_any_request(aws: Aws) -> None:
    emulator = install(Settings(time_scale=0.001))  # 30 s heartbeat timeout -> 30 ms
    stop = expiry.start(emulator)
    try:
        group = aws.group(desired=1)
        aws.hook(group, heartbeat_timeout=30)
        [instance] = aws.instances(group)
        aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=True)

        deadline = time.monotonic() + 5
        while emulator.actions.all() and time.monotonic() < deadline:
            time.sleep(0.01)

        assert emulator.actions.all() == []
        assert [c["action"] for c in emulator.calls.entries()] == ["LifecycleActionStarted", "LifecycleActionExpired"]
    finally:
        stop.set()
