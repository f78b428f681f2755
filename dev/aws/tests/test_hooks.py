"""PutLifecycleHook / DescribeLifecycleHooks keep what the caller gave, and targets get a test message."""

from __future__ import annotations

import botocore.exceptions  # type: ignore[import-untyped]
import pytest

from conftest import Aws


def test_describe_returns_every_field_put_lifecycle_hook_was_given(aws: Aws) -> None:
    group = aws.group(desired=0)
    _, arn = aws.queue()
    aws.hook(group, arn, heartbeat_timeout=120, default_result="ABANDON", metadata='{"cluster":"c1"}')

    [hook] = aws.asg.describe_lifecycle_hooks(AutoScalingGroupName=group)["LifecycleHooks"]

    assert hook == {
        "LifecycleHookName": "drain",
        "AutoScalingGroupName": group,
        "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
        "NotificationTargetARN": arn,
        "RoleARN": "arn:aws:iam::123456789012:role/asg-notify",
        "NotificationMetadata": '{"cluster":"c1"}',
        "HeartbeatTimeout": 120,
        "GlobalTimeout": 12000,
        "DefaultResult": "ABANDON",
    }


def test_global_timeout_is_capped_at_48_hours(aws: Aws) -> None:
    group = aws.group(desired=0)
    aws.hook(group, heartbeat_timeout=7200)

    [hook] = aws.asg.describe_lifecycle_hooks(AutoScalingGroupName=group)["LifecycleHooks"]

    assert hook["GlobalTimeout"] == 172800


def test_updating_a_hook_keeps_the_fields_the_update_leaves_out(aws: Aws) -> None:
    group = aws.group(desired=0)
    _, arn = aws.queue()
    aws.hook(group, arn, heartbeat_timeout=120, metadata="m")

    aws.asg.put_lifecycle_hook(AutoScalingGroupName=group, LifecycleHookName="drain", HeartbeatTimeout=600)

    [hook] = aws.asg.describe_lifecycle_hooks(AutoScalingGroupName=group)["LifecycleHooks"]
    assert (hook["HeartbeatTimeout"], hook["NotificationTargetARN"], hook["NotificationMetadata"]) == (600, arn, "m")


def test_a_hook_with_an_sqs_target_sends_it_a_test_notification(aws: Aws) -> None:
    group = aws.group(desired=0)
    url, arn = aws.queue()
    aws.hook(group, arn)

    [body] = aws.receive(url)

    group_arn = aws.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0][
        "AutoScalingGroupARN"
    ]
    assert list(body) == [
        "AccountId", "RequestId", "AutoScalingGroupARN", "AutoScalingGroupName", "Service", "Event", "Time",
    ]  # fmt: skip
    assert body["Event"] == "autoscaling:TEST_NOTIFICATION"
    assert body["Service"] == "AWS Auto Scaling"
    assert body["AutoScalingGroupName"] == group
    assert body["AutoScalingGroupARN"] == group_arn
    assert body["AccountId"] == "123456789012"


def test_putting_a_hook_again_with_the_same_target_sends_no_second_test_notification(aws: Aws) -> None:
    group = aws.group(desired=0)
    url, arn = aws.queue()
    aws.hook(group, arn)
    aws.hook(group, arn, heartbeat_timeout=60)

    assert len(aws.receive(url)) == 1


def test_a_hook_whose_target_queue_does_not_exist_is_refused_like_aws(aws: Aws) -> None:
    group = aws.group(desired=0)
    missing = "arn:aws:sqs:us-east-1:123456789012:no-such-queue"

    with pytest.raises(botocore.exceptions.ClientError) as raised:
        aws.hook(group, missing)

    assert raised.value.response["Error"]["Code"] == "ValidationError"
    assert raised.value.response["Error"]["Message"] == (
        f"Unable to publish test message to notification target {missing} using IAM role "
        "arn:aws:iam::123456789012:role/asg-notify. Please check your target and role configuration and try "
        "to put lifecycle hook again."
    )
    assert aws.asg.describe_lifecycle_hooks(AutoScalingGroupName=group)["LifecycleHooks"] == []


def test_a_second_group_with_the_same_name_is_refused(aws: Aws) -> None:
    group = aws.group(desired=0)

    with pytest.raises(botocore.exceptions.ClientError) as raised:
        aws.asg.create_auto_scaling_group(
            AutoScalingGroupName=group, LaunchTemplate={"LaunchTemplateName": f"lt-{group}"}, MinSize=0, MaxSize=1,
            AvailabilityZones=["us-east-1a"],
        )

    assert raised.value.response["Error"]["Code"] == "AlreadyExists"


def test_deleting_a_group_drops_its_hooks_and_outstanding_actions(aws: Aws) -> None:
    group = aws.group(desired=1)
    aws.hook(group)
    [instance] = aws.instances(group)
    aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=True)

    aws.asg.delete_auto_scaling_group(AutoScalingGroupName=group, ForceDelete=True)

    assert aws.ec2_state(instance) == "terminated"
    assert aws.emulator.actions.all() == []
    assert [c["action"] for c in aws.calls()] == ["LifecycleActionStarted", "LifecycleActionCancelled"]
