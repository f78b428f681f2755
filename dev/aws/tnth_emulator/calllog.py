"""The call log tests read at `/_emulator/lifecycle-calls`.

One entry per Auto Scaling lifecycle call, per SQS DeleteMessage / DeleteMessageBatch entry, and per
lifecycle state change. Every entry has the same keys; what is unknown is null.
"""

from __future__ import annotations

import threading
from collections import deque

from .clock import Clock, iso_millis

# A development session can run for days; the oldest entries go first.
MAX_ENTRIES = 20_000

# Events the emulator logs itself, next to the API calls it received.
STARTED = "LifecycleActionStarted"
EXPIRED = "LifecycleActionExpired"
COMPLETED = "LifecycleActionCompleted"
CANCELLED = "LifecycleActionCancelled"

Entry = dict[str, object]


class CallLog:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: deque[Entry] = deque(maxlen=MAX_ENTRIES)

    def record(
        self,
        action: str,
        *,
        instance_id: str | None = None,
        token: str | None = None,
        hook: str | None = None,
        group: str | None = None,
        outcome: str = "ok",
        **extra: object,
    ) -> Entry:
        entry: Entry = {
            "time": iso_millis(self._clock.now()),
            "action": action,
            "instanceId": instance_id,
            "token": token,
            "hook": hook,
            "group": group,
            "outcome": outcome,
        }
        entry.update({key: value for key, value in extra.items() if value is not None})
        with self._lock:
            self._entries.append(entry)
        return entry

    def entries(self, group: str | None = None) -> list[Entry]:
        with self._lock:
            return [dict(entry) for entry in self._entries if group is None or entry["group"] == group]

    def clear(self, group: str | None = None) -> None:
        """Forgets every entry, or only the entries about `group` (what a test sharing the emulator may do)."""
        with self._lock:
            kept = [] if group is None else [entry for entry in self._entries if entry["group"] != group]
            self._entries = deque(kept, maxlen=MAX_ENTRIES)
