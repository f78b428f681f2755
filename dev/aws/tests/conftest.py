"""An in-process emulator server per test session; each test gets a fresh emulator (actions, call log,
faults) on a manual clock, so expiry is driven by `clock.advance()` instead of waiting."""

from __future__ import annotations

import json
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.config import Config  # type: ignore[import-untyped]
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from tnth_emulator import Emulator, install
from tnth_emulator.admin import AdminMiddleware
from tnth_emulator.clock import ManualClock
from tnth_emulator.settings import Settings

REGION = "us-east-1"
AMI = "ami-12c6146b"


@pytest.fixture(scope="session")
def endpoint() -> Iterator[str]:
    install(Settings())
    app = AdminMiddleware(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def http(method: str, url: str, body: object = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@dataclass
class Aws:
    endpoint: str
    emulator: Emulator
    clock: ManualClock

    def client(self, service: str, *, retries: bool = True) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"total_max_attempts": 3 if retries else 1, "mode": "standard"}),
        )

    @cached_property
    def asg(self) -> Any:
        return self.client("autoscaling")

    @cached_property
    def asg_once(self) -> Any:
        """An Auto Scaling client that does not retry, to see injected errors as they are."""
        return self.client("autoscaling", retries=False)

    @cached_property
    def sqs(self) -> Any:
        return self.client("sqs")

    @cached_property
    def ec2(self) -> Any:
        return self.client("ec2")

    def calls(self, *actions: str) -> list[dict[str, Any]]:
        _, body = http("GET", f"{self.endpoint}/_emulator/lifecycle-calls")
        calls: list[dict[str, Any]] = body["calls"]
        return [call for call in calls if not actions or call["action"] in actions]

    def queue(self) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def receive(self, url: str) -> list[dict[str, Any]]:
        """Every message now on the queue, deleted, bodies parsed."""
        bodies: list[dict[str, Any]] = []
        while messages := self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return bodies

    def group(self, *, desired: int = 1, tags: list[dict[str, Any]] | None = None, **extra: Any) -> str:
        name = f"g-{uuid.uuid4().hex[:8]}"
        template = f"lt-{name}"
        self.ec2.create_launch_template(
            LaunchTemplateName=template, LaunchTemplateData={"ImageId": AMI, "InstanceType": "t3.medium"}
        )
        self.asg.create_auto_scaling_group(
            AutoScalingGroupName=name,
            LaunchTemplate={"LaunchTemplateName": template},
            MinSize=0,
            MaxSize=5,
            DesiredCapacity=desired,
            AvailabilityZones=["us-east-1a"],
            Tags=tags or [],
            **extra,
        )
        return name

    def hook(
        self,
        group: str,
        target_arn: str | None = None,
        *,
        name: str = "drain",
        transition: str = "autoscaling:EC2_INSTANCE_TERMINATING",
        heartbeat_timeout: int = 300,
        default_result: str = "CONTINUE",
        metadata: str | None = None,
    ) -> None:
        params: dict[str, Any] = {
            "AutoScalingGroupName": group,
            "LifecycleHookName": name,
            "LifecycleTransition": transition,
            "HeartbeatTimeout": heartbeat_timeout,
            "DefaultResult": default_result,
        }
        if target_arn:
            params["NotificationTargetARN"] = target_arn
            params["RoleARN"] = "arn:aws:iam::123456789012:role/asg-notify"
        if metadata is not None:
            params["NotificationMetadata"] = metadata
        self.asg.put_lifecycle_hook(**params)

    def heartbeat(self, group: str, instance: str, hook: str = "drain") -> None:
        self.asg.record_lifecycle_action_heartbeat(
            AutoScalingGroupName=group, LifecycleHookName=hook, InstanceId=instance
        )

    def instances(self, group: str) -> dict[str, str]:
        """Instance id -> lifecycle state, as DescribeAutoScalingGroups reports them."""
        groups = self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
        return {i["InstanceId"]: i["LifecycleState"] for i in groups[0]["Instances"]} if groups else {}

    def ec2_state(self, instance_id: str) -> str:
        reservations = self.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        state: str = reservations[0]["Instances"][0]["State"]["Name"]
        return state


@pytest.fixture
def aws(endpoint: str) -> Aws:
    # Names are unique per test, so moto's state can stay (resetting it costs a second per test).
    clock = ManualClock()
    emulator = install(Settings(), clock)
    return Aws(endpoint, emulator, clock)
