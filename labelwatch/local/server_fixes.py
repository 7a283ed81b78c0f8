"""Make moto's server route a request without re-deriving its backend each time.

``DomainDispatcherApplication.get_backend_for_host`` lists moto's package directory and tries
hundreds of URL patterns, about 1 ms, twice per request and under the server's global lock, so
concurrent requests queue behind it. Its answer depends on the host name alone, and the twin talks
to a handful of hosts (one per service), so the answer is kept per host.
"""

from __future__ import annotations

import inspect
import threading
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from labelwatch.local.patching import Patch

_original = DomainDispatcherApplication.get_backend_for_host


def patches() -> list[Patch]:
    known: dict[str | None, Any] = {}
    lock = threading.Lock()

    def get_backend_for_host(self: DomainDispatcherApplication, host: str | None) -> Any:
        try:
            return known[host]
        except KeyError:
            backend = _original(self, host)
            with lock:
                known[host] = backend
            return backend

    return [
        Patch(
            DomainDispatcherApplication,
            "get_backend_for_host",
            get_backend_for_host,
            signature=str(inspect.signature(_original)),
        )
    ]
