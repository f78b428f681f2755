"""Fault injection: make a fraction of the calls of one action fail with a chosen AWS error.

`POST /_emulator/faults {"action": "RecordLifecycleActionHeartbeat", "errorCode": "Throttling", "rate": 0.5}`
answers with the fault and its `id`; `DELETE /_emulator/faults/{id}` removes that one, `DELETE
/_emulator/faults` all of them. Optional: `message`, `httpStatus`, `count` (fail at most this many
calls, then the fault is gone) and `params` (fail only calls whose request parameters have these values, e.g.
`{"AutoScalingGroupName": "my-group"}`, so tests sharing the emulator do not feel each other's faults; a list
parameter matches when it holds the value, e.g. `{"InstanceIds": "i-0abc"}` for DescribeInstances).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from moto.core.exceptions import ServiceException

# Status and message AWS sends with the error codes tests inject most; anything else is a 400.
KNOWN_ERRORS: dict[str, tuple[int, str]] = {
    "Throttling": (400, "Rate exceeded"),
    "ThrottlingException": (400, "Rate exceeded"),
    "RequestLimitExceeded": (503, "Request limit exceeded."),
    "ServiceUnavailable": (503, "Service is unavailable. Please try again later."),
    "InternalFailure": (500, "An internal error occurred."),
    "InternalError": (500, "An internal error has occurred."),
    "ResourceContention": (
        500,
        "You already have a pending update to an Auto Scaling resource "
        "(for example, a group, instance, or load balancer).",
    ),
}


class InjectedError(ServiceException):
    """The error a fault makes a call fail with; serialized by moto in the service's protocol."""


@dataclass
class Fault:
    action: str
    error_code: str
    rate: float = 1.0
    message: str = ""
    http_status: int = 400
    count: int | None = None
    params: dict[str, str] = field(default_factory=dict)
    id: str = ""

    @classmethod
    def from_json(cls, body: object) -> Fault:
        if not isinstance(body, dict):
            raise ValueError("a fault is a JSON object")
        action, error_code = body.get("action"), body.get("errorCode")
        if not isinstance(action, str) or not action:
            raise ValueError("action must name an AWS API action, e.g. RecordLifecycleActionHeartbeat")
        if not isinstance(error_code, str) or not error_code:
            raise ValueError("errorCode must be an AWS error code, e.g. Throttling")
        rate = body.get("rate", 1.0)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise ValueError("rate must be a number from 0 to 1")
        default_status, default_message = KNOWN_ERRORS.get(error_code, (400, f"Injected fault: {error_code}"))
        message = body.get("message", default_message)
        status = body.get("httpStatus", default_status)
        count = body.get("count")
        params = body.get("params", {})
        if not isinstance(message, str):
            raise ValueError("message must be a string")
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError("httpStatus must be an HTTP error status (400-599)")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise ValueError("count must be a positive integer")
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            raise ValueError("params must map request parameter names to string values")
        return cls(action, error_code, float(rate), message, status, count, {str(k): v for k, v in params.items()})

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "action": self.action,
            "errorCode": self.error_code,
            "rate": self.rate,
            "message": self.message,
            "httpStatus": self.http_status,
            "count": self.count,
            "params": self.params,
        }

    def error(self) -> InjectedError:
        return InjectedError(self.error_code, self.message)


class FaultInjector:
    def __init__(self, rng: random.Random | None = None) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._rng = rng or random.Random()
        self._added = 0

    def add(self, fault: Fault) -> Fault:
        """Adds the fault under a new id, by which `remove` takes it away again."""
        with self._lock:
            self._added += 1
            fault.id = f"fault-{self._added}"
            self._faults.append(fault)
        return fault

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            kept = [fault for fault in self._faults if fault.id != fault_id]
            removed = len(kept) < len(self._faults)
            self._faults = kept
        return removed

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def pick(self, action: str, param: Callable[[str], object]) -> Fault | None:
        """The fault this call of `action` fails with, if any; `param` reads the request's parameters."""
        with self._lock:
            for fault in self._faults:
                if fault.action != action or not _matches(fault.params, param):
                    continue
                if self._rng.random() >= fault.rate:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                return fault
        return None


def _matches(expected: Mapping[str, str], param: Callable[[str], object]) -> bool:
    return all(_has_value(param(name), value) for name, value in expected.items())


def _has_value(actual: object, value: str) -> bool:
    """A plain parameter equals the value; a list one (EC2's `InstanceId.N`, read as `InstanceId`) holds it."""
    if isinstance(actual, (list, tuple)):
        return any(str(item) == value for item in actual)
    return str(actual) == value
