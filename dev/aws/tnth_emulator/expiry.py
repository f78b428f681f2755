"""The thread that applies default results when lifecycle actions time out."""

from __future__ import annotations

import threading
import traceback

from . import lifecycle
from .emulator import Emulator

# Wake at least this often even when no deadline is near: cheap, and a missed notify cannot stall expiry.
MAX_WAIT_SECONDS = 1.0


def run(em: Emulator, stop: threading.Event) -> None:
    with em.lock:
        while not stop.is_set():
            try:
                lifecycle.expire_due(em)
            except Exception:  # one broken group must not end expiry for all the others
                lifecycle.warn(f"expiring lifecycle actions failed:\n{traceback.format_exc()}")
            deadline = em.actions.next_deadline()
            wait = MAX_WAIT_SECONDS if deadline is None else deadline - em.clock.monotonic()
            em.deadlines_changed.wait(min(MAX_WAIT_SECONDS, max(0.0, wait)))


def start(em: Emulator) -> threading.Event:
    """Starts the expiry thread; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(target=run, args=(em, stop), name="lifecycle-expiry", daemon=True).start()
    return stop
