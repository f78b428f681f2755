"""Where the extension hooks into moto: its Auto Scaling model, its response handlers and SQS (deletes are
logged; `sqs.py` takes the walks over the whole queue out of moto's hot paths), and its request dispatch
(`dispatch.py`).

Every patch either replaces a moto method whose behaviour must change for lifecycle hooks, or wraps one
to record what happened. `apply()` runs once per process.
"""

from __future__ import annotations

from typing import Any

from moto.autoscaling.exceptions import ValidationError
from moto.autoscaling.models import (
    AutoScalingBackend,
    FakeAutoScalingGroup,
    InstanceState,
    LifecycleHook,
    TerminateInstanceActivity,
)

from . import dispatch, lifecycle, responses, sqs
from .emulator import current
from .notifications import TERMINATING

_applied = False
_original_set_desired_capacity = FakeAutoScalingGroup.set_desired_capacity
_original_replace_instances = FakeAutoScalingGroup.replace_autoscaling_group_instances
_original_delete_group = AutoScalingBackend.delete_auto_scaling_group
_original_delete_hook = AutoScalingBackend.delete_lifecycle_hook
_original_detach_instances = AutoScalingBackend.detach_instances
_original_notify_terminate = AutoScalingBackend.notify_terminate_instances


def apply() -> None:
    global _applied
    if _applied:
        return
    _applied = True
    group_patches: dict[str, Any] = {
        "active_instances": active_instances,
        "set_desired_capacity": set_desired_capacity,
        "replace_autoscaling_group_instances": replace_autoscaling_group_instances,
    }
    backend_patches: dict[str, Any] = {
        "terminate_instance": terminate_instance,
        "delete_auto_scaling_group": delete_auto_scaling_group,
        "create_lifecycle_hook": create_lifecycle_hook,
        "delete_lifecycle_hook": delete_lifecycle_hook,
        "detach_instances": detach_instances,
        "notify_terminate_instances": notify_terminate_instances,
    }
    for name, function in group_patches.items():
        setattr(FakeAutoScalingGroup, name, function)
    for name, function in backend_patches.items():
        setattr(AutoScalingBackend, name, function)
    responses.apply()
    sqs.apply()
    dispatch.apply()


def active_instances(self: FakeAutoScalingGroup) -> list[InstanceState]:
    """The instances that count toward the desired capacity (moto counts only InService ones, so an
    instance in Pending:Wait would make it launch another)."""
    return [state for state in self.instance_states if state.lifecycle_state in lifecycle.COUNTED_STATES]


def set_desired_capacity(self: FakeAutoScalingGroup, new_capacity: int | None) -> None:
    """Scale-in sends the instances it removes through their TERMINATING hooks; moto terminates at once."""
    if _has_weighted_overrides(self):
        _original_set_desired_capacity(self, new_capacity)
        return
    desired = self.min_size if new_capacity is None else new_capacity
    counted = self.active_instances()
    excess = len(counted) - (desired or 0)
    if excess <= 0:
        _original_set_desired_capacity(self, new_capacity)
        return
    self.desired_capacity = desired
    em = current()
    # moto's choice (oldest first, protected ones spared), not AWS's default termination policy.
    for state in [state for state in counted if not state.protected_from_scale_in][:excess]:
        lifecycle.start_termination(em, self, state)
    lifecycle.refresh_load_balancers(self)


def _has_weighted_overrides(group: FakeAutoScalingGroup) -> bool:
    policy = group.mixed_instances_policy or {}
    return bool(policy.get("LaunchTemplate", {}).get("Overrides"))


def replace_autoscaling_group_instances(
    self: FakeAutoScalingGroup, count_needed: int, propagated_tags: dict[str, str]
) -> None:
    """New instances of a group with LAUNCHING hooks wait in Pending:Wait."""
    before = {id(state) for state in self.instance_states}
    _original_replace_instances(self, count_needed, propagated_tags)
    em = current()
    for state in [state for state in self.instance_states if id(state) not in before]:
        lifecycle.start_launch(em, self, state)


def terminate_instance(self: AutoScalingBackend, instance_id: str, should_decrement: bool) -> TerminateInstanceActivity:
    located = lifecycle.find_state(self, instance_id)
    if located is None:
        raise ValidationError(f"Instance Id not found - No managed instance found for instance ID: {instance_id}")
    group, state = located
    original_size = group.desired_capacity
    if state.lifecycle_state in lifecycle.COUNTED_STATES:
        if should_decrement:
            if original_size is not None and group.min_size is not None and original_size <= group.min_size:
                raise ValidationError(
                    f"Currently, desiredSize equals minSize ({group.min_size}). Terminating instance without "
                    "replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity "
                    "flag to false or lower group's min size."
                )
            group.desired_capacity = (original_size or 0) - 1
        lifecycle.start_termination(current(), group, state)
        # Without the decrement the terminating instance no longer counts: its replacement launches now.
        lifecycle.refill(group)
    return TerminateInstanceActivity(state.instance, original_size or 0)


def delete_auto_scaling_group(self: AutoScalingBackend, group_name: str) -> None:
    """Deletes like ForceDelete: instances go at once, waiting ones included, and outstanding lifecycle
    actions are dropped."""
    em = current()
    group = self.autoscaling_groups.get(group_name)
    if group is not None:
        for action in em.actions.for_group(group_name):
            lifecycle.cancel(em, action, reason="Auto Scaling group deleted")
        for state in list(group.instance_states):
            lifecycle.finish_termination(group, state)
    _original_delete_group(self, group_name)
    for key in [key for key, hook in self.lifecycle_hooks.items() if hook.auto_scaling_group_name == group_name]:
        del self.lifecycle_hooks[key]


def create_lifecycle_hook(
    self: AutoScalingBackend, name: str, as_name: str, transition: str, timeout: int | None, result: str
) -> LifecycleHook:
    hook, _ = lifecycle.put_hook(
        self,
        name=name,
        group_name=as_name,
        transition=transition,
        role_arn=None,
        target_arn=None,
        metadata=None,
        heartbeat_timeout=timeout,
        default_result=result,
    )
    return hook


def delete_lifecycle_hook(self: AutoScalingBackend, as_name: str, name: str) -> None:
    """Outstanding actions complete first: ABANDON for launching instances, CONTINUE for terminating ones."""
    em = current()
    for action in em.actions.for_group(as_name, name):
        result = lifecycle.CONTINUE if action.transition == TERMINATING else lifecycle.ABANDON
        lifecycle.complete(em, action, result, reason="DeleteLifecycleHook")
    _original_delete_hook(self, as_name, name)


def detach_instances(self: AutoScalingBackend, group_name: str, instance_ids: list[str], should_decrement: bool) -> Any:
    em = current()
    for instance_id in instance_ids:
        lifecycle.cancel_instance_actions(em, instance_id, reason="instance detached")
    return _original_detach_instances(self, group_name, instance_ids, should_decrement)


def notify_terminate_instances(self: AutoScalingBackend, instance_ids: list[str]) -> None:
    em = current()
    for instance_id in instance_ids:
        lifecycle.cancel_instance_actions(em, instance_id, reason="instance terminated through EC2")
    _original_notify_terminate(self, instance_ids)
