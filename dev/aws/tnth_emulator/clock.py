"""Time sources: a monotonic clock for lifecycle deadlines, a wall clock for timestamps."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to; the Python tests drive expiry with it."""

    def __init__(self, start: datetime = datetime(2025, 1, 1, tzinfo=UTC)) -> None:
        self._elapsed = 0.0
        self._start = start

    def advance(self, seconds: float) -> None:
        self._elapsed += seconds

    def monotonic(self) -> float:
        return self._elapsed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)


def iso_millis(moment: datetime) -> str:
    """`2025-01-01T00:00:00.123Z`: how Auto Scaling writes `Time` and how the call log writes `time`."""
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def iso_seconds(moment: datetime) -> str:
    """`2025-01-01T00:00:00Z`: EventBridge's `time`."""
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
