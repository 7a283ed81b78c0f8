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
- Per request, moto's Flask apps paid for things AWS has no part in: debug mode (Flask builds a
  new helper class for every form it parses), CORS headers on every answer, and
  ``inspect.getmembers`` of the response class to find the action's method. ``backend_app`` makes
  the apps without debug (an error is still HTTP 500, now answered by Flask instead of the server),
  global CORS is off (AWS sends CORS headers only where a bucket is configured for them), the
  method names are kept per class (a class's methods do not change), and each app is made once
  per process (it only routes: the state is in moto's backends).
"""

from __future__ import annotations

import functools
import inspect
import threading
from typing import Any

from moto.core import responses as moto_responses
from moto.moto_server import werkzeug_app
from moto.moto_server.utilities import RegexConverter
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from waitress.parser import HTTPRequestParser

from labelwatch.local.patching import Patch

_original = DomainDispatcherApplication.get_backend_for_host
_original_parse_header = HTTPRequestParser.parse_header
_original_method_names = moto_responses.method_names_from_class


def _parse_header(self: HTTPRequestParser, header_plus: bytes) -> None:
    _original_parse_header(self, header_plus)
    if not self.chunked and self.content_length == 0:
        self.expect_continue = False


def backend_app(service: Any) -> Any:
    """moto's Flask app for ``service``, out of debug mode: made once per process and URL converter.

    An app is routing only (moto's backends hold the state, per account and region), and building
    one adds every URL rule of the service (~70 ms for S3), for each twin the process starts. The
    rules are compiled with the URL converter in place when the app is made (the twin's, see
    ``limits.converter_init``), so that is part of what the app is kept by.
    """
    return _backend_app(service, RegexConverter.__init__)


@functools.lru_cache(maxsize=64)
def _backend_app(service: Any, _converter_init: Any) -> Any:
    app = create_backend_app(service)
    app.debug = False
    return app


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
        Patch(werkzeug_app, "DISABLE_GLOBAL_CORS", True),
        Patch(
            moto_responses,
            "method_names_from_class",
            functools.lru_cache(maxsize=None)(_original_method_names),
            signature=str(inspect.signature(_original_method_names)),
        ),
    ]
