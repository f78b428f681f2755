"""moto's server picks the backend of every request without going to the disk.

For each request moto's `DomainDispatcherApplication` lists the moto package's directory (some 170
`stat` calls) and tries its URL patterns one by one, twice, under one lock that every request thread
shares: about a fifth of the server's time per SQS call. Neither the package nor the patterns change
while the server runs, so the listing is made once and the answer per host remembered.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from moto import backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

# Hosts are service.region names plus what clients invent; forgetting them all now and then bounds it.
MAX_REMEMBERED_HOSTS = 1024

_original_list_of_moto_modules = backends.list_of_moto_modules
_original_get_backend_for_host = DomainDispatcherApplication.get_backend_for_host
_modules: tuple[str, ...] | None = None


def apply() -> None:
    setattr(backends, "list_of_moto_modules", list_of_moto_modules)
    setattr(DomainDispatcherApplication, "get_backend_for_host", get_backend_for_host)


def list_of_moto_modules() -> Iterable[str]:
    global _modules
    if _modules is None:
        _modules = tuple(_original_list_of_moto_modules())
    return _modules


def get_backend_for_host(self: DomainDispatcherApplication, host: str | None) -> Any:
    # moto calls this under the dispatcher's lock, which guards the dictionary too.
    remembered: dict[str | None, Any] = self.__dict__.setdefault("_tnth_backend_for_host", {})
    if host not in remembered:
        if len(remembered) >= MAX_REMEMBERED_HOSTS:
            remembered.clear()
        remembered[host] = _original_get_backend_for_host(self, host)
    return remembered[host]
