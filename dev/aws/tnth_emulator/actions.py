"""Active lifecycle actions and their deadlines, apart from moto.

An action is forgotten as soon as it ends (completed, expired, cancelled): that is what makes a late
heartbeat or a second completion fail with "No active Lifecycle Action found", as in AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# AWS caps how long an instance may wait: 48 hours, or 100 heartbeat timeouts if that is less.
MAX_GLOBAL_TIMEOUT = 172_800
GLOBAL_TIMEOUT_HEARTBEATS = 100


def global_timeout(heartbeat_timeout: int) -> int:
    return min(MAX_GLOBAL_TIMEOUT, GLOBAL_TIMEOUT_HEARTBEATS * heartbeat_timeout)


class Expiry(StrEnum):
    HEARTBEAT_TIMEOUT = "HeartbeatTimeout"
    GLOBAL_TIMEOUT = "GlobalTimeout"


@dataclass
class LifecycleAction:
    token: str
    instance_id: str
    group_name: str
    hook_name: str
    transition: str
    default_result: str
    heartbeat_timeout: int
    global_timeout: int
    time_scale: float
    account_id: str
    region: str
    # Monotonic seconds of the emulator's clock (already scaled).
    heartbeat_deadline: float
    global_deadline: float

    @classmethod
    def start(
        cls,
        *,
        token: str,
        instance_id: str,
        group_name: str,
        hook_name: str,
        transition: str,
        default_result: str,
        heartbeat_timeout: int,
        time_scale: float,
        account_id: str,
        region: str,
        now: float,
    ) -> LifecycleAction:
        limit = global_timeout(heartbeat_timeout)
        return cls(
            token=token,
            instance_id=instance_id,
            group_name=group_name,
            hook_name=hook_name,
            transition=transition,
            default_result=default_result,
            heartbeat_timeout=heartbeat_timeout,
            global_timeout=limit,
            time_scale=time_scale,
            account_id=account_id,
            region=region,
            heartbeat_deadline=now + heartbeat_timeout * time_scale,
            global_deadline=now + limit * time_scale,
        )

    def heartbeat(self, now: float) -> None:
        self.heartbeat_deadline = now + self.heartbeat_timeout * self.time_scale

    @property
    def next_deadline(self) -> float:
        return min(self.heartbeat_deadline, self.global_deadline)

    def expiry(self, now: float) -> Expiry | None:
        if now >= self.global_deadline and self.global_deadline <= self.heartbeat_deadline:
            return Expiry.GLOBAL_TIMEOUT
        if now >= self.heartbeat_deadline:
            return Expiry.HEARTBEAT_TIMEOUT
        return None


class ActionTable:
    def __init__(self) -> None:
        self._by_token: dict[str, LifecycleAction] = {}

    def add(self, action: LifecycleAction) -> None:
        self._by_token[action.token] = action

    def discard(self, action: LifecycleAction) -> bool:
        """Removes the action; False if it had already ended."""
        return self._by_token.pop(action.token, None) is not None

    def clear(self) -> None:
        self._by_token.clear()

    def all(self) -> list[LifecycleAction]:
        return list(self._by_token.values())

    def find(
        self, *, group_name: str, hook_name: str, token: str | None, instance_id: str | None
    ) -> LifecycleAction | None:
        """The active action the caller names: by token when given (the instance, if given too, must
        agree), else by instance."""
        if token:
            candidates = [a for a in [self._by_token.get(token)] if a is not None]
        else:
            candidates = [a for a in self._by_token.values() if a.instance_id == instance_id]
        for action in candidates:
            if (
                action.group_name == group_name
                and action.hook_name == hook_name
                and (not instance_id or action.instance_id == instance_id)
            ):
                return action
        return None

    def for_instance(self, instance_id: str) -> list[LifecycleAction]:
        return [a for a in self._by_token.values() if a.instance_id == instance_id]

    def for_group(self, group_name: str, hook_name: str | None = None) -> list[LifecycleAction]:
        return [
            a
            for a in self._by_token.values()
            if a.group_name == group_name and (hook_name is None or a.hook_name == hook_name)
        ]

    def due(self, now: float) -> list[tuple[LifecycleAction, Expiry]]:
        due = [(a, expiry) for a in self._by_token.values() if (expiry := a.expiry(now)) is not None]
        return sorted(due, key=lambda pair: pair[0].next_deadline)

    def next_deadline(self) -> float | None:
        return min((a.next_deadline for a in self._by_token.values()), default=None)
