"""Run Lambda invocations in-process from ``functions/``, with the template's handler and env.

moto would start a Docker container; there is none here. ``LambdaFunction._invoke_lambda`` is
the one place every invocation passes (Invoke, Step Functions tasks, event source mappings), so
it is replaced by a call to the real handler. The function's environment variables are those
of the deployed function (from the template); the handler reaches the embedded AWS through
boto3 exactly as on AWS.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import traceback
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.core.exceptions import JsonRESTError

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"

_lock = threading.Lock()
_installed = False
_original_invoke = LambdaFunction._invoke_lambda


@dataclass
class LambdaContext:
    """The attributes of AWS's Lambda context object that handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _load_handler(handler: str):
    module_name, _, function_name = handler.rpartition(".")
    if str(FUNCTIONS_DIR) not in sys.path:
        sys.path.insert(0, str(FUNCTIONS_DIR))
    module = importlib.import_module(module_name)
    return getattr(module, function_name)


_active = 0
_saved: dict[str, str | None] = {}


@contextmanager
def _environment(variables: dict[str, str]):
    """Apply the function's environment while any invocation runs (the process shares one env).

    Concurrent invocations (a Map's iterations) overlap, so the previous values come back only
    when the last running invocation ends. Every invocation of one stack sees the same values.
    """
    global _active
    with _lock:
        if _active == 0:
            _saved.clear()
            _saved.update({name: os.environ.get(name) for name in variables})
        _saved.update({name: os.environ.get(name) for name in variables if name not in _saved})
        os.environ.update(variables)
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                for name, value in _saved.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value
                _saved.clear()


class FunctionLogs:
    """Send what handlers print to one log file per function, as Lambda sends it to CloudWatch Logs.

    The process shares one ``sys.stdout``; a proxy routes writes made while a handler runs on this
    thread to that function's file and everything else to the real stdout.
    """

    def __init__(self) -> None:
        self.directory: Path | None = None
        self._local = threading.local()
        self._files: dict[str, Any] = {}
        self._real = sys.stdout

    def install(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        if sys.stdout is not self:
            self._real = sys.stdout
            sys.stdout = self  # type: ignore[assignment]

    def uninstall(self) -> None:
        if sys.stdout is self:
            sys.stdout = self._real
        for file in self._files.values():
            file.close()
        self._files.clear()
        self.directory = None

    @contextmanager
    def function(self, name: str):
        previous = getattr(self._local, "name", None)
        self._local.name = name
        try:
            yield
        finally:
            self._local.name = previous

    def _sink(self) -> Any:
        name = getattr(self._local, "name", None)
        if name is None or self.directory is None:
            return self._real
        if name not in self._files:
            with _lock:
                if name not in self._files:
                    self._files[name] = (self.directory / f"{name}.log").open("a", encoding="utf-8")
        return self._files[name]

    def write(self, text: str) -> int:
        return self._sink().write(text)

    def flush(self) -> None:
        self._sink().flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


FUNCTION_LOGS = FunctionLogs()


class TooManyRequests(JsonRESTError):
    """Lambda's answer when a function's reserved concurrency is in use (HTTP 429)."""

    code = 429

    def __init__(self, function_name: str, limit: int) -> None:
        super().__init__(
            "TooManyRequestsException",
            f"Rate Exceeded: {function_name} has reserved concurrency {limit} and that many are running.",
        )


@dataclass
class Concurrency:
    """Invocations running per function, the most seen at once, and how many were throttled."""

    running: dict[str, int] = field(default_factory=dict)
    peak: dict[str, int] = field(default_factory=dict)
    throttled: dict[str, int] = field(default_factory=dict)

    @contextmanager
    def slot(self, function: LambdaFunction):
        name = function.function_name
        limit = int(function.reserved_concurrency) if function.reserved_concurrency else None
        with _lock:
            if limit is not None and self.running.get(name, 0) >= limit:
                self.throttled[name] = self.throttled.get(name, 0) + 1
                raise TooManyRequests(name, limit)
            self.running[name] = self.running.get(name, 0) + 1
            self.peak[name] = max(self.peak.get(name, 0), self.running[name])
        try:
            yield
        finally:
            with _lock:
                self.running[name] -= 1

    def reset(self) -> None:
        with _lock:
            self.running.clear()
            self.peak.clear()
            self.throttled.clear()


CONCURRENCY = Concurrency()


def invoke_in_process(function: LambdaFunction, event: Any) -> tuple[str, bool, str]:
    """Call the handler; return (payload JSON, errored, logs) as moto expects."""
    payload = json.loads(event) if isinstance(event, str | bytes) and event else (event or {})
    context = LambdaContext(
        function_name=function.function_name,
        memory_limit_in_mb=int(function.memory_size),
        invoked_function_arn=function.function_arn,
        aws_request_id=str(uuid.uuid4()),
    )
    with (
        CONCURRENCY.slot(function),  # raises TooManyRequests over the reserved concurrency, like Lambda
        _environment({k: str(v) for k, v in function.environment_vars.items()}),
        FUNCTION_LOGS.function(function.function_name),
    ):
        try:
            handler = _load_handler(function.handler)
            result = handler(payload, context)
            return json.dumps(result), False, ""
        except Exception as error:  # the Lambda runtime reports any exception as a function error
            body = {
                "errorType": type(error).__name__,
                "errorMessage": str(error),
                "stackTrace": traceback.format_exception(error)[-5:],
            }
            return json.dumps(body), True, traceback.format_exc()


def install() -> None:
    """Route every moto Lambda invocation to the in-process runtime (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return

        def _invoke_lambda(self: LambdaFunction, event: str | None = None) -> tuple[str, bool, str]:
            return invoke_in_process(self, event)

        LambdaFunction._invoke_lambda = _invoke_lambda
        _installed = True


def uninstall() -> None:
    global _installed
    with _lock:
        LambdaFunction._invoke_lambda = _original_invoke
        _installed = False
