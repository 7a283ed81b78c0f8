"""X-Ray subsegments for the detect function, without the X-Ray SDK.

The function runs with Lambda's active tracing: Lambda itself records the invocation (the
``AWS::Lambda`` and ``AWS::Lambda::Function`` segments, Init and Invocation) and passes the trace
in ``_X_AMZN_TRACE_ID``. Powertools' Tracer added what the function knows on top, through the X-Ray
SDK, whose import (with its patching of botocore) was about 300 ms of every cold start. This module
sends the same kind of documents itself, as the SDK does in Lambda: JSON over UDP to the X-Ray daemon
(``AWS_XRAY_DAEMON_ADDRESS``), one document per subsegment, parented on Lambda's segment.

- ``## lambda_handler``: the handler, with the annotations ``ColdStart`` and ``Service`` (as
  Powertools' ``capture_lambda_handler`` set them) and ``put_annotation``'s; an exception marks it as
  a fault with the exception's type and message (Powertools also stored the exception object as
  metadata; that is not repeated). The response is not recorded (it may hold a presigned link).
- one subsegment per AWS call of an instrumented client (``instrument``): namespace ``aws``, the
  service, operation, region, request id and HTTP status (4xx error, 429 throttle, 5xx fault), and
  the trace header on the request, as the SDK's botocore patch records them.

Tracing happens only where Powertools traced: in Lambda (``LAMBDA_TASK_ROOT``; not SAM local or
Chalice), unless ``POWERTOOLS_TRACE_DISABLED`` is true, and only for sampled invocations. Nothing here
imports more than the standard library.
"""

from __future__ import annotations

import contextvars
import functools
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

HANDLER_SUBSEGMENT = "## lambda_handler"
_HEADER = b'{"format":"json","version":1}\n'
_DEFAULT_DAEMON = ("127.0.0.1", 2000)
_current: contextvars.ContextVar[Subsegment | None] = contextvars.ContextVar(
    "detect_subsegment", default=None
)
_cold_start = True
_socket: socket.socket | None = None


@dataclass(frozen=True)
class TraceHeader:
    root: str
    parent: str
    sampled: bool

    @classmethod
    def parse(cls, value: str | None) -> TraceHeader | None:
        """``Root=1-…;Parent=…;Sampled=1`` (Lambda's ``_X_AMZN_TRACE_ID``), or None if incomplete."""
        if not value:
            return None
        parts = dict(item.split("=", 1) for item in value.split(";") if "=" in item)
        root, parent = parts.get("Root"), parts.get("Parent")
        if not root or not parent:
            return None
        return cls(root=root, parent=parent, sampled=parts.get("Sampled") == "1")


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "y", "on")


def tracing_enabled(environ: Any = os.environ) -> bool:
    """Powertools' rule: in Lambda, not under SAM local or Chalice, not POWERTOOLS_TRACE_DISABLED."""
    if _truthy(environ.get("POWERTOOLS_TRACE_DISABLED")):
        return False
    in_lambda = bool(environ.get("LAMBDA_TASK_ROOT"))
    emulated = bool(environ.get("AWS_SAM_LOCAL") or environ.get("AWS_CHALICE_CLI_MODE"))
    return in_lambda and not emulated


def daemon_address(environ: Any = os.environ) -> tuple[str, int]:
    """``AWS_XRAY_DAEMON_ADDRESS``: ``host:port`` or ``tcp:host:port udp:host:port``; UDP is used."""
    value = (environ.get("AWS_XRAY_DAEMON_ADDRESS") or "").strip()
    if not value:
        return _DEFAULT_DAEMON
    for part in value.split():
        if part.startswith("udp:") or ":" in part and not part.startswith("tcp:"):
            host, _, port = part.removeprefix("udp:").rpartition(":")
            return host, int(port)
    return _DEFAULT_DAEMON


def _send(document: dict[str, Any]) -> None:
    """One document to the daemon; tracing never fails an invocation."""
    global _socket
    try:
        if _socket is None:
            _socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            _socket.setblocking(False)
        payload = json.dumps(document, separators=(",", ":"), default=str).encode()
        _socket.sendto(_HEADER + payload, daemon_address())
    except (OSError, TypeError, ValueError):
        pass


@dataclass
class Subsegment:
    name: str
    trace: TraceHeader
    parent_id: str
    namespace: str | None = None
    id: str = field(default_factory=lambda: os.urandom(8).hex())
    start_time: float = field(default_factory=time.time)
    annotations: dict[str, Any] = field(default_factory=dict)
    aws: dict[str, Any] = field(default_factory=dict)
    http: dict[str, Any] = field(default_factory=dict)
    flags: dict[str, bool] = field(default_factory=dict)  # error, throttle, fault
    cause: dict[str, Any] | None = None

    def fail(self, exc: BaseException, *, remote: bool = False, flag: str = "fault") -> None:
        self.flags[flag] = True
        self.cause = {
            "exceptions": [
                {"id": os.urandom(8).hex(), "type": type(exc).__name__, "message": str(exc), "remote": remote}
            ]
        }

    def document(self, end_time: float) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": "subsegment",
            "name": self.name,
            "id": self.id,
            "trace_id": self.trace.root,
            "parent_id": self.parent_id,
            "start_time": self.start_time,
            "end_time": end_time,
        }
        if self.namespace:
            doc["namespace"] = self.namespace
        for name, value in (("annotations", self.annotations), ("aws", self.aws), ("http", self.http)):
            if value:
                doc[name] = value
        doc.update(self.flags)
        if self.cause:
            doc["cause"] = self.cause
        return doc

    def close(self) -> None:
        _send(self.document(time.time()))


def _invocation_trace() -> TraceHeader | None:
    if not tracing_enabled():
        return None
    trace = TraceHeader.parse(os.environ.get("_X_AMZN_TRACE_ID"))
    return trace if trace is not None and trace.sampled else None


def capture_lambda_handler(service: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Record the handler as ``## lambda_handler`` when the invocation is traced (see module doc)."""
    service = service or os.environ.get("POWERTOOLS_SERVICE_NAME") or "service_undefined"

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(handler)
        def traced(event: Any, context: Any) -> Any:
            global _cold_start
            cold, _cold_start = _cold_start, False
            trace = _invocation_trace()
            if trace is None:
                return handler(event, context)
            subsegment = Subsegment(HANDLER_SUBSEGMENT, trace, parent_id=trace.parent)
            subsegment.annotations.update(ColdStart=cold, Service=service)
            token = _current.set(subsegment)
            try:
                return handler(event, context)
            except Exception as exc:
                subsegment.fail(exc)
                raise
            finally:
                _current.reset(token)
                subsegment.close()

        return traced

    return decorate


def put_annotation(key: str, value: str | int | float | bool) -> None:
    """An annotation on the handler's subsegment (ignored when the invocation is not traced)."""
    subsegment = _current.get()
    if subsegment is not None:
        subsegment.annotations[key] = value


# --- AWS calls of a botocore client -----------------------------------------------------------
_CONTEXT_KEY = "detect_tracing_subsegment"


def _before_call(model: Any, context: dict[str, Any], region: str | None) -> None:
    parent = _current.get()
    if parent is None:
        return
    subsegment = Subsegment(
        str(model.service_model.service_id), parent.trace, parent_id=parent.id, namespace="aws"
    )
    subsegment.aws.update(operation=model.name, region=region)
    context[_CONTEXT_KEY] = subsegment


def _request_created(request: Any, **_: Any) -> None:
    subsegment = getattr(request, "context", {}).get(_CONTEXT_KEY)
    if subsegment is not None:
        request.headers["X-Amzn-Trace-Id"] = f"Root={subsegment.trace.root};Parent={subsegment.id};Sampled=1"


def _after_call(http_response: Any, parsed: Any, context: dict[str, Any], **_: Any) -> None:
    subsegment = context.pop(_CONTEXT_KEY, None)
    if subsegment is None:
        return
    status = getattr(http_response, "status_code", None)
    metadata = parsed.get("ResponseMetadata", {}) if isinstance(parsed, dict) else {}
    if metadata.get("RequestId"):
        subsegment.aws["request_id"] = metadata["RequestId"]
    if status is not None:
        subsegment.http["response"] = {"status": status}
        if status == 429:
            subsegment.flags.update(error=True, throttle=True)
        elif 400 <= status < 500:
            subsegment.flags["error"] = True
        elif status >= 500:
            subsegment.flags["fault"] = True
    subsegment.close()


def _after_call_error(exception: BaseException, context: dict[str, Any], **_: Any) -> None:
    """A call that got no HTTP response (connection error, timeout)."""
    subsegment = context.pop(_CONTEXT_KEY, None)
    if subsegment is None:
        return
    subsegment.fail(exception, remote=True)
    subsegment.close()


def instrument(client: Any) -> Any:
    """Record ``client``'s AWS calls as subsegments of the traced handler; returns the client."""
    events = client.meta.events
    region = client.meta.region_name

    def before_call(model: Any, context: dict[str, Any], **_: Any) -> None:
        _before_call(model, context, region)

    events.register("before-call.*.*", before_call, unique_id="detect-tracing-before-call")
    events.register("request-created.*.*", _request_created, unique_id="detect-tracing-request")
    events.register("after-call.*.*", _after_call, unique_id="detect-tracing-after-call")
    events.register("after-call-error.*.*", _after_call_error, unique_id="detect-tracing-after-error")
    return client
