"""Emulator settings: defaults from the environment, overridable per Auto Scaling group by tags.

Tags keep one shared emulator usable by many tests at once: a test that needs fast expiry tags its own
group instead of changing a global that every other test would feel.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

TIME_SCALE_ENV = "AWS_EMULATOR_TIME_SCALE"
NOTIFICATION_FORMAT_ENV = "AWS_EMULATOR_NOTIFICATION_FORMAT"
TIME_SCALE_TAG = "tnth:emulator:time-scale"
NOTIFICATION_FORMAT_TAG = "tnth:emulator:notification-format"

NotificationFormat = Literal["direct", "eventbridge"]
NOTIFICATION_FORMATS: tuple[NotificationFormat, ...] = ("direct", "eventbridge")


def parse_time_scale(value: str, source: str) -> float:
    try:
        scale = float(value)
    except ValueError:
        raise ValueError(f"{source} must be a positive number such as 0.01, got {value!r}") from None
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"{source} must be a positive number such as 0.01, got {value!r}")
    return scale


def parse_notification_format(value: str, source: str) -> NotificationFormat:
    if value not in NOTIFICATION_FORMATS:
        raise ValueError(f"{source} must be one of {', '.join(NOTIFICATION_FORMATS)}, got {value!r}")
    return value


@dataclass(frozen=True)
class Settings:
    # Lifecycle clocks run this many times slower than real time: 0.01 turns a 30 s heartbeat timeout
    # into 0.3 s of real time, while the API still accepts and returns 30.
    time_scale: float = 1.0
    notification_format: NotificationFormat = "direct"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        settings = cls()
        if scale := env.get(TIME_SCALE_ENV, "").strip():
            settings = replace(settings, time_scale=parse_time_scale(scale, TIME_SCALE_ENV))
        if fmt := env.get(NOTIFICATION_FORMAT_ENV, "").strip():
            settings = replace(settings, notification_format=parse_notification_format(fmt, NOTIFICATION_FORMAT_ENV))
        return settings

    def for_group(self, tags: Iterable[Mapping[str, Any]]) -> Settings:
        """These settings with the group's `tnth:emulator:*` tags applied; a bad tag value raises ValueError."""
        settings = self
        for tag in tags:
            key, value = tag.get("Key"), str(tag.get("Value", ""))
            if key == TIME_SCALE_TAG:
                settings = replace(settings, time_scale=parse_time_scale(value, f"tag {TIME_SCALE_TAG}"))
            elif key == NOTIFICATION_FORMAT_TAG:
                fmt = parse_notification_format(value, f"tag {NOTIFICATION_FORMAT_TAG}")
                settings = replace(settings, notification_format=fmt)
        return settings

    def as_json(self) -> dict[str, object]:
        return {"timeScale": self.time_scale, "notificationFormat": self.notification_format}
