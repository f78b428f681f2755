"""SQS with the extension's hot paths (tnth_emulator/sqs.py): moto's behaviour, without its walks over the
whole queue per message."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import botocore.exceptions  # type: ignore[import-untyped]
import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.sqs.models import sqs_backends

from conftest import REGION, Aws


def wait_until(what: str, check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def attribute(aws: Aws, url: str, name: str) -> int:
    return int(aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[name])["Attributes"][name])


def error_code(call: Callable[[], object]) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call()
    code: str = raised.value.response["Error"]["Code"]
    return code


def test_a_message_is_deleted_by_its_latest_receipt_handle_or_an_earlier_one(aws: Aws) -> None:
    url, _ = aws.queue()
    aws.sqs.send_message(QueueUrl=url, MessageBody="a")
    aws.sqs.send_message(QueueUrl=url, MessageBody="b")
    first = aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=0)["Messages"]
    again = aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=30)["Messages"]
    by_body = {m["Body"]: m["ReceiptHandle"] for m in first}

    aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=by_body["a"])
    aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=next(m["ReceiptHandle"] for m in again if m["Body"] == "b"))

    assert attribute(aws, url, "ApproximateNumberOfMessages") == 0
    assert attribute(aws, url, "ApproximateNumberOfMessagesNotVisible") == 0


def test_a_deleted_handle_can_be_deleted_again_and_an_unknown_one_is_invalid(aws: Aws) -> None:
    url, _ = aws.queue()
    other_url, _ = aws.queue()
    aws.sqs.send_message(QueueUrl=url, MessageBody="a")
    aws.sqs.send_message(QueueUrl=other_url, MessageBody="b")
    handle = aws.sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    other_handle = aws.sqs.receive_message(QueueUrl=other_url)["Messages"][0]["ReceiptHandle"]
    aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)

    aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    sqs = aws.client("sqs", retries=False)
    assert error_code(lambda: sqs.delete_message(QueueUrl=url, ReceiptHandle="unknown")) == "ReceiptHandleIsInvalid"
    assert error_code(lambda: sqs.delete_message(QueueUrl=url, ReceiptHandle=other_handle)) == "ReceiptHandleIsInvalid"
    batch = sqs.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": "again", "ReceiptHandle": handle}, {"Id": "other", "ReceiptHandle": other_handle}]
    )
    assert [entry["Id"] for entry in batch["Successful"]] == ["again"]
    assert [(entry["Id"], entry["Code"]) for entry in batch["Failed"]] == [("other", "ReceiptHandleIsInvalid")]
    assert attribute(aws, other_url, "ApproximateNumberOfMessagesNotVisible") == 1


def test_a_received_message_stays_invisible_until_its_visibility_is_changed(aws: Aws) -> None:
    url, _ = aws.queue()
    aws.sqs.send_message(QueueUrl=url, MessageBody="a")
    handle = aws.sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"][0]["ReceiptHandle"]
    assert "Messages" not in aws.sqs.receive_message(QueueUrl=url)
    assert attribute(aws, url, "ApproximateNumberOfMessagesNotVisible") == 1

    aws.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)

    assert attribute(aws, url, "ApproximateNumberOfMessages") == 1
    received = aws.sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert received[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    sqs = aws.client("sqs", retries=False)
    assert (
        error_code(lambda: sqs.change_message_visibility(QueueUrl=url, ReceiptHandle="unknown", VisibilityTimeout=0))
        == "ReceiptHandleIsInvalid"
    )
    assert (
        error_code(lambda: sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=43_201))
        == "InvalidParameterValue"
    )


def test_a_delayed_message_is_counted_as_delayed_and_received_once_the_delay_passed(aws: Aws) -> None:
    url, _ = aws.queue()
    aws.sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)

    assert attribute(aws, url, "ApproximateNumberOfMessagesDelayed") == 1
    assert "Messages" not in aws.sqs.receive_message(QueueUrl=url)
    received: list[dict[str, Any]] = []

    def receive() -> bool:
        received.extend(aws.sqs.receive_message(QueueUrl=url).get("Messages", []))
        return bool(received)

    wait_until("the delayed message", receive)
    assert received[0]["Body"] == "later"


def test_a_message_received_max_receive_count_times_moves_to_the_dead_letter_queue(aws: Aws) -> None:
    url, _ = aws.queue()
    dlq_url, dlq_arn = aws.queue()
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    aws.sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": policy})
    aws.sqs.send_message(QueueUrl=url, MessageBody="poison")

    for _ in range(2):
        assert aws.sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]["Body"] == "poison"
    assert "Messages" not in aws.sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)

    assert attribute(aws, url, "ApproximateNumberOfMessages") == 0
    assert aws.sqs.receive_message(QueueUrl=dlq_url)["Messages"][0]["Body"] == "poison"


def test_a_long_poll_returns_as_soon_as_a_message_arrives(aws: Aws) -> None:
    url, _ = aws.queue()
    received: list[dict[str, Any]] = []
    poll = threading.Thread(
        target=lambda: received.extend(aws.client("sqs").receive_message(QueueUrl=url, WaitTimeSeconds=20)["Messages"])
    )
    started = time.monotonic()
    poll.start()
    aws.sqs.send_message(QueueUrl=url, MessageBody="now")
    poll.join(timeout=10)

    assert [m["Body"] for m in received] == ["now"]
    assert time.monotonic() - started < 5


def test_concurrent_receives_never_hand_out_the_same_message(aws: Aws) -> None:
    url, _ = aws.queue()
    for batch in range(20):
        entries = [{"Id": str(n), "MessageBody": f"{batch}-{n}"} for n in range(10)]
        aws.sqs.send_message_batch(QueueUrl=url, Entries=entries)
    bodies: list[str] = []

    def drain() -> None:
        sqs = aws.client("sqs")
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get(
            "Messages", []
        ):
            bodies.extend(m["Body"] for m in messages)

    threads = [threading.Thread(target=drain) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(bodies) == 200
    assert len(set(bodies)) == 200


def test_a_fifo_group_waits_while_one_of_its_messages_is_in_flight(aws: Aws) -> None:
    url = aws.sqs.create_queue(
        QueueName=f"q-{uuid.uuid4().hex[:8]}.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    for body, group in [("a1", "a"), ("a2", "a"), ("b1", "b")]:
        aws.sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)

    def receive_one() -> dict[str, Any] | None:
        messages: list[dict[str, Any]] = aws.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get(
            "Messages", []
        )
        return messages[0] if messages else None

    a1 = receive_one()
    assert a1 is not None and a1["Body"] == "a1"
    b1 = receive_one()
    assert b1 is not None and b1["Body"] == "b1"
    assert receive_one() is None
    aws.sqs.delete_message(QueueUrl=url, ReceiptHandle=a1["ReceiptHandle"])
    a2 = receive_one()
    assert a2 is not None and a2["Body"] == "a2"


@pytest.mark.usefixtures("aws")
def test_receiving_and_deleting_takes_time_linear_in_the_queue_length() -> None:
    """moto walked the whole queue several times per message: 5,000 messages took about a minute, now a
    few seconds (the bound leaves room for a loaded machine)."""
    backend = sqs_backends[DEFAULT_ACCOUNT_ID][REGION]
    name = f"q-{uuid.uuid4().hex[:8]}"
    backend.create_queue(name, {})
    started = time.monotonic()
    for index in range(5_000):
        backend.send_message(name, f"m{index}")
    deleted = 0
    while messages := backend.receive_message(name, 10, 0, 30):
        for message in messages:
            assert message.receipt_handle is not None
            backend.delete_message(name, message.receipt_handle)
        deleted += len(messages)

    assert deleted == 5_000
    assert time.monotonic() - started < 10
