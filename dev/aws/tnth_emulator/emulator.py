"""The emulator's shared state and its installation into moto."""

from __future__ import annotations

import threading

from .actions import ActionTable
from .calllog import CallLog
from .clock import Clock, SystemClock
from .faults import FaultInjector
from .settings import Settings


class Emulator:
    """State the patched moto handlers share. Lifecycle state (moto's groups and the action table)
    changes only under `lock`: request threads and the expiry thread both change it."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.calls = CallLog(self.clock)
        self.faults = FaultInjector()
        self.actions = ActionTable()
        self.lock = threading.RLock()
        self.deadlines_changed = threading.Condition(self.lock)

    def wake_expiry(self) -> None:
        """Tells the expiry thread that a deadline moved."""
        with self.lock:
            self.deadlines_changed.notify_all()

    def reset(self) -> None:
        """Forgets actions, faults and calls (moto's own reset forgets the groups and instances)."""
        with self.lock:
            self.actions.clear()
            self.deadlines_changed.notify_all()
        self.faults.clear()
        self.calls.clear()


_current: Emulator | None = None


def current() -> Emulator:
    if _current is None:
        raise RuntimeError("the emulator extension is not installed: call tnth_emulator.install() first")
    return _current


def install(settings: Settings | None = None, clock: Clock | None = None) -> Emulator:
    """Patches moto (once per process) and makes a fresh emulator the current one."""
    global _current
    from . import patches

    _current = Emulator(settings or Settings(), clock)
    patches.apply()
    return _current
