"""Notification bodies shaped like Auto Scaling's, their delivery to SQS / SNS, and their fields.

Key order and compact separators follow what Auto Scaling puts on the queue, for example:
{"Origin":"AutoScalingGroup","LifecycleHookName":"drain","Destination":"EC2","AccountId":"123456789012",
 "RequestId":"5487e9ac-…","LifecycleTransition":"autoscaling:EC2_INSTANCE_TERMINATING",
 "AutoScalingGroupName":"nodes","Service":"AWS Auto Scaling","Time":"2021-04-15T16:41:59.710Z",
 "EC2InstanceId":"i-0242f2f4a3f027b85","LifecycleActionToken":"61579bd3-…"}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from .clock import iso_millis, iso_seconds
from .settings import NotificationFormat

TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING"
TEST_NOTIFICATION = "autoscaling:TEST_NOTIFICATION"
SERVICE = "AWS Auto Scaling"

# (Origin, Destination, EventBridge detail-type, word in the SNS subject) per transition.
_TRANSITIONS: dict[str, tuple[str, str, str, str]] = {
    TERMINATING: ("AutoScalingGroup", "EC2", "EC2 Instance-terminate Lifecycle Action", "TERMINATING"),
    LAUNCHING: ("EC2", "AutoScalingGroup", "EC2 Instance-launch Lifecycle Action", "LAUNCHING"),
}


def _dump(body: dict[str, object]) -> str:
    return json.dumps(body, separators=(",", ":"))


@dataclass(frozen=True)
class LifecycleNotice:
    """What a lifecycle notification says, whatever its format."""

    account_id: str
    region: str
    group_name: str
    group_arn: str
    hook_name: str
    transition: str
    instance_id: str
    token: str
    metadata: str | None
    time: datetime
    request_id: str

    def direct_body(self) -> str:
        origin, destination, _, _ = _TRANSITIONS[self.transition]
        body: dict[str, object] = {
            "Origin": origin,
            "LifecycleHookName": self.hook_name,
            "Destination": destination,
            "AccountId": self.account_id,
            "RequestId": self.request_id,
            "LifecycleTransition": self.transition,
            "AutoScalingGroupName": self.group_name,
            "Service": SERVICE,
            "Time": iso_millis(self.time),
            "EC2InstanceId": self.instance_id,
        }
        if self.metadata is not None:
            body["NotificationMetadata"] = self.metadata
        body["LifecycleActionToken"] = self.token
        return _dump(body)

    def eventbridge_body(self) -> str:
        origin, destination, detail_type, _ = _TRANSITIONS[self.transition]
        detail: dict[str, object] = {
            "LifecycleActionToken": self.token,
            "AutoScalingGroupName": self.group_name,
            "LifecycleHookName": self.hook_name,
            "EC2InstanceId": self.instance_id,
            "LifecycleTransition": self.transition,
        }
        if self.metadata is not None:
            detail["NotificationMetadata"] = self.metadata
        detail["Origin"] = origin
        detail["Destination"] = destination
        return _dump(
            {
                "version": "0",
                "id": self.request_id,
                "detail-type": detail_type,
                "source": "aws.autoscaling",
                "account": self.account_id,
                "time": iso_seconds(self.time),
                "region": self.region,
                "resources": [self.group_arn],
                "detail": detail,
            }
        )

    def body(self, fmt: NotificationFormat) -> str:
        return self.eventbridge_body() if fmt == "eventbridge" else self.direct_body()

    def sns_subject(self) -> str:
        word = _TRANSITIONS[self.transition][3]
        return f"Auto Scaling:  Lifecycle action '{word}' for instance {self.instance_id} in progress."


@dataclass(frozen=True)
class HookTestNotice:
    """The test message Auto Scaling sends when a hook gets a notification target."""

    account_id: str
    region: str
    group_name: str
    group_arn: str
    transition: str
    time: datetime
    request_id: str

    def direct_body(self) -> str:
        return _dump(
            {
                "AccountId": self.account_id,
                "RequestId": self.request_id,
                "AutoScalingGroupARN": self.group_arn,
                "AutoScalingGroupName": self.group_name,
                "Service": SERVICE,
                "Event": TEST_NOTIFICATION,
                "Time": iso_millis(self.time),
            }
        )

    def eventbridge_body(self) -> str:
        # As NTH's fixtures record it: the hook's detail-type, with only the event in the detail.
        return _dump(
            {
                "version": "0",
                "id": self.request_id,
                "detail-type": _TRANSITIONS.get(self.transition, _TRANSITIONS[TERMINATING])[2],
                "source": "aws.autoscaling",
                "account": self.account_id,
                "time": iso_seconds(self.time),
                "region": self.region,
                "resources": [self.group_arn],
                "detail": {"Event": TEST_NOTIFICATION, "LifecycleTransition": TEST_NOTIFICATION},
            }
        )

    def body(self, fmt: NotificationFormat) -> str:
        return self.eventbridge_body() if fmt == "eventbridge" else self.direct_body()

    def sns_subject(self) -> str:
        return f'Auto Scaling: test notification for group "{self.group_name}"'


class TargetUnavailable(Exception):
    """The notification target does not exist (or is not an SQS queue or SNS topic)."""


def deliver(target_arn: str, body: str, subject: str) -> None:
    """Sends `body` to the SQS queue or SNS topic `target_arn` names, in the emulator's own backends."""
    parts = target_arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise TargetUnavailable(f"{target_arn} is not an ARN")
    _, _, service, region, account, resource = parts
    try:
        if service == "sqs":
            sqs_backends[account][region].send_message(resource, body)
        elif service == "sns":
            sns_backends[account][region].publish(body, arn=target_arn, subject=subject)
        else:
            raise TargetUnavailable(f"{target_arn} is neither an SQS queue nor an SNS topic")
    except TargetUnavailable:
        raise
    except Exception as error:  # moto raises a different class per service for "does not exist"
        raise TargetUnavailable(f"{target_arn}: {error}") from error


def target_exists(target_arn: str) -> bool:
    parts = target_arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return False
    _, _, service, region, account, resource = parts
    try:
        if service == "sqs":
            sqs_backends[account][region].get_queue(resource)
            return True
        if service == "sns":
            sns_backends[account][region].get_topic(target_arn)
            return True
    except Exception:  # moto's "does not exist" errors differ per service
        return False
    return False


@dataclass(frozen=True)
class MessageFields:
    instance_id: str | None = None
    token: str | None = None
    hook: str | None = None
    group: str | None = None


def message_fields(body: str) -> MessageFields:
    """The instance, token, hook and group a queue message is about, for the call log; empty if not JSON."""
    try:
        message = json.loads(body)
    except ValueError:
        return MessageFields()
    if not isinstance(message, dict):
        return MessageFields()
    if message.get("Type") == "Notification" and isinstance(message.get("Message"), str):
        return message_fields(message["Message"])
    detail = message.get("detail")
    source = detail if isinstance(detail, dict) else message

    def text(*keys: str) -> str | None:
        for key in keys:
            value = source.get(key)
            if isinstance(value, str):
                return value
        return None

    return MessageFields(
        instance_id=text("EC2InstanceId", "instance-id"),
        token=text("LifecycleActionToken"),
        hook=text("LifecycleHookName"),
        group=text("AutoScalingGroupName"),
    )
