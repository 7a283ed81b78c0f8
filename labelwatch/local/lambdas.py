"""Run Lambda invocations in-process from ``functions/``, with the template's handler and env.

moto would start a Docker container; there is none here. ``LambdaFunction._invoke_lambda`` is
the one place every invocation passes (Invoke, Step Functions tasks, event source mappings), so
it is replaced by a call to the real handler. The function's environment variables are those
of the deployed function (from the template), set in the process environment once when the
stack is created (``FunctionEnvironment``); the handler reaches the embedded AWS through boto3 exactly as
on AWS.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
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

from labelwatch.local.patching import Patch

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"

_lock = threading.Lock()
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


class EnvironmentConflict(RuntimeError):
    """Two in-process functions need different values for one variable of the shared environment."""


class FunctionEnvironment:
    """The functions' environment variables in the one process environment they share.

    On AWS each function has its own environment. In-process, every handler reads ``os.environ``,
    and so does everything else in the process: botocore iterates it whenever a client is created
    (proxy settings), which moto's Step Functions interpreter does for every task. Changing it while
    invocations run makes those readers fail (``KeyError`` for a variable removed mid-iteration),
    so it is set once, when a stack is created and before anything invokes a function, kept for the
    stack's lifetime and restored when the stack is closed. Variables two functions (or two stacks
    alive at once) would need with different values cannot be honoured and are refused.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, str] = {}  # variable -> the value the holders need
        self._needed_by: dict[str, dict[int, str]] = {}  # variable -> holder -> function name
        self._saved: dict[str, str | None] = {}  # the process's values before the first holder
        self._holders = itertools.count(1)

    def hold(self, functions: dict[str, dict[str, str]]) -> EnvironmentHold:
        """Apply ``{function name: its variables}``; the returned hold restores them when released."""
        with self._lock:
            wanted: dict[str, tuple[str, str]] = {}  # variable -> (value, function)
            for function, variables in functions.items():
                for name, value in variables.items():
                    value = str(value)
                    other = wanted.get(name)
                    if other is None and name in self._values:
                        other = (self._values[name], next(iter(self._needed_by[name].values())))
                    if other is not None and other[0] != value:
                        raise EnvironmentConflict(
                            f"functions {other[1]} and {function} need {name}={other[0]!r} and "
                            f"{name}={value!r}; functions run in-process share one environment, so "
                            "they cannot run in the same process (stop the other local stack first)"
                        )
                    wanted[name] = (value, function)
            holder = next(self._holders)
            for name, (value, function) in wanted.items():
                if name not in self._needed_by:
                    self._saved[name] = os.environ.get(name)
                    self._needed_by[name] = {}
                self._needed_by[name][holder] = function
                self._values[name] = value
                os.environ[name] = value
            return EnvironmentHold(self, holder)

    def release(self, holder: int) -> None:
        with self._lock:
            for name in [name for name, holders in self._needed_by.items() if holder in holders]:
                del self._needed_by[name][holder]
                if self._needed_by[name]:
                    continue
                del self._needed_by[name], self._values[name]
                previous = self._saved.pop(name)
                if previous is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = previous

    def check(self, function: LambdaFunction) -> None:
        """Refuse to run a function whose variables are not (or no longer) what the process has."""
        for name, value in function.environment_vars.items():
            if os.environ.get(name) != str(value):
                raise EnvironmentConflict(
                    f"{function.function_name} needs {name}={str(value)!r} but the process has "
                    f"{os.environ.get(name)!r}: in-process functions get their environment once, when "
                    "the stack is created (EmbeddedStack.create), not per invocation nor after an "
                    "update of the function's configuration"
                )


@dataclass
class EnvironmentHold:
    environment: FunctionEnvironment
    holder: int
    released: bool = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.environment.release(self.holder)


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


class InProcessFunctions:
    """Lambda functions run on the twin's threads, from ``functions/``."""

    def __init__(self, log_dir: Path | None = None) -> None:
        self.log_dir = log_dir
        self.environment = FunctionEnvironment()
        self.logs = FunctionLogs()
        self.concurrency = Concurrency()

    def start(self) -> None:
        if self.log_dir is not None:
            self.logs.install(self.log_dir)
        _reset_handler_clients()

    def stop(self) -> None:
        self.logs.uninstall()
        _reset_handler_clients()

    def invoke(self, function: LambdaFunction, event: Any) -> tuple[str, bool, str]:
        """Call the handler; return (payload JSON, errored, logs) as moto expects."""
        payload = json.loads(event) if isinstance(event, str | bytes) and event else (event or {})
        context = LambdaContext(
            function_name=function.function_name,
            memory_limit_in_mb=int(function.memory_size),
            invoked_function_arn=function.function_arn,
            aws_request_id=str(uuid.uuid4()),
        )
        with (
            self.concurrency.slot(function),  # TooManyRequests over the reserved concurrency, like Lambda
            self.logs.function(function.function_name),
        ):
            try:
                self.environment.check(function)  # set once for the stack, never while invocations run
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


def patches(functions: InProcessFunctions) -> list[Patch]:
    """Route every moto Lambda invocation (Invoke, Step Functions tasks, event sources) to ``functions``."""

    def _invoke_lambda(self: LambdaFunction, event: str | None = None) -> tuple[str, bool, str]:
        return functions.invoke(self, event)

    return [
        Patch(
            LambdaFunction,
            "_invoke_lambda",
            _invoke_lambda,
            signature=str(inspect.signature(_original_invoke)),
        )
    ]


def _reset_handler_clients() -> None:
    """The detect handler caches boto3 clients; a new endpoint needs new ones."""
    module = sys.modules.get("detect.clients")
    if module is not None:
        module.reset()
