"""The `/_emulator/*` routes in front of moto's server.

GET    /_emulator/health             settings, to check the extension is loaded
GET    /_emulator/lifecycle-calls    {"calls": [...]}; `?group=NAME` keeps the entries about that group
DELETE /_emulator/lifecycle-calls    all entries, or with `?group=NAME` that group's
GET    /_emulator/faults             {"faults": [...]}
POST   /_emulator/faults             one fault (see faults.py); answers {"fault": {..., "id": ...}}
DELETE /_emulator/faults             all faults
DELETE /_emulator/faults/{id}        one fault
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wrappers import Request, Response

from .emulator import current
from .faults import Fault

PREFIX = "/_emulator/"
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _json(body: object, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


class AdminMiddleware:
    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith(PREFIX):
            return self.handle(Request(environ))(environ, start_response)
        if path == "/moto-api/reset" and environ.get("REQUEST_METHOD") == "POST":
            # moto forgets groups and instances; the actions on them must go too.
            current().reset()
        return self.app(environ, start_response)

    def handle(self, request: Request) -> Response:
        em = current()
        route = (request.method, request.path.removeprefix(PREFIX).rstrip("/"))
        match route:
            case ("GET", "health"):
                return _json({"ok": True, "settings": em.settings.as_json()})
            case ("GET", "lifecycle-calls"):
                return _json({"calls": em.calls.entries(request.args.get("group"))})
            case ("DELETE", "lifecycle-calls"):
                em.calls.clear(request.args.get("group"))
                return _json({"calls": []})
            case ("GET", "faults"):
                return _json({"faults": [fault.as_json() for fault in em.faults.list()]})
            case ("POST", "faults"):
                try:
                    fault = Fault.from_json(json.loads(request.get_data(as_text=True) or "null"))
                except ValueError as error:
                    return _json({"error": str(error)}, 400)
                return _json({"fault": em.faults.add(fault).as_json()}, 201)
            case ("DELETE", "faults"):
                em.faults.clear()
                return _json({"faults": []})
            case ("DELETE", fault_path) if fault_path.startswith("faults/"):
                fault_id = fault_path.removeprefix("faults/")
                if not em.faults.remove(fault_id):
                    return _json({"error": f"no fault {fault_id}"}, 404)
                return _json({"faults": [fault.as_json() for fault in em.faults.list()]})
            case (_, "health" | "lifecycle-calls" | "faults"):
                return _json({"error": f"{request.method} is not allowed on {request.path}"}, 405)
        return _json({"error": f"no emulator route {request.path}"}, 404)
