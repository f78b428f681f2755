"""Instances through lifecycle hooks: `Pending:Wait` / `Terminating:Wait`, notifications, heartbeats,
completion and expiry, acting on moto's groups and instances. Callers hold `Emulator.lock`."""

from __future__ import annotations

import sys
import uuid

from moto.autoscaling.models import AutoScalingBackend, FakeAutoScalingGroup, InstanceState, LifecycleHook

from . import calllog
from .actions import LifecycleAction, global_timeout
from .emulator import Emulator
from .notifications import (
    LAUNCHING,
    TERMINATING,
    HookTestNotice,
    LifecycleNotice,
    TargetUnavailable,
    deliver,
)
from .settings import Settings

CONTINUE = "CONTINUE"
ABANDON = "ABANDON"
RESULTS = (CONTINUE, ABANDON)
# Instances in these states count toward the desired capacity; a terminating one does not, so a
# termination without decrement launches its replacement at once.
COUNTED_STATES = frozenset({"Pending", "Pending:Wait", "Pending:Proceed", "InService"})
DEFAULT_HEARTBEAT_TIMEOUT = 3600


def warn(message: str) -> None:
    print(f"tnth-emulator: {message}", file=sys.stderr, flush=True)


def hooks_for(group: FakeAutoScalingGroup, transition: str) -> list[LifecycleHook]:
    return [
        hook
        for hook in group.autoscaling_backend.lifecycle_hooks.values()
        if hook.auto_scaling_group_name == group.name and hook.lifecycle_transition == transition
    ]


def group_settings(em: Emulator, group: FakeAutoScalingGroup) -> Settings:
    try:
        return em.settings.for_group(group.tags)
    except ValueError as error:
        warn(f"group {group.name}: {error}; using the defaults")
        return em.settings


def find_state(backend: AutoScalingBackend, instance_id: str) -> tuple[FakeAutoScalingGroup, InstanceState] | None:
    for group in backend.autoscaling_groups.values():
        for state in group.instance_states:
            if state.instance.id == instance_id:
                return group, state
    return None


def put_hook(
    backend: AutoScalingBackend,
    *,
    name: str,
    group_name: str,
    transition: str | None,
    role_arn: str | None,
    target_arn: str | None,
    metadata: str | None,
    heartbeat_timeout: int | None,
    default_result: str | None,
) -> tuple[LifecycleHook, bool]:
    """Creates the hook or updates the fields given (AWS keeps the others); True when the target changed."""
    key = f"{group_name}_{name}"
    hook = backend.lifecycle_hooks.get(key)
    created = hook is None
    if hook is None:
        hook = LifecycleHook(name, group_name, transition, heartbeat_timeout, default_result)
        # moto fills these two with placeholders; a new hook has only what the caller gave.
        hook.role_arn = None  # type: ignore[assignment]
        hook.notification_target_arn = None  # type: ignore[assignment]
        hook.notification_metadata = None  # type: ignore[attr-defined]
    previous_target = hook.notification_target_arn
    if transition is not None:
        hook.lifecycle_transition = transition
    if role_arn is not None:
        hook.role_arn = role_arn or None  # type: ignore[assignment]
    if target_arn is not None:
        # An empty string clears the target, as in AWS.
        hook.notification_target_arn = target_arn or None  # type: ignore[assignment]
    if metadata is not None:
        hook.notification_metadata = metadata or None  # type: ignore[attr-defined]
    if heartbeat_timeout is not None:
        hook.heartbeat_timeout = heartbeat_timeout
    if default_result is not None:
        hook.default_result = default_result
    hook.global_timeout = global_timeout(hook.heartbeat_timeout)
    backend.lifecycle_hooks[key] = hook
    return hook, created or hook.notification_target_arn != previous_target


def send_test_notification(em: Emulator, group: FakeAutoScalingGroup, hook: LifecycleHook) -> None:
    """Raises TargetUnavailable when the target does not exist, as AWS refuses such a hook."""
    target = hook.notification_target_arn
    if not target:
        return
    notice = HookTestNotice(
        account_id=group.account_id,
        region=group.region,
        group_name=group.name,
        group_arn=group.arn,
        transition=hook.lifecycle_transition or TERMINATING,
        time=em.clock.now(),
        request_id=str(uuid.uuid4()),
    )
    deliver(target, notice.body(group_settings(em, group).notification_format), notice.sns_subject())


def start_launch(em: Emulator, group: FakeAutoScalingGroup, state: InstanceState) -> None:
    hooks = hooks_for(group, LAUNCHING)
    if not hooks:
        return
    state.lifecycle_state = "Pending:Wait"
    for hook in hooks:
        _start_action(em, group, state, hook, LAUNCHING)


def start_termination(em: Emulator, group: FakeAutoScalingGroup, state: InstanceState) -> None:
    if state.lifecycle_state.startswith("Terminating"):
        return
    cancel_instance_actions(em, state.instance.id, reason="instance is terminating")
    hooks = hooks_for(group, TERMINATING)
    if not hooks:
        finish_termination(group, state)
        return
    state.lifecycle_state = "Terminating:Wait"
    for hook in hooks:
        _start_action(em, group, state, hook, TERMINATING)


def _start_action(
    em: Emulator, group: FakeAutoScalingGroup, state: InstanceState, hook: LifecycleHook, transition: str
) -> None:
    settings = group_settings(em, group)
    action = LifecycleAction.start(
        token=str(uuid.uuid4()),
        instance_id=state.instance.id,
        group_name=group.name,
        hook_name=hook.name,
        transition=transition,
        default_result=hook.default_result,
        heartbeat_timeout=hook.heartbeat_timeout or DEFAULT_HEARTBEAT_TIMEOUT,
        time_scale=settings.time_scale,
        account_id=group.account_id,
        region=group.region,
        now=em.clock.monotonic(),
    )
    em.actions.add(action)
    em.calls.record(
        calllog.STARTED,
        instance_id=action.instance_id,
        token=action.token,
        hook=action.hook_name,
        group=action.group_name,
        state=state.lifecycle_state,
        transition=transition,
        heartbeatTimeout=action.heartbeat_timeout,
        globalTimeout=action.global_timeout,
        defaultResult=action.default_result,
        timeScale=action.time_scale,
    )
    target = hook.notification_target_arn
    if target:
        notice = LifecycleNotice(
            account_id=group.account_id,
            region=group.region,
            group_name=group.name,
            group_arn=group.arn,
            hook_name=hook.name,
            transition=transition,
            instance_id=action.instance_id,
            token=action.token,
            metadata=getattr(hook, "notification_metadata", None),
            time=em.clock.now(),
            request_id=str(uuid.uuid4()),
        )
        try:
            deliver(target, notice.body(settings.notification_format), notice.sns_subject())
        except TargetUnavailable as error:
            warn(f"lifecycle notification for {action.instance_id} not delivered: {error}")
    em.wake_expiry()


def heartbeat(em: Emulator, action: LifecycleAction) -> None:
    action.heartbeat(em.clock.monotonic())
    em.wake_expiry()


def complete(em: Emulator, action: LifecycleAction, result: str, *, reason: str | None = None) -> None:
    _end(em, action, result, event=calllog.COMPLETED, reason=reason)


def expire_due(em: Emulator) -> None:
    """Applies the default result of every action whose heartbeat or global timeout has passed."""
    for action, expiry in em.actions.due(em.clock.monotonic()):
        _end(em, action, action.default_result, event=calllog.EXPIRED, reason=expiry.value)


def cancel(em: Emulator, action: LifecycleAction, *, reason: str) -> None:
    """Ends an action without acting on its instance (the instance is leaving by another way)."""
    if em.actions.discard(action):
        em.calls.record(
            calllog.CANCELLED,
            instance_id=action.instance_id,
            token=action.token,
            hook=action.hook_name,
            group=action.group_name,
            reason=reason,
        )


def cancel_instance_actions(em: Emulator, instance_id: str, *, reason: str) -> None:
    for action in em.actions.for_instance(instance_id):
        cancel(em, action, reason=reason)


def _end(em: Emulator, action: LifecycleAction, result: str, *, event: str, reason: str | None) -> None:
    if not em.actions.discard(action):
        return
    em.calls.record(
        event,
        instance_id=action.instance_id,
        token=action.token,
        hook=action.hook_name,
        group=action.group_name,
        result=result,
        reason=reason,
    )
    from moto.autoscaling.models import autoscaling_backends

    located = find_state(autoscaling_backends[action.account_id][action.region], action.instance_id)
    if located is None:
        return
    group, state = located
    if result == ABANDON:
        # ABANDON also ends the instance's other hooks for this transition.
        cancel_instance_actions(em, action.instance_id, reason=f"ABANDON from lifecycle hook {action.hook_name}")
    if em.actions.for_instance(action.instance_id):
        return
    if action.transition == TERMINATING:
        finish_termination(group, state)
    elif result == ABANDON:
        finish_termination(group, state)
        refill(group)
    else:
        state.lifecycle_state = "InService"
        refresh_load_balancers(group)


def finish_termination(group: FakeAutoScalingGroup, state: InstanceState) -> None:
    """The instance ends `terminated` in EC2 and leaves the group; it keeps its tags, as in AWS."""
    state.lifecycle_state = "Terminating:Proceed"
    instance = state.instance
    if instance.state != "terminated":
        group.ec2_backend.terminate_instances([instance.id])
    group.instance_states = [other for other in group.instance_states if other is not state]
    refresh_load_balancers(group)


def refill(group: FakeAutoScalingGroup) -> None:
    """Launches what the group lacks to reach its desired capacity."""
    if group.name in group.autoscaling_backend.autoscaling_groups:
        group.set_desired_capacity(group.desired_capacity)


def refresh_load_balancers(group: FakeAutoScalingGroup) -> None:
    backend = group.autoscaling_backend
    if group.name in backend.autoscaling_groups:
        backend.update_attached_elbs(group.name)
        backend.update_attached_target_groups(group.name)
