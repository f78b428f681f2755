"""Auto Scaling API handlers moto lacks or gets wrong for lifecycle hooks, plus the request wrapper
that injects faults, records SQS deletes and serializes lifecycle changes with the expiry thread."""

from __future__ import annotations

import contextvars
import warnings
from typing import Any, cast

from moto.autoscaling.exceptions import AutoscalingClientError, ValidationError
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.common_types import TYPE_RESPONSE
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, BaseResponse, EmptyResult
from moto.sqs.models import SQSBackend

from . import lifecycle, sqs
from .emulator import Emulator, current
from .faults import Fault
from .notifications import MessageFields, message_fields, target_exists

HEARTBEAT = "RecordLifecycleActionHeartbeat"
COMPLETE = "CompleteLifecycleAction"
SQS_DELETES = ("DeleteMessage", "DeleteMessageBatch")
# Requests of these services read or change lifecycle state, so they run under the emulator's lock.
LOCKED_SERVICES = ("autoscaling", "ec2")

_action: contextvars.ContextVar[str | None] = contextvars.ContextVar("tnth_emulator_action", default=None)
_original_call_action = BaseResponse.call_action
_original_create_group = AutoScalingResponse.create_auto_scaling_group
_original_sqs_delete = SQSBackend.delete_message


def apply() -> None:
    # moto warns that an injected code is not in the service's model; that is the point of injecting it.
    warnings.filterwarnings("ignore", message=r"Exception\(InjectedError\)")
    setattr(BaseResponse, "call_action", call_action)
    setattr(AutoScalingResponse, "put_lifecycle_hook", put_lifecycle_hook)
    setattr(AutoScalingResponse, "record_lifecycle_action_heartbeat", record_lifecycle_action_heartbeat)
    setattr(AutoScalingResponse, "complete_lifecycle_action", complete_lifecycle_action)
    setattr(AutoScalingResponse, "create_auto_scaling_group", create_auto_scaling_group)
    setattr(SQSBackend, "delete_message", delete_message)


def call_action(self: BaseResponse) -> TYPE_RESPONSE:
    em = current()
    action = self._get_action()
    fault = em.faults.pick(action, self._get_param) if action else None
    if fault is not None:
        _record_faulted_call(em, self, action, fault)
        return _fault_response(self, fault)
    reset = _action.set(action)
    try:
        if self.service_name not in LOCKED_SERVICES:
            return _original_call_action(self)
        with em.lock:
            # Deadlines may have passed since the expiry thread last ran; settle them before answering.
            lifecycle.expire_due(em)
            return _original_call_action(self)
    finally:
        _action.reset(reset)


def _fault_response(response: BaseResponse, fault: Fault) -> TYPE_RESPONSE:
    _, headers, body = response.serialized(ActionResult(fault.error()))
    headers, body = response._enrich_response(headers, body)
    return fault.http_status, headers, body


def _record_faulted_call(em: Emulator, response: BaseResponse, action: str, fault: Fault) -> None:
    def param(name: str) -> str | None:
        value = response._get_param(name)
        return value if isinstance(value, str) else None

    if action in (HEARTBEAT, COMPLETE):
        em.calls.record(
            action,
            instance_id=param("InstanceId"),
            token=param("LifecycleActionToken"),
            hook=param("LifecycleHookName"),
            group=param("AutoScalingGroupName"),
            outcome=fault.error_code,
            result=param("LifecycleActionResult"),
        )
    elif action in SQS_DELETES:
        queue_name = cast(Any, response)._get_queue_name()
        backend = cast(Any, response).sqs_backend
        entries = response._get_param("Entries", []) if action == "DeleteMessageBatch" else [param("ReceiptHandle")]
        for entry in entries:
            handle = entry.get("ReceiptHandle") if isinstance(entry, dict) else entry
            _record_delete(em, backend, action, queue_name, str(handle), fault.error_code)


def put_lifecycle_hook(self: AutoScalingResponse) -> ActionResult:
    em = current()
    backend = self.autoscaling_backend
    group_name = self._get_param("AutoScalingGroupName")
    group = backend.autoscaling_groups.get(group_name)
    if group is None:
        raise ValidationError(f"AutoScalingGroup name not found - AutoScalingGroup '{group_name}' not found")
    target, role = self._get_param("NotificationTargetARN"), self._get_param("RoleARN")
    if target and not target_exists(target):
        raise _unpublishable(target, role)
    hook, target_changed = lifecycle.put_hook(
        backend,
        name=self._get_param("LifecycleHookName"),
        group_name=group_name,
        transition=self._get_param("LifecycleTransition"),
        role_arn=role,
        target_arn=target,
        metadata=self._get_param("NotificationMetadata"),
        heartbeat_timeout=self._get_int_param("HeartbeatTimeout"),
        default_result=self._get_param("DefaultResult"),
    )
    if target_changed:
        lifecycle.send_test_notification(em, group, hook)
    return EmptyResult()


def _unpublishable(target: str, role: str | None) -> ValidationError:
    return ValidationError(
        f"Unable to publish test message to notification target {target} using IAM role {role}. "
        "Please check your target and role configuration and try to put lifecycle hook again."
    )


def create_auto_scaling_group(self: AutoScalingResponse) -> ActionResult:
    """Adds what moto ignores: the name must be new, and LifecycleHookSpecificationList hooks exist
    before the first instance launches, so LAUNCHING hooks catch the group's initial instances."""
    em = current()
    backend = self.autoscaling_backend
    group_name = self._get_param("AutoScalingGroupName")
    if group_name in backend.autoscaling_groups:
        raise AutoscalingClientError(
            "AlreadyExists",
            f"AutoScalingGroup by this name already exists - A group with the name {group_name} already exists",
        )
    specs: list[dict[str, Any]] = self._get_param("LifecycleHookSpecificationList", [])
    for spec in specs:
        target = spec.get("NotificationTargetARN")
        if target and not target_exists(target):
            raise _unpublishable(target, spec.get("RoleARN"))
    hooks = [
        lifecycle.put_hook(
            backend,
            name=spec["LifecycleHookName"],
            group_name=group_name,
            transition=spec.get("LifecycleTransition"),
            role_arn=spec.get("RoleARN"),
            target_arn=spec.get("NotificationTargetARN"),
            metadata=spec.get("NotificationMetadata"),
            heartbeat_timeout=_int_or_none(spec.get("HeartbeatTimeout")),
            default_result=spec.get("DefaultResult"),
        )[0]
        for spec in specs
    ]
    try:
        result = _original_create_group(self)
    except Exception:
        for hook in hooks:
            backend.lifecycle_hooks.pop(f"{group_name}_{hook.name}", None)
        raise
    group = backend.autoscaling_groups[group_name]
    for hook in hooks:
        lifecycle.send_test_notification(em, group, hook)
    return result


def _int_or_none(value: object) -> int | None:
    return None if value is None else int(str(value))


def _no_active_action(instance_id: str | None, token: str | None) -> ValidationError:
    if instance_id:
        return ValidationError(f"No active Lifecycle Action found with instance ID {instance_id}")
    if token:
        return ValidationError(f"No active Lifecycle Action found with token {token}")
    return ValidationError("Either LifecycleActionToken or InstanceId must be provided")


def record_lifecycle_action_heartbeat(self: AutoScalingResponse) -> ActionResult:
    em = current()
    group, hook = self._get_param("AutoScalingGroupName"), self._get_param("LifecycleHookName")
    token, instance_id = self._get_param("LifecycleActionToken"), self._get_param("InstanceId")
    action = em.actions.find(group_name=group, hook_name=hook, token=token, instance_id=instance_id)
    em.calls.record(
        HEARTBEAT,
        instance_id=action.instance_id if action else instance_id,
        token=action.token if action else token,
        hook=hook,
        group=group,
        outcome="ok" if action else "ValidationError",
    )
    if action is None:
        raise _no_active_action(instance_id, token)
    lifecycle.heartbeat(em, action)
    return EmptyResult()


def complete_lifecycle_action(self: AutoScalingResponse) -> ActionResult:
    em = current()
    group, hook = self._get_param("AutoScalingGroupName"), self._get_param("LifecycleHookName")
    token, instance_id = self._get_param("LifecycleActionToken"), self._get_param("InstanceId")
    result = self._get_param("LifecycleActionResult")
    action = em.actions.find(group_name=group, hook_name=hook, token=token, instance_id=instance_id)
    error: ValidationError | None = None
    if result not in lifecycle.RESULTS:
        error = ValidationError(f"Valid lifecycle action results are CONTINUE and ABANDON, got {result}")
    elif action is None:
        error = _no_active_action(instance_id, token)
    em.calls.record(
        COMPLETE,
        instance_id=action.instance_id if action else instance_id,
        token=action.token if action else token,
        hook=hook,
        group=group,
        outcome="ValidationError" if error else "ok",
        result=result,
    )
    if error is not None:
        raise error
    assert action is not None
    lifecycle.complete(em, action, result)
    return EmptyResult()


def delete_message(self: SQSBackend, queue_name: str, receipt_handle: str) -> None:
    action = _action.get()
    if action not in SQS_DELETES:
        _original_sqs_delete(self, queue_name, receipt_handle)
        return
    em = current()
    fields, message_id = _describe_receipt(self, queue_name, receipt_handle)
    outcome = "ok"
    try:
        _original_sqs_delete(self, queue_name, receipt_handle)
    except ServiceException as error:
        outcome = error.code
        raise
    finally:
        _record(em, str(action), queue_name, fields, message_id, outcome)


def _record_delete(em: Emulator, backend: SQSBackend, action: str, queue_name: str, handle: str, outcome: str) -> None:
    fields, message_id = _describe_receipt(backend, queue_name, handle)
    _record(em, action, queue_name, fields, message_id, outcome)


def _record(
    em: Emulator, action: str, queue_name: str, fields: MessageFields, message_id: str | None, outcome: str
) -> None:
    em.calls.record(
        action,
        instance_id=fields.instance_id,
        token=fields.token,
        hook=fields.hook,
        group=fields.group,
        outcome=outcome,
        queue=queue_name,
        messageId=message_id,
    )


def _describe_receipt(backend: SQSBackend, queue_name: str, receipt_handle: str) -> tuple[MessageFields, str | None]:
    try:
        queue = backend.get_queue(queue_name)
    except ServiceException:
        return MessageFields(), None
    message = sqs.find_message(queue, receipt_handle)
    if message is None:
        return MessageFields(), None
    return message_fields(message.body), message.id
