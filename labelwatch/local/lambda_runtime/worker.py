"""One Lambda execution environment: a process that imports a handler once and runs invocations.

Started by ``FunctionRuntimes`` as ``python worker.py REQ_FD RESP_FD LIFELINE_FD TOKEN`` (by path,
not ``-m``, so that no package ``__init__`` is imported before the handler: the environment's
start-up is the interpreter plus the handler's own imports, as on Lambda). Standard library only.

- Its environment is the function's (built by the parent); ``_HANDLER`` names ``module.function``
  and ``LAMBDA_TASK_ROOT`` the code directory, which becomes ``sys.path[0]`` and the working
  directory, as in Lambda's Python runtime.
- Invocations arrive on ``REQ_FD`` and answers leave on ``RESP_FD`` as length-prefixed JSON frames
  (``frame``/``read_frame``): stdout and stderr are free for the handler and go to the function's log.
- After the import and after each invocation the worker flushes stdout and stderr and writes
  ``sentinel_for(TOKEN)`` to fd 1, so the parent can cut the log stream into invocations.
- ``LIFELINE_FD`` is the read end of a pipe the parent never writes: end of file means the parent
  is gone, and the worker exits even if a handler is still running.

Limits (timeout, memory) are enforced by the parent, which kills this process.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import threading
import time
import traceback
from typing import Any

_HEADER = struct.Struct(">I")


def sentinel_for(token: str) -> bytes:
    """The end-of-invocation mark written to stdout (NUL-delimited: handlers do not print it)."""
    return f"\0labelwatch-end-of-invocation-{token}\0\n".encode("ascii")


def frame(message: Any) -> bytes:
    """A message as one frame: 4-byte big-endian length, then JSON (UTF-8)."""
    data = json.dumps(message).encode("utf-8")
    return _HEADER.pack(len(data)) + data


def write_frame(fd: int, message: Any) -> None:
    view = memoryview(frame(message))
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> Any | None:
    """The next message, or None at end of file (the other side is gone)."""
    header = _read_exactly(fd, _HEADER.size)
    if header is None:
        return None
    data = _read_exactly(fd, _HEADER.unpack(header)[0])
    return None if data is None else json.loads(data)


class LambdaContext:
    """The attributes of Lambda's Python context object."""

    def __init__(self, request: dict[str, Any], deadline: float) -> None:
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]  # a string, as on Lambda
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.invoked_function_arn = request["invoked_function_arn"]
        self.aws_request_id = request["request_id"]
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def log(self, message: str) -> None:
        sys.stdout.write(message)


class _Fault(Exception):
    """An init failure the Python runtime reports with a ``Runtime.*`` error type."""

    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(message)
        self.error = {"errorMessage": message, "errorType": error_type, "requestId": ""}
        self.error["stackTrace"] = stack or []


def _load_handler(name: str) -> Any:
    import importlib

    module_name, _, function_name = name.rpartition(".")
    if not module_name:
        raise _Fault("Runtime.MalformedHandlerName", f"Bad handler '{name}': not enough values to unpack")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        message = f"Unable to import module '{module_name}': {error}"
        raise _Fault("Runtime.ImportModuleError", message) from None
    except SyntaxError as error:
        trace = [f'  File "{error.filename}" Line {error.lineno}\n    {error.text}']
        message = f"Syntax error in module '{module_name}': {error}"
        raise _Fault("Runtime.UserCodeSyntaxError", message, trace) from None
    try:
        return getattr(module, function_name)
    except AttributeError:
        message = f"Handler '{function_name}' missing on module '{module_name}'"
        raise _Fault("Runtime.HandlerNotFound", message) from None


def _error_of(error: BaseException, request_id: str) -> dict[str, Any]:
    """The payload Lambda's Python runtime returns for an exception (the runtime's frames left out)."""
    frames = [
        entry
        for entry in traceback.extract_tb(error.__traceback__)
        if entry.filename != __file__ and not entry.filename.startswith("<frozen ")
    ]
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


def _log_error(error: dict[str, Any]) -> None:
    """Write the error to the function's log the way the Python runtime does."""
    text = f"[ERROR] {error['errorType']}: {error['errorMessage']}"
    if error.get("stackTrace"):
        text += "\nTraceback (most recent call last):\n" + "".join(error["stackTrace"])
    sys.stderr.write(text.rstrip("\n") + "\n")


_request_id = ""


def _install_logging() -> None:
    """The root logging handler of Lambda's Python runtime (text format, level left as Python's)."""
    import logging

    class RequestId(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.aws_request_id = _request_id
            return True

    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.terminator = ""
    handler.addFilter(RequestId())
    logging.getLogger().addHandler(handler)


def _watch_parent(fd: int) -> None:
    try:
        os.read(fd, 1)
    finally:
        os._exit(1)


def _end_of_output(sentinel: bytes) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.write(1, sentinel)


def main(argv: list[str]) -> None:
    global _request_id
    request_fd, response_fd, lifeline_fd = (int(value) for value in argv[1:4])
    sentinel = sentinel_for(argv[4])
    threading.Thread(target=_watch_parent, args=(lifeline_fd,), name="lifeline", daemon=True).start()

    started = time.perf_counter()
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path[0] = task_root  # instead of this file's directory
    os.chdir(task_root)
    _install_logging()
    init_error = None
    try:
        handler = _load_handler(os.environ["_HANDLER"])
    except _Fault as fault:
        init_error = fault.error
    except Exception as error:  # the module's own code failed while importing
        init_error = _error_of(error, "")
    import_ms = (time.perf_counter() - started) * 1000
    if init_error is not None:
        _log_error(init_error)
    _end_of_output(sentinel)
    write_frame(response_fd, {"type": "ready", "import_ms": import_ms, "error": init_error})
    if init_error is not None:
        sys.exit(1)  # the Python runtime exits after reporting an init error

    while True:
        request = read_frame(request_fd)
        if request is None:  # the parent closed the pipe
            os._exit(0)
        deadline = time.monotonic() + request["remaining_ms"] / 1000
        _request_id = request["request_id"]
        if request.get("trace_id"):
            os.environ["_X_AMZN_TRACE_ID"] = request["trace_id"]
        context = LambdaContext(request, deadline)
        try:
            event = json.loads(request["event"]) if request["event"] else {}
            result = handler(event, context)
        except Exception as error:
            answer = {"type": "error", "error": _error_of(error, _request_id)}
            _log_error(answer["error"])
        else:
            try:
                answer = {"type": "result", "payload": json.dumps(result)}
            except (TypeError, ValueError, OverflowError) as error:
                message = f"Unable to marshal response: {error}"
                body = {"errorMessage": message, "errorType": "Runtime.MarshalError"}
                answer = {"type": "error", "error": {**body, "requestId": _request_id, "stackTrace": []}}
                _log_error(answer["error"])
        _end_of_output(sentinel)
        write_frame(response_fd, answer)


if __name__ == "__main__":
    main(sys.argv)
