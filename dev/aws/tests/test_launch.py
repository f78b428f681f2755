"""Launches through a LAUNCHING hook: Pending:Wait, then InService on CONTINUE, terminated on ABANDON."""

from __future__ import annotations

from conftest import Aws

LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING"


def test_a_scale_out_with_a_launching_hook_waits_in_pending_wait_and_notifies(aws: Aws) -> None:
    group = aws.group(desired=0)
    url, arn = aws.queue()
    aws.hook(group, arn, name="warmup", transition=LAUNCHING)
    aws.receive(url)

    aws.asg.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=1)

    [(instance, state)] = aws.instances(group).items()
    assert state == "Pending:Wait"
    [body] = aws.receive(url)
    assert (body["Origin"], body["Destination"]) == ("EC2", "AutoScalingGroup")
    assert (body["LifecycleTransition"], body["EC2InstanceId"]) == (LAUNCHING, instance)
    assert "NotificationMetadata" not in body


def test_an_instance_in_pending_wait_counts_toward_the_desired_capacity(aws: Aws) -> None:
    group = aws.group(desired=0)
    aws.hook(group, name="warmup", transition=LAUNCHING)

    aws.asg.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=2)
    aws.asg.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=2)

    assert list(aws.instances(group).values()) == ["Pending:Wait", "Pending:Wait"]


def test_continue_puts_a_launching_instance_in_service(aws: Aws) -> None:
    group = aws.group(desired=0)
    aws.hook(group, name="warmup", transition=LAUNCHING)
    aws.asg.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=1)
    [instance] = aws.instances(group)

    aws.asg.complete_lifecycle_action(
        AutoScalingGroupName=group, LifecycleHookName="warmup", InstanceId=instance, LifecycleActionResult="CONTINUE"
    )

    assert aws.instances(group) == {instance: "InService"}
    [described] = aws.asg.describe_auto_scaling_instances(InstanceIds=[instance])["AutoScalingInstances"]
    assert described["LifecycleState"] == "InService"


def test_abandon_terminates_a_launching_instance_and_the_group_launches_another(aws: Aws) -> None:
    group = aws.group(desired=0)
    aws.hook(group, name="warmup", transition=LAUNCHING)
    aws.asg.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=1)
    [instance] = aws.instances(group)

    aws.asg.complete_lifecycle_action(
        AutoScalingGroupName=group, LifecycleHookName="warmup", InstanceId=instance, LifecycleActionResult="ABANDON"
    )

    assert aws.ec2_state(instance) == "terminated"
    [(replacement, state)] = aws.instances(group).items()
    assert replacement != instance and state == "Pending:Wait"


def test_an_expired_launch_with_default_abandon_terminates_the_instance(aws: Aws) -> None:
    group = aws.group(desired=0)
    aws.hook(group, name="warmup", transition=LAUNCHING, heartbeat_timeout=30, default_result="ABANDON")
    aws.asg.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=1)
    [instance] = aws.instances(group)

    aws.clock.advance(30)

    assert aws.ec2_state(instance) == "terminated"
    [expired] = aws.calls("LifecycleActionExpired")
    assert (expired["instanceId"], expired["result"]) == (instance, "ABANDON")


def test_hooks_given_at_group_creation_catch_its_first_instances(aws: Aws) -> None:
    url, arn = aws.queue()
    group = aws.group(
        desired=1,
        LifecycleHookSpecificationList=[
            {
                "LifecycleHookName": "warmup",
                "LifecycleTransition": LAUNCHING,
                "NotificationTargetARN": arn,
                "RoleARN": "arn:aws:iam::123456789012:role/asg-notify",
                "HeartbeatTimeout": 60,
            }
        ],
    )

    [instance] = aws.instances(group)
    assert aws.instances(group)[instance] == "Pending:Wait"
    bodies = aws.receive(url)
    assert sorted(str(body.get("Event", body.get("LifecycleTransition"))) for body in bodies) == [
        LAUNCHING,
        "autoscaling:TEST_NOTIFICATION",
    ]
