"""Terminations through a TERMINATING hook: Terminating:Wait, notification, heartbeat, completion, expiry."""

from __future__ import annotations

from typing import Any

import botocore.exceptions  # type: ignore[import-untyped]
import pytest

from conftest import Aws

TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"


def terminating_group(aws: Aws, *, desired: int = 1, **hook: Any) -> tuple[str, str, list[str]]:
    group = aws.group(desired=desired)
    url, arn = aws.queue()
    aws.hook(group, arn, **hook)
    aws.receive(url)  # the test notification
    return group, url, list(aws.instances(group))


def error_of(raised: pytest.ExceptionInfo[botocore.exceptions.ClientError]) -> tuple[str, str]:
    error = raised.value.response["Error"]
    return error["Code"], error["Message"]


def test_terminate_instance_in_group_waits_in_terminating_wait_and_notifies_the_hook_target(aws: Aws) -> None:
    group, url, [instance] = terminating_group(aws, metadata="drain-me")

    aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=True)

    assert aws.instances(group) == {instance: "Terminating:Wait"}
    assert aws.ec2_state(instance) == "running"
    [body] = aws.receive(url)
    assert list(body) == [
        "Origin", "LifecycleHookName", "Destination", "AccountId", "RequestId", "LifecycleTransition",
        "AutoScalingGroupName", "Service", "Time", "EC2InstanceId", "NotificationMetadata", "LifecycleActionToken",
    ]  # fmt: skip
    assert body["Origin"] == "AutoScalingGroup" and body["Destination"] == "EC2"
    assert body["LifecycleTransition"] == TERMINATING
    assert (body["AutoScalingGroupName"], body["EC2InstanceId"]) == (group, instance)
    assert body["LifecycleHookName"] == "drain"
    assert body["NotificationMetadata"] == "drain-me"
    [started] = aws.calls("LifecycleActionStarted")
    assert started["token"] == body["LifecycleActionToken"]
    assert started["state"] == "Terminating:Wait"


def test_each_termination_gets_a_fresh_token(aws: Aws) -> None:
    group, url, instances = terminating_group(aws, desired=2)

    for instance in instances:
        aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=True)

    tokens = {body["LifecycleActionToken"] for body in aws.receive(url)}
    assert len(tokens) == 2


def test_set_desired_capacity_decrease_sends_the_removed_instance_through_the_hook(aws: Aws) -> None:
    group, url, instances = terminating_group(aws, desired=2)

    aws.asg.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=1)

    assert sorted(aws.instances(group).values()) == ["InService", "Terminating:Wait"]
    [body] = aws.receive(url)
    assert aws.instances(group)[body["EC2InstanceId"]] == "Terminating:Wait"


def test_update_auto_scaling_group_decrease_sends_the_removed_instances_through_the_hook(aws: Aws) -> None:
    group, url, instances = terminating_group(aws, desired=3)

    aws.asg.update_auto_scaling_group(AutoScalingGroupName=group, DesiredCapacity=1)

    assert sorted(aws.instances(group).values()) == ["InService", "Terminating:Wait", "Terminating:Wait"]
    assert len(aws.receive(url)) == 2


def test_termination_without_decrement_launches_a_replacement_at_once(aws: Aws) -> None:
    group, url, [instance] = terminating_group(aws)

    aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=False)

    states = aws.instances(group)
    assert states.pop(instance) == "Terminating:Wait"
    assert list(states.values()) == ["InService"]


def test_decrement_below_min_size_is_refused_like_aws(aws: Aws) -> None:
    group, url, [instance] = terminating_group(aws)
    aws.asg.update_auto_scaling_group(AutoScalingGroupName=group, MinSize=1)

    with pytest.raises(botocore.exceptions.ClientError) as raised:
        aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=True)

    assert error_of(raised) == (
        "ValidationError",
        "Currently, desiredSize equals minSize (1). Terminating instance without replacement will violate group's "
        "min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.",
    )


def test_complete_continue_terminates_the_instance_and_removes_it_from_the_group(aws: Aws) -> None:
    group, url, [instance] = terminating_group(aws)
    aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=True)
    [body] = aws.receive(url)

    aws.asg.complete_lifecycle_action(
        AutoScalingGroupName=group,
        LifecycleHookName="drain",
        LifecycleActionToken=body["LifecycleActionToken"],
        InstanceId=instance,
        LifecycleActionResult="CONTINUE",
    )

    assert aws.instances(group) == {}
    assert aws.ec2_state(instance) == "terminated"
    assert aws.asg.describe_auto_scaling_instances(InstanceIds=[instance])["AutoScalingInstances"] == []
    [completed] = aws.calls("LifecycleActionCompleted")
    assert completed["result"] == "CONTINUE"


def test_complete_abandon_also_terminates_a_terminating_instance(aws: Aws) -> None:
    group, url, [instance] = terminating_group(aws)
    aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=True)

    aws.asg.complete_lifecycle_action(
        AutoScalingGroupName=group, LifecycleHookName="drain", InstanceId=instance, LifecycleActionResult="ABANDON"
    )

    assert aws.ec2_state(instance) == "terminated"


def test_a_second_completion_fails_like_aws(aws: Aws) -> None:
    group, url, [instance] = terminating_group(aws)
    aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=True)
    [body] = aws.receive(url)
    complete = dict(
        AutoScalingGroupName=group,
        LifecycleHookName="drain",
        LifecycleActionToken=body["LifecycleActionToken"],
        InstanceId=instance,
        LifecycleActionResult="CONTINUE",
    )
    aws.asg.complete_lifecycle_action(**complete)

    with pytest.raises(botocore.exceptions.ClientError) as raised:
        aws.asg.complete_lifecycle_action(**complete)

    assert error_of(raised) == ("ValidationError", f"No active Lifecycle Action found with instance ID {instance}")
    assert [c["outcome"] for c in aws.calls("CompleteLifecycleAction")] == ["ok", "ValidationError"]


def test_heartbeat_by_token_or_by_instance_id_postpones_expiry(aws: Aws) -> None:
    group, url, [instance] = terminating_group(aws, heartbeat_timeout=60)
    aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=True)
    [body] = aws.receive(url)

    aws.clock.advance(50)
    aws.asg.record_lifecycle_action_heartbeat(
        AutoScalingGroupName=group, LifecycleHookName="drain", LifecycleActionToken=body["LifecycleActionToken"]
    )
    aws.clock.advance(50)
    aws.heartbeat(group, instance)
    aws.clock.advance(50)

    assert aws.instances(group) == {instance: "Terminating:Wait"}
    heartbeats = aws.calls("RecordLifecycleActionHeartbeat")
    assert [(c["instanceId"], c["token"], c["outcome"]) for c in heartbeats] == [
        (instance, body["LifecycleActionToken"], "ok"),
        (instance, body["LifecycleActionToken"], "ok"),
    ]


def test_heartbeat_for_an_unknown_instance_fails_like_aws(aws: Aws) -> None:
    group, url, [instance] = terminating_group(aws)

    with pytest.raises(botocore.exceptions.ClientError) as raised:
        aws.asg.record_lifecycle_action_heartbeat(
            AutoScalingGroupName=group, LifecycleHookName="drain", InstanceId="i-0123456789abcdef0"
        )

    assert error_of(raised) == (
        "ValidationError",
        "No active Lifecycle Action found with instance ID i-0123456789abcdef0",
    )


def test_heartbeat_with_another_instances_token_fails(aws: Aws) -> None:
    group, url, instances = terminating_group(aws, desired=2)
    aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instances[0], ShouldDecrementDesiredCapacity=True)
    [body] = aws.receive(url)

    with pytest.raises(botocore.exceptions.ClientError) as raised:
        aws.asg.record_lifecycle_action_heartbeat(
            AutoScalingGroupName=group,
            LifecycleHookName="drain",
            LifecycleActionToken=body["LifecycleActionToken"],
            InstanceId=instances[1],
        )

    assert error_of(raised) == ("ValidationError", f"No active Lifecycle Action found with instance ID {instances[1]}")


@pytest.mark.parametrize(("default_result", "ec2_state"), [("CONTINUE", "terminated"), ("ABANDON", "terminated")])
def test_without_heartbeat_the_action_expires_with_the_default_result(
    aws: Aws, default_result: str, ec2_state: str
) -> None:
    group, url, [instance] = terminating_group(aws, heartbeat_timeout=60, default_result=default_result)
    aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=True)

    aws.clock.advance(59.9)
    assert aws.instances(group) == {instance: "Terminating:Wait"}
    aws.clock.advance(0.1)

    assert aws.instances(group) == {}
    assert aws.ec2_state(instance) == ec2_state
    [expired] = aws.calls("LifecycleActionExpired")
    assert (expired["result"], expired["reason"]) == (default_result, "HeartbeatTimeout")
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        aws.heartbeat(group, instance)
    assert error_of(raised) == ("ValidationError", f"No active Lifecycle Action found with instance ID {instance}")


def test_heartbeats_cannot_keep_an_instance_waiting_past_the_global_timeout(aws: Aws) -> None:
    group, url, [instance] = terminating_group(aws, heartbeat_timeout=30)
    aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=True)

    for _ in range(100):
        aws.clock.advance(29.99)
        aws.heartbeat(group, instance)
    aws.clock.advance(2)  # past 100 x 30 s after the start, well before the last heartbeat runs out

    assert aws.instances(group) == {}
    [expired] = aws.calls("LifecycleActionExpired")
    assert expired["reason"] == "GlobalTimeout"


def test_a_group_time_scale_tag_runs_its_lifecycle_clocks_faster(aws: Aws) -> None:
    group = aws.group(desired=1, tags=[{"Key": "tnth:emulator:time-scale", "Value": "0.01"}])
    aws.hook(group, heartbeat_timeout=30)
    [instance] = aws.instances(group)
    aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=True)

    aws.clock.advance(0.31)

    assert aws.instances(group) == {}
    [hook] = aws.asg.describe_lifecycle_hooks(AutoScalingGroupName=group)["LifecycleHooks"]
    assert hook["HeartbeatTimeout"] == 30


def test_the_eventbridge_format_is_chosen_per_group_by_tag(aws: Aws) -> None:
    group = aws.group(desired=1, tags=[{"Key": "tnth:emulator:notification-format", "Value": "eventbridge"}])
    url, arn = aws.queue()
    aws.hook(group, arn, metadata="m")
    [test_message] = aws.receive(url)
    [instance] = aws.instances(group)

    aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=True)

    [event] = aws.receive(url)
    group_arn = test_message["resources"][0]
    assert test_message["detail"] == {
        "Event": "autoscaling:TEST_NOTIFICATION",
        "LifecycleTransition": "autoscaling:TEST_NOTIFICATION",
    }
    assert list(event) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
    assert event["detail-type"] == "EC2 Instance-terminate Lifecycle Action"
    assert (event["source"], event["account"], event["region"]) == ("aws.autoscaling", "123456789012", "us-east-1")
    assert event["resources"] == [group_arn] and group_arn.endswith(f":autoScalingGroupName/{group}")
    assert list(event["detail"]) == [
        "LifecycleActionToken", "AutoScalingGroupName", "LifecycleHookName", "EC2InstanceId", "LifecycleTransition",
        "NotificationMetadata", "Origin", "Destination",
    ]  # fmt: skip
    assert event["detail"]["EC2InstanceId"] == instance


def test_an_abandon_ends_the_other_hooks_of_the_same_termination(aws: Aws) -> None:
    group, url, [instance] = terminating_group(aws)
    aws.hook(group, name="second")
    aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=True)

    aws.asg.complete_lifecycle_action(
        AutoScalingGroupName=group, LifecycleHookName="drain", InstanceId=instance, LifecycleActionResult="ABANDON"
    )

    assert aws.ec2_state(instance) == "terminated"
    assert [c["hook"] for c in aws.calls("LifecycleActionCancelled")] == ["second"]


def test_with_two_hooks_the_instance_waits_for_both(aws: Aws) -> None:
    group, url, [instance] = terminating_group(aws)
    aws.hook(group, name="second")
    aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=True)
    complete = dict(AutoScalingGroupName=group, InstanceId=instance, LifecycleActionResult="CONTINUE")

    aws.asg.complete_lifecycle_action(LifecycleHookName="drain", **complete)
    assert aws.instances(group) == {instance: "Terminating:Wait"}
    aws.asg.complete_lifecycle_action(LifecycleHookName="second", **complete)

    assert aws.ec2_state(instance) == "terminated"


def test_deleting_the_hook_completes_its_terminating_actions_with_continue(aws: Aws) -> None:
    group, url, [instance] = terminating_group(aws)
    aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=True)

    aws.asg.delete_lifecycle_hook(AutoScalingGroupName=group, LifecycleHookName="drain")

    assert aws.ec2_state(instance) == "terminated"
    [completed] = aws.calls("LifecycleActionCompleted")
    assert (completed["result"], completed["reason"]) == ("CONTINUE", "DeleteLifecycleHook")
