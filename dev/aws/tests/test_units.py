"""The pure parts: settings, deadlines, notification bodies and message fields."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tnth_emulator.actions import ActionTable, Expiry, LifecycleAction, global_timeout
from tnth_emulator.clock import iso_millis, iso_seconds
from tnth_emulator.faults import Fault, FaultInjector
from tnth_emulator.notifications import TERMINATING, LifecycleNotice, MessageFields, message_fields
from tnth_emulator.settings import Settings

MOMENT = datetime(2025, 3, 4, 5, 6, 7, 891_234, tzinfo=UTC)


def action(heartbeat_timeout: int = 60, time_scale: float = 1.0) -> LifecycleAction:
    return LifecycleAction.start(
        token="t-1",
        instance_id="i-1",
        group_name="g",
        hook_name="h",
        transition=TERMINATING,
        default_result="CONTINUE",
        heartbeat_timeout=heartbeat_timeout,
        time_scale=time_scale,
        account_id="123456789012",
        region="us-east-1",
        now=0.0,
    )


def test_settings_come_from_the_environment() -> None:
    env = {"AWS_EMULATOR_TIME_SCALE": "0.01", "AWS_EMULATOR_NOTIFICATION_FORMAT": "eventbridge"}

    assert Settings.from_env(env) == Settings(time_scale=0.01, notification_format="eventbridge")
    assert Settings.from_env({}) == Settings(time_scale=1.0, notification_format="direct")


@pytest.mark.parametrize("value", ["0", "-1", "fast", "nan", "inf"])
def test_a_bad_time_scale_names_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match="AWS_EMULATOR_TIME_SCALE must be a positive number"):
        Settings.from_env({"AWS_EMULATOR_TIME_SCALE": value})


def test_a_bad_notification_format_names_the_variable() -> None:
    with pytest.raises(ValueError, match="AWS_EMULATOR_NOTIFICATION_FORMAT must be one of direct, eventbridge"):
        Settings.from_env({"AWS_EMULATOR_NOTIFICATION_FORMAT": "sns"})


def test_group_tags_override_the_environment() -> None:
    tags = [{"Key": "tnth:emulator:time-scale", "Value": "0.5"}, {"Key": "team", "Value": "x"}]

    assert Settings(time_scale=0.01).for_group(tags).time_scale == 0.5


def test_the_global_timeout_is_100_heartbeat_timeouts_or_48_hours() -> None:
    assert (global_timeout(30), global_timeout(1728), global_timeout(7200)) == (3000, 172800, 172800)


def test_the_time_scale_shortens_real_deadlines_only() -> None:
    scaled = action(heartbeat_timeout=30, time_scale=0.01)

    assert (scaled.heartbeat_timeout, scaled.global_timeout) == (30, 3000)
    assert scaled.expiry(0.29) is None
    assert scaled.expiry(0.3) is Expiry.HEARTBEAT_TIMEOUT


def test_a_heartbeat_moves_the_heartbeat_deadline_but_not_the_global_one() -> None:
    pending = action(heartbeat_timeout=30)
    pending.heartbeat(2990.0)

    assert pending.expiry(2999.0) is None
    assert pending.expiry(3000.0) is Expiry.GLOBAL_TIMEOUT


def test_the_table_finds_actions_by_token_or_instance_within_their_group_and_hook() -> None:
    table = ActionTable()
    table.add(pending := action())

    assert table.find(group_name="g", hook_name="h", token="t-1", instance_id=None) is pending
    assert table.find(group_name="g", hook_name="h", token=None, instance_id="i-1") is pending
    assert table.find(group_name="g", hook_name="other", token="t-1", instance_id=None) is None
    assert table.find(group_name="g", hook_name="h", token="t-1", instance_id="i-2") is None
    assert table.discard(pending) and not table.discard(pending)
    assert table.find(group_name="g", hook_name="h", token="t-1", instance_id=None) is None


def test_timestamps_have_milliseconds_or_seconds_in_utc() -> None:
    assert (iso_millis(MOMENT), iso_seconds(MOMENT)) == ("2025-03-04T05:06:07.891Z", "2025-03-04T05:06:07Z")


def notice(metadata: str | None) -> LifecycleNotice:
    return LifecycleNotice(
        account_id="123456789012",
        region="us-east-1",
        group_name="nodes",
        group_arn="arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:abc:autoScalingGroupName/nodes",
        hook_name="drain",
        transition=TERMINATING,
        instance_id="i-0abc",
        token="tok",
        metadata=metadata,
        time=MOMENT,
        request_id="req",
    )


def test_the_direct_body_is_compact_json_in_auto_scalings_key_order() -> None:
    assert notice(None).direct_body() == (
        '{"Origin":"AutoScalingGroup","LifecycleHookName":"drain","Destination":"EC2",'
        '"AccountId":"123456789012","RequestId":"req","LifecycleTransition":"autoscaling:EC2_INSTANCE_TERMINATING",'
        '"AutoScalingGroupName":"nodes","Service":"AWS Auto Scaling","Time":"2025-03-04T05:06:07.891Z",'
        '"EC2InstanceId":"i-0abc","LifecycleActionToken":"tok"}'
    )


def test_the_eventbridge_body_carries_the_lifecycle_fields_in_detail() -> None:
    body = json.loads(notice("m").eventbridge_body())

    assert body["detail"] == {
        "LifecycleActionToken": "tok",
        "AutoScalingGroupName": "nodes",
        "LifecycleHookName": "drain",
        "EC2InstanceId": "i-0abc",
        "LifecycleTransition": TERMINATING,
        "NotificationMetadata": "m",
        "Origin": "AutoScalingGroup",
        "Destination": "EC2",
    }
    assert (body["time"], body["id"], body["version"]) == ("2025-03-04T05:06:07Z", "req", "0")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (notice(None).direct_body(), MessageFields("i-0abc", "tok", "drain", "nodes")),
        (notice(None).eventbridge_body(), MessageFields("i-0abc", "tok", "drain", "nodes")),
        (
            json.dumps({"Type": "Notification", "Message": notice(None).direct_body()}),
            MessageFields("i-0abc", "tok", "drain", "nodes"),
        ),
        ('{"source":"aws.ec2","detail":{"instance-id":"i-9"}}', MessageFields(instance_id="i-9")),
        ("not json", MessageFields()),
        ("[1]", MessageFields()),
    ],
)
def test_message_fields_are_found_in_every_message_format(body: str, fields: MessageFields) -> None:
    assert message_fields(body) == fields


class FixedRandom:
    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


def test_a_fault_fails_the_given_fraction_of_calls() -> None:
    faults = FaultInjector(FixedRandom(0.49))  # type: ignore[arg-type]
    faults.add(Fault.from_json({"action": "A", "errorCode": "Throttling", "rate": 0.5}))

    assert faults.pick("A", lambda name: None) is not None
    faults = FaultInjector(FixedRandom(0.5))  # type: ignore[arg-type]
    faults.add(Fault.from_json({"action": "A", "errorCode": "Throttling", "rate": 0.5}))
    assert faults.pick("A", lambda name: None) is None
    assert faults.pick("B", lambda name: None) is None
