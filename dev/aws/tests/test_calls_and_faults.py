"""The call log and fault injection, through the `/_emulator/*` routes."""

from __future__ import annotations

import re

import botocore.exceptions  # type: ignore[import-untyped]
import pytest

from conftest import Aws, http


def test_sqs_deletes_are_logged_per_entry_with_the_lifecycle_fields_of_the_message(aws: Aws) -> None:
    group = aws.group(desired=2)
    url, arn = aws.queue()
    aws.hook(group, arn)
    test_message = aws.sqs.receive_message(QueueUrl=url)["Messages"][0]
    aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=test_message["ReceiptHandle"])
    for instance in aws.instances(group):
        aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=True)
    messages = aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    entries = [{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)]
    entries.append({"Id": "bad", "ReceiptHandle": "not-a-receipt-handle"})

    aws.sqs.delete_message_batch(QueueUrl=url, Entries=entries)

    deletes = aws.calls("DeleteMessage", "DeleteMessageBatch")
    started = {c["instanceId"]: c["token"] for c in aws.calls("LifecycleActionStarted")}
    assert [(c["action"], c["group"], c["outcome"]) for c in deletes] == [
        ("DeleteMessage", group, "ok"),
        ("DeleteMessageBatch", group, "ok"),
        ("DeleteMessageBatch", group, "ok"),
        ("DeleteMessageBatch", None, "ReceiptHandleIsInvalid"),
    ]
    assert {c["instanceId"]: c["token"] for c in deletes[1:3]} == started
    assert all(c["queue"] == url.rsplit("/", 1)[1] for c in deletes)


def test_every_entry_has_the_same_keys_and_a_millisecond_utc_time(aws: Aws) -> None:
    group = aws.group(desired=1)
    aws.hook(group)
    [instance] = aws.instances(group)
    aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=True)
    aws.heartbeat(group, instance)

    for call in aws.calls():
        assert {"time", "action", "instanceId", "token", "hook", "group", "outcome"} <= set(call)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", call["time"])


def test_the_call_log_can_be_read_and_cleared_for_one_group(aws: Aws) -> None:
    group, other = aws.group(desired=1), aws.group(desired=1)
    for name in (group, other):
        aws.hook(name)
        aws.asg.terminate_instance_in_auto_scaling_group(
            InstanceId=next(iter(aws.instances(name))), ShouldDecrementDesiredCapacity=True
        )

    _, read = http("GET", f"{aws.endpoint}/_emulator/lifecycle-calls?group={group}")
    assert {call["group"] for call in read["calls"]} == {group}
    http("DELETE", f"{aws.endpoint}/_emulator/lifecycle-calls?group={group}")

    assert {call["group"] for call in aws.calls()} == {other}


def test_delete_clears_the_call_log(aws: Aws) -> None:
    group = aws.group(desired=1)
    aws.hook(group)
    aws.asg.terminate_instance_in_auto_scaling_group(
        InstanceId=next(iter(aws.instances(group))), ShouldDecrementDesiredCapacity=True
    )

    assert http("DELETE", f"{aws.endpoint}/_emulator/lifecycle-calls") == (200, {"calls": []})
    assert aws.calls() == []


def test_an_injected_fault_fails_the_call_with_the_aws_error_and_is_logged(aws: Aws) -> None:
    group = aws.group(desired=1)
    aws.hook(group)
    [instance] = aws.instances(group)
    aws.asg.terminate_instance_in_auto_scaling_group(InstanceId=instance, ShouldDecrementDesiredCapacity=True)
    status, _ = http(
        "POST",
        f"{aws.endpoint}/_emulator/faults",
        {"action": "RecordLifecycleActionHeartbeat", "errorCode": "Throttling", "rate": 1, "count": 1},
    )
    assert status == 201

    with pytest.raises(botocore.exceptions.ClientError) as raised:
        heartbeat(aws, group, instance)

    assert raised.value.response["Error"] == {"Code": "Throttling", "Message": "Rate exceeded", "Type": "Sender"}
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    heartbeat(aws, group, instance)  # count 1: the fault is gone
    assert [c["outcome"] for c in aws.calls("RecordLifecycleActionHeartbeat")] == ["Throttling", "ok"]


def heartbeat(aws: Aws, group: str, instance: str) -> None:
    aws.asg_once.record_lifecycle_action_heartbeat(
        AutoScalingGroupName=group, LifecycleHookName="drain", InstanceId=instance
    )


def test_a_fault_with_params_fails_only_the_matching_calls(aws: Aws) -> None:
    group, other = aws.group(desired=1), aws.group(desired=1)
    for name in (group, other):
        aws.hook(name)
        aws.asg.terminate_instance_in_auto_scaling_group(
            InstanceId=next(iter(aws.instances(name))), ShouldDecrementDesiredCapacity=True
        )
    http(
        "POST",
        f"{aws.endpoint}/_emulator/faults",
        {
            "action": "RecordLifecycleActionHeartbeat",
            "errorCode": "ServiceUnavailable",
            "params": {"AutoScalingGroupName": group},
        },
    )

    heartbeat(aws, other, next(iter(aws.instances(other))))
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        heartbeat(aws, group, next(iter(aws.instances(group))))

    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert raised.value.response["Error"]["Code"] == "ServiceUnavailable"


def test_a_fault_with_a_list_param_fails_the_calls_whose_list_holds_the_value(aws: Aws) -> None:
    group = aws.group(desired=2)
    throttled, other = sorted(aws.instances(group))
    http(
        "POST",
        f"{aws.endpoint}/_emulator/faults",
        {"action": "DescribeInstances", "errorCode": "RequestLimitExceeded", "params": {"InstanceIds": throttled}},
    )
    ec2 = aws.client("ec2", retries=False)

    assert ec2.describe_instances(InstanceIds=[other])["Reservations"]
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        ec2.describe_instances(InstanceIds=[other, throttled])

    assert raised.value.response["Error"]["Code"] == "RequestLimitExceeded"


def test_an_sqs_fault_is_answered_in_the_sqs_protocol(aws: Aws) -> None:
    url, _ = aws.queue()
    aws.sqs.send_message(QueueUrl=url, MessageBody="{}")
    handle = aws.sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    http("POST", f"{aws.endpoint}/_emulator/faults", {"action": "DeleteMessage", "errorCode": "InternalError"})

    with pytest.raises(botocore.exceptions.ClientError) as raised:
        aws.client("sqs", retries=False).delete_message(QueueUrl=url, ReceiptHandle=handle)

    assert raised.value.response["Error"]["Code"] == "InternalError"
    assert aws.calls("DeleteMessage")[0]["outcome"] == "InternalError"


def test_a_fault_can_be_removed_by_its_id(aws: Aws) -> None:
    _, created = http("POST", f"{aws.endpoint}/_emulator/faults", {"action": "DescribeTags", "errorCode": "Throttling"})
    fault_id = created["fault"]["id"]

    assert http("DELETE", f"{aws.endpoint}/_emulator/faults/{fault_id}") == (200, {"faults": []})
    assert http("DELETE", f"{aws.endpoint}/_emulator/faults/{fault_id}")[0] == 404
    aws.asg.describe_tags()


def test_delete_clears_all_faults(aws: Aws) -> None:
    http("POST", f"{aws.endpoint}/_emulator/faults", {"action": "DescribeAutoScalingGroups", "errorCode": "Throttling"})

    assert http("DELETE", f"{aws.endpoint}/_emulator/faults") == (200, {"faults": []})
    aws.asg.describe_auto_scaling_groups()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"errorCode": "Throttling"}, "action must name an AWS API action"),
        ({"action": "X"}, "errorCode must be an AWS error code"),
        ({"action": "X", "errorCode": "Throttling", "rate": 2}, "rate must be a number from 0 to 1"),
        ({"action": "X", "errorCode": "Throttling", "count": 0}, "count must be a positive integer"),
        ([], "a fault is a JSON object"),
    ],
)
def test_a_bad_fault_is_refused_with_the_reason(aws: Aws, body: object, message: str) -> None:
    status, answer = http("POST", f"{aws.endpoint}/_emulator/faults", body)

    assert status == 400 and answer["error"].startswith(message)


def test_unknown_routes_and_methods_say_so(aws: Aws) -> None:
    assert http("GET", f"{aws.endpoint}/_emulator/nothing")[0] == 404
    assert http("PUT", f"{aws.endpoint}/_emulator/faults")[0] == 405
    assert http("GET", f"{aws.endpoint}/_emulator/health") == (
        200,
        {"ok": True, "settings": {"timeScale": 1.0, "notificationFormat": "direct"}},
    )
