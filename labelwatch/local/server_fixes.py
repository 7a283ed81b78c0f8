"""Fixes to the twin's HTTP front: moto's dispatcher and the waitress server in front of it.

- ``DomainDispatcherApplication.get_backend_for_host`` lists moto's package directory and tries
  hundreds of URL patterns, about 1 ms, twice per request and under the server's global lock, so
  concurrent requests queue behind it. Its answer depends on the host name alone, and the twin talks
  to a handful of hosts (one per service), so the answer is kept per host.
- waitress 3.0 answers ``Expect: 100-continue`` on a request with ``Content-Length: 0`` with
  ``100 Continue`` and then never serves the request. botocore sends exactly that for an empty
  ``PutObject`` (a zero-byte upload, which users make), so the client waits until its read timeout.
  With no body to wait for, there is nothing to continue: the expectation is dropped.
- moto reads the path as it arrived (percent-encoded) from ``RAW_URI``, which werkzeug's and
  gunicorn's servers set and waitress does not (it sets ``REQUEST_URI``). Without it moto took the
  decoded path and decoded it again, so the key ``déjà%20vu.jpg`` became ``déjà vu.jpg``: S3 keeps
  every key byte for byte. ``with_raw_uri(app)`` gives moto the raw path.
"""

from __future__ import annotations

import inspect
import threading
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from waitress.parser import HTTPRequestParser

from labelwatch.local.patching import Patch

_original = DomainDispatcherApplication.get_backend_for_host
_original_parse_header = HTTPRequestParser.parse_header


def _parse_header(self: HTTPRequestParser, header_plus: bytes) -> None:
    _original_parse_header(self, header_plus)
    if not self.chunked and self.content_length == 0:
        self.expect_continue = False


def with_raw_uri(app: Any) -> Any:
    """``app`` with ``RAW_URI`` set from ``REQUEST_URI`` (the request target as sent) where missing."""

    def application(environ: dict[str, Any], start_response: Any) -> Any:
        if "RAW_URI" not in environ and "REQUEST_URI" in environ:
            environ["RAW_URI"] = environ["REQUEST_URI"]
        return app(environ, start_response)

    return application


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
        ),
        Patch(
            HTTPRequestParser,
            "parse_header",
            _parse_header,
            signature=str(inspect.signature(_original_parse_header)),
        ),
    ]
