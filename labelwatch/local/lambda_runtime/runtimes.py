"""Lambda execution environments as worker processes: start, reuse, limit, log, stop.

``FunctionRuntimes.invoke(config, payload_json)`` runs one invocation in an execution environment
of that function: a warm idle one if there is one, otherwise a new process (``worker.py``) that
imports the handler once (its Init Duration). Each environment has its own process environment
(the function's variables, Lambda's reserved ones, the role's credentials), runs one invocation at
a time, and is discarded when it times out, exceeds its memory or dies, as on Lambda.

The parent measures and enforces the limits: it waits for the answer in slices and reads the
worker's peak resident memory (``VmHWM`` in ``/proc/PID/status``, a high-water mark: no peak between
two reads is missed) after each slice and at the end, killing the process group on a timeout or when
the peak passes the function's MemorySize. Slices are ``POLL_INTERVAL_S`` once the peak has reached
half the MemorySize and ``IDLE_POLL_INTERVAL_S`` below it, so an environment far from its limit does
not wake the twin's process 70 times a second. The worker's stdout and stderr go to the function's
log file with Lambda's START/END/REPORT lines, one block per invocation.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.core.exceptions import JsonRESTError

from . import forkserver
from .config import FunctionConfig
from .worker import read_frame, sentinel_for, write_frame

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
POLL_INTERVAL_S = 0.015  # how often the parent reads a running worker's memory near its limit
IDLE_POLL_INTERVAL_S = 0.1  # … and while its peak is below half the limit
INIT_TIMEOUT_S = 10.0  # Lambda's limit for the Init phase (added to the function timeout: see _init)
OUTPUT_GRACE_S = 2.0  # how long to wait for a worker's output to reach the parent after its answer
LAMBDA_PATH = "/usr/local/bin:/usr/bin/:/bin:/opt/bin"  # after the interpreter's directory, as /var/lang/bin


class TooManyRequests(JsonRESTError):
    """Lambda's answer when a function's reserved concurrency is in use (HTTP 429)."""

    code = 429

    def __init__(self, function_name: str, limit: int) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")
        self.function_name = function_name
        self.limit = limit
        self.reason = "ReservedFunctionConcurrentInvocationLimitExceeded"
        body = {"__type": self.error_type, "message": self.message, "Reason": self.reason, "Type": "User"}
        self.description = json.dumps(body)


class RuntimeClosed(RuntimeError):
    """The runtimes were closed (before or while the invocation ran)."""


@dataclass(frozen=True)
class InvokeResult:
    """One invocation's outcome; ``as_moto()`` is what ``LambdaFunction._invoke_lambda`` returns."""

    payload: str  # the function's JSON result, or Lambda's error body when errored
    errored: bool
    logs: str  # this invocation's lines of the function's log
    request_id: str = ""
    error_type: str | None = None
    duration_ms: float = 0.0
    billed_duration_ms: int = 0
    max_memory_used_mb: int = 0
    init_duration_ms: float | None = None  # set on a cold start

    def as_moto(self) -> tuple[str, bool, str]:
        return self.payload, self.errored, self.logs

    def log_tail(self, limit: int = 4096) -> str:
        """The last ``limit`` bytes of the log, as Lambda's ``LogResult`` (``--log-type Tail``)."""
        data = self.logs.encode("utf-8")[-limit:]
        return data.decode("utf-8", errors="ignore")


@dataclass(frozen=True)
class FunctionStats:
    cold_starts: int = 0
    init_durations_ms: tuple[float, ...] = ()
    invocations: int = 0
    running: int = 0
    peak_concurrency: int = 0
    throttled: int = 0  # refused with TooManyRequests (reserved concurrency in use)
    queued: int = 0  # waited for a free environment (unreserved function at the local maximum)
    errors: int = 0  # function errors of any kind, including the three below
    timeouts: int = 0
    out_of_memory: int = 0
    exit_errors: int = 0
    environments: int = 0  # worker processes alive now (idle or busy)
    max_memory_used_mb: int = 0


@dataclass
class _Counters:
    cold_starts: int = 0
    init_durations_ms: list[float] = field(default_factory=list)
    invocations: int = 0
    peak_concurrency: int = 0
    throttled: int = 0
    queued: int = 0
    errors: int = 0
    timeouts: int = 0
    out_of_memory: int = 0
    exit_errors: int = 0
    max_memory_used_mb: int = 0


class _Worker:
    """One worker process (one execution environment) and the parent's ends of its pipes."""

    def __init__(self, config: FunctionConfig, env: dict[str, str], *, fork_server: bool = True) -> None:
        self.config = config
        token = secrets.token_hex(8)
        self.sentinel = sentinel_for(token)
        self._segments: deque[bytes] = deque()
        self._current = bytearray()
        self._eof = False
        self._output = threading.Condition()
        self._disposed = False
        self._dispose_lock = threading.Lock()  # close() and a finishing invocation may race to dispose
        self.peak_kb = 0  # the highest VmHWM the parent has read: the environment's Max Memory Used
        child_fds: list[int] = []
        parent_fds: list[int] = []
        try:
            request_r, self.request_w = os.pipe()
            self.response_r, response_w = os.pipe()
            lifeline_r, self.lifeline_w = os.pipe()
            self.output_r, output_w = os.pipe()
            child_fds = [request_r, response_w, lifeline_r, output_w]
            parent_fds = [self.request_w, self.response_r, self.lifeline_w, self.output_r]
            self.started = time.perf_counter()
            server = forkserver.shared() if fork_server else None
            handle = server.spawn(env, str(config.code_dir), [token], child_fds) if server else None
            if handle is not None:
                self.process: subprocess.Popen | forkserver.ProcessHandle = handle
            else:
                fds = (request_r, response_w, lifeline_r)
                self.process = subprocess.Popen(
                    [sys.executable, str(WORKER_SCRIPT), *map(str, fds), token],
                    env=env,
                    cwd=config.code_dir,
                    stdin=subprocess.DEVNULL,
                    stdout=output_w,
                    stderr=output_w,
                    pass_fds=fds,
                    start_new_session=True,  # its own process group: a kill takes the handler's children too
                )
        except BaseException:
            for fd in child_fds + parent_fds:
                os.close(fd)
            raise
        for fd in child_fds:
            os.close(fd)
        self.pid = self.process.pid
        self._status_path = f"/proc/{self.pid}/status"
        self._reader = threading.Thread(target=self._read_output, name=f"lambda-log-{self.pid}", daemon=True)
        self._reader.start()

    # -- output: the worker's stdout/stderr, cut into invocations at the sentinel ---------------
    def _read_output(self) -> None:
        sentinel, keep = self.sentinel, len(self.sentinel) - 1
        buffer = bytearray()
        while True:
            try:
                chunk = os.read(self.output_r, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buffer += chunk
            with self._output:
                while (index := buffer.find(sentinel)) >= 0:
                    self._current += buffer[:index]
                    self._segments.append(bytes(self._current))
                    self._current.clear()
                    del buffer[: index + len(sentinel)]
                    self._output.notify_all()
                if len(buffer) > keep:  # what cannot be the start of a sentinel
                    self._current += buffer[:-keep]
                    del buffer[:-keep]
        with self._output:
            self._current += buffer
            self._eof = True
            self._output.notify_all()

    def take_output(self, wait_s: float) -> str:
        """The output up to the next end-of-invocation mark (or everything until the pipe closes)."""
        with self._output:
            self._output.wait_for(lambda: self._segments or self._eof, timeout=wait_s)
            if self._segments:
                data = self._segments.popleft()
            else:
                data = bytes(self._current)
                self._current.clear()
        return data.decode("utf-8", errors="replace")

    # -- the process ---------------------------------------------------------------------------
    def peak_rss_kb(self) -> int:
        """The process's peak resident set so far (VmHWM; the last value read once it has exited)."""
        try:
            with open(self._status_path, "rb") as status:
                text = status.read()
        except OSError:
            return self.peak_kb
        start = text.find(b"VmHWM:")
        if start >= 0:
            self.peak_kb = max(self.peak_kb, int(text[start + 6 : text.index(b"kB", start)]))
        return self.peak_kb

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait()

    def exit_reason(self, wait_s: float = 1.0) -> str:
        """How the process ended, in the words of Lambda's ``Runtime exited with error: …``."""
        try:
            code = self.process.wait(wait_s)
        except subprocess.TimeoutExpired:  # it closed its answer pipe but lives on
            self.kill()
            code = self.process.returncode
        if code < 0:
            return f"signal: {signal.strsignal(-code) or -code}".lower()
        return f"exit status {code}"

    def dispose(self) -> None:
        """Kill the process and close the parent's ends of the pipes (once)."""
        with self._dispose_lock:
            if self._disposed:
                return  # its fds may already belong to someone else: never close them twice
            self._disposed = True
        self.kill()
        for fd in (self.request_w, self.response_r, self.lifeline_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._reader.join(OUTPUT_GRACE_S)
        if not self._reader.is_alive():
            os.close(self.output_r)  # else a grandchild outside the group holds it; left to the GC


class _LogFiles:
    """One append-only log file per function under ``directory`` (nothing kept when it is None)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = None if directory is None else Path(directory)
        self._files: dict[str, Any] = {}
        self._lock = threading.Lock()

    def write(self, function: str, text: str) -> None:
        if self.directory is None:
            return
        with self._lock:
            file = self._files.get(function)
            if file is None:
                self.directory.mkdir(parents=True, exist_ok=True)
                path = self.directory / f"{function}.log"
                file = self._files[function] = path.open("a", encoding="utf-8")
            file.write(text)
            file.flush()

    def close(self) -> None:
        with self._lock:
            for file in self._files.values():
                file.close()
            self._files.clear()
            self.directory = None


@dataclass
class _Pool:
    config: FunctionConfig
    idle: list[_Worker] = field(default_factory=list)
    busy: int = 0  # environments reserved for invocations (starting or running)
    counters: _Counters = field(default_factory=_Counters)


@dataclass
class _Outcome:
    kind: str  # "answer", "timeout", "oom" or "exit"
    message: Any = None
    peak_kb: int = 0


class FunctionRuntimes:
    """Execution environments of any number of functions, as worker processes.

    ``base_env`` is added to every environment (over the function's own variables; Lambda's reserved
    variables win over both): the twin passes ``AWS_ENDPOINT_URL`` here. ``credentials_for(role_arn)``
    gives an environment its role's ``(access key id, secret access key[, session token])``.
    An unreserved function runs at most ``max_unreserved`` environments at once; further invocations
    wait up to ``queue_timeout_s`` for one to be free and are then throttled. A function with reserved
    concurrency is throttled (``TooManyRequests``) as soon as that many run, as on Lambda.
    """

    def __init__(
        self,
        base_env: dict[str, str],
        log_dir: Path | None,
        credentials_for: Callable[[str], tuple[str, ...]] | None = None,
        max_unreserved: int = 4,
        queue_timeout_s: float = 60.0,
        fork_server: bool = True,
    ) -> None:
        self.base_env = {str(k): str(v) for k, v in base_env.items()}
        # environments forked from a process with botocore and Pillow imported (forkserver.py); False:
        # each one a fresh interpreter, its Init Duration and first invocation as long as on Lambda
        self.fork_server = fork_server
        self.credentials_for = credentials_for
        self.max_unreserved = max_unreserved
        self.queue_timeout_s = queue_timeout_s
        self._logs = _LogFiles(log_dir)
        self._lock = threading.Condition()
        self._pools: dict[str, _Pool] = {}
        self._workers: set[_Worker] = set()
        self._closed = False

    def __enter__(self) -> FunctionRuntimes:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- public --------------------------------------------------------------------------------
    def invoke(self, config: FunctionConfig, payload_json: str) -> InvokeResult:
        """Run one invocation; raises ``TooManyRequests`` when the function's concurrency is in use."""
        worker = self._acquire(config)
        cold = worker is None
        keep = False
        try:
            request_id = str(uuid.uuid4())
            prefix = ""
            init_ms = None
            if worker is None:
                worker = self._start(config)
                init_ms, init_text, failure = self._init(worker, config, request_id)
                prefix = f"INIT_START Runtime Version: {config.runtime}\n" + _lines(init_text)
                if failure is not None:
                    return self._finish(config, request_id, failure, prefix, "", init_ms, 0.0, worker)
            outcome, duration_ms = self._run(worker, config, request_id, payload_json)
            output = worker.take_output(OUTPUT_GRACE_S if outcome.kind == "answer" else 0.5)
            keep = outcome.kind == "answer"  # a handler's exception keeps the environment, as on Lambda
            return self._finish(config, request_id, outcome, prefix, output, init_ms, duration_ms, worker)
        finally:
            self._release(config, worker, keep, cold)

    def prewarm(self, config: FunctionConfig, count: int = 1) -> int:
        """Start up to ``count`` idle environments now (within the concurrency); returns how many started."""
        started = 0
        for _ in range(count):
            with self._lock:
                pool = self._pool(config)
                if pool.busy + len(pool.idle) >= self._limit(pool.config):
                    break
                pool.busy += 1
            worker = None
            keep = False
            try:
                worker = self._start(config)
                _, _, failure = self._init(worker, config, "")
                keep = failure is None
                started += keep
            finally:
                self._release(config, worker, keep, cold=True)
        return started

    def stats(self) -> dict[str, FunctionStats]:
        with self._lock:
            result = {}
            for name, pool in self._pools.items():
                counters = pool.counters
                values = {k: v for k, v in vars(counters).items() if k != "init_durations_ms"}
                alive = sum(1 for worker in self._workers if worker.config.name == name)
                result[name] = FunctionStats(
                    **values,
                    init_durations_ms=tuple(counters.init_durations_ms),
                    running=pool.busy,
                    environments=alive,
                )
            return result

    def worker_pids(self) -> list[int]:
        """The process ids of the environments alive now."""
        with self._lock:
            return [worker.pid for worker in self._workers]

    def close(self) -> None:
        """Kill every environment (idle or running) and close the log files."""
        with self._lock:
            self._closed = True
            idle = [worker for pool in self._pools.values() for worker in pool.idle]
            for pool in self._pools.values():
                pool.idle.clear()
            busy = [worker for worker in self._workers if worker not in idle]
            self._lock.notify_all()
        for worker in busy:  # the invoking thread sees it die and disposes of it
            worker.kill()
        for worker in idle:
            worker.dispose()
            with self._lock:
                self._workers.discard(worker)
        self._logs.close()

    # -- environments --------------------------------------------------------------------------
    def _limit(self, config: FunctionConfig) -> int:
        return self.max_unreserved if config.reserved_concurrency is None else config.reserved_concurrency

    def _pool(self, config: FunctionConfig) -> _Pool:
        """The function's pool (under the lock); a changed configuration retires the idle environments."""
        if self._closed:
            raise RuntimeClosed("the Lambda runtimes are closed")
        pool = self._pools.get(config.name)
        if pool is None:
            pool = self._pools[config.name] = _Pool(config)
        elif pool.config != config:
            pool.config = config
            stale = [worker for worker in pool.idle if worker.config != config]
            pool.idle = [worker for worker in pool.idle if worker.config == config]
            for worker in stale:
                self._workers.discard(worker)
                threading.Thread(target=worker.dispose, daemon=True).start()
        return pool

    def _acquire(self, config: FunctionConfig) -> _Worker | None:
        """A warm idle environment, or None after reserving a slot for a new one."""
        deadline = time.monotonic() + self.queue_timeout_s
        queued = False
        dead: list[_Worker] = []
        try:
            with self._lock:
                while True:
                    pool = self._pool(config)
                    while pool.idle:
                        worker = pool.idle.pop()  # the most recently used
                        if worker.alive():
                            pool.busy += 1
                            return self._count_start(pool, worker)
                        self._workers.discard(worker)
                        dead.append(worker)
                    limit = self._limit(pool.config)
                    if pool.busy < limit:
                        pool.busy += 1
                        return self._count_start(pool, None)
                    remaining = deadline - time.monotonic()
                    if pool.config.reserved_concurrency is not None or remaining <= 0:
                        pool.counters.throttled += 1
                        raise TooManyRequests(config.name, limit)
                    if not queued:
                        queued = True
                        pool.counters.queued += 1
                    self._lock.wait(remaining)
        finally:
            for worker in dead:
                worker.dispose()

    def _count_start(self, pool: _Pool, worker: _Worker | None) -> _Worker | None:
        pool.counters.invocations += 1
        pool.counters.peak_concurrency = max(pool.counters.peak_concurrency, pool.busy)
        return worker

    def _release(self, config: FunctionConfig, worker: _Worker | None, keep: bool, cold: bool) -> None:
        with self._lock:
            pool = self._pools[config.name]
            pool.busy -= 1
            if worker is not None and keep and not self._closed and worker.config == pool.config:
                pool.idle.append(worker)
                worker = None
            elif worker is not None:
                self._workers.discard(worker)
            self._lock.notify_all()
        if worker is not None:
            worker.dispose()

    def _environment(self, config: FunctionConfig) -> dict[str, str]:
        """The worker's whole environment: nothing of the parent's but what is passed on purpose."""
        if self.credentials_for is not None:
            credentials = tuple(self.credentials_for(config.role_arn))
        else:
            credentials = tuple(
                self.base_env.get(name, "testing")
                for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
            )
        day = time.strftime("%Y/%m/%d", time.gmtime())
        # no ~/.aws of the user running the twin (Lambda has none); base_env may point elsewhere
        env = {"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
        env.update(config.environment)
        env.update(self.base_env)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
            env.pop(name, None)
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": config.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": config.version,
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_LAMBDA_LOG_GROUP_NAME": config.log_group_name,
                "AWS_LAMBDA_LOG_STREAM_NAME": f"{day}/[{config.version}]{uuid.uuid4().hex}",
                "AWS_REGION": config.region,
                "AWS_DEFAULT_REGION": config.region,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
                "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
                "_HANDLER": config.handler,
                "LAMBDA_TASK_ROOT": str(config.code_dir),
                "AWS_ACCESS_KEY_ID": credentials[0],
                "AWS_SECRET_ACCESS_KEY": credentials[1],
                "TZ": ":UTC",
                "LANG": "en_US.UTF-8",
                "PATH": f"{Path(sys.executable).parent}:{LAMBDA_PATH}",
                "PYTHONUNBUFFERED": "1",  # prints reach the log as they happen
            }
        )
        if len(credentials) > 2 and credentials[2]:
            env["AWS_SESSION_TOKEN"] = credentials[2]
        return env

    def _start(self, config: FunctionConfig) -> _Worker:
        worker = _Worker(config, self._environment(config), fork_server=self.fork_server)
        with self._lock:
            self._workers.add(worker)
            closed = self._closed
        if closed:
            worker.kill()
        return worker

    def _init(
        self, worker: _Worker, config: FunctionConfig, request_id: str
    ) -> tuple[float, str, _Outcome | None]:
        """Wait for the handler's import: (Init Duration, its output, the failure if it failed).

        Lambda gives the Init phase 10 s and then retries it within the invocation's timeout; here
        the two are one limit of ``INIT_TIMEOUT_S + timeout``.
        """
        limit_kb = config.memory_mb * 1024
        outcome = self._watch(worker, worker.started + INIT_TIMEOUT_S + config.timeout_s, limit_kb)
        init_ms = (time.perf_counter() - worker.started) * 1000
        with self._lock:
            counters = self._pools[config.name].counters
            counters.cold_starts += 1
            counters.init_durations_ms.append(round(init_ms, 2))
        if self._closed:
            raise RuntimeClosed("the Lambda runtimes were closed while an environment started")
        failure = None
        if outcome.kind == "answer" and outcome.message.get("error"):
            failure = _Outcome("init_error", outcome.message["error"], outcome.peak_kb)
        elif outcome.kind != "answer":
            failure = outcome
        if failure is not None and failure.kind in ("timeout", "oom"):
            worker.kill()
        text = worker.take_output(OUTPUT_GRACE_S if failure is None else 0.5)
        return init_ms, text, failure

    def _run(
        self, worker: _Worker, config: FunctionConfig, request_id: str, payload_json: str
    ) -> tuple[_Outcome, float]:
        started = time.perf_counter()
        request = {
            "request_id": request_id,
            "event": payload_json,
            "remaining_ms": config.timeout_s * 1000,
            "invoked_function_arn": config.arn,
            "trace_id": _trace_id(),
        }
        try:
            write_frame(worker.request_w, request)
        except OSError:  # the environment died while idle
            outcome = _Outcome("exit")
        else:
            outcome = self._watch(worker, started + config.timeout_s, config.memory_mb * 1024)
        duration_ms = (time.perf_counter() - started) * 1000
        if outcome.kind in ("timeout", "oom"):
            worker.kill()
        if self._closed:
            raise RuntimeClosed("the Lambda runtimes were closed while the invocation ran")
        return outcome, duration_ms

    @staticmethod
    def _watch(worker: _Worker, deadline: float, limit_kb: int) -> _Outcome:
        """Wait for the worker's next frame, reading its peak memory after every slice of the wait."""
        poller = select.poll()
        poller.register(worker.response_r, select.POLLIN | select.POLLHUP | select.POLLERR)
        peak = worker.peak_rss_kb()
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return _Outcome("timeout", peak_kb=worker.peak_rss_kb())
            interval = POLL_INTERVAL_S if peak * 2 >= limit_kb else IDLE_POLL_INTERVAL_S
            ready = poller.poll(min(interval, remaining) * 1000)
            peak = worker.peak_rss_kb()
            if peak > limit_kb:
                return _Outcome("oom", peak_kb=peak)
            if ready:
                message = read_frame(worker.response_r)
                peak = worker.peak_rss_kb()  # the end of the invocation counts too
                if peak > limit_kb:
                    return _Outcome("oom", peak_kb=peak)
                return _Outcome("exit" if message is None else "answer", message, peak)

    # -- results and logs ----------------------------------------------------------------------
    def _finish(
        self,
        config: FunctionConfig,
        request_id: str,
        outcome: _Outcome,
        prefix: str,
        output: str,
        init_ms: float | None,
        duration_ms: float,
        worker: _Worker,
    ) -> InvokeResult:
        error_type = None
        status = ""
        trailer = ""
        if outcome.kind == "answer" and outcome.message["type"] == "result":
            payload = outcome.message["payload"]
        elif outcome.kind in ("answer", "init_error"):
            body = outcome.message if outcome.kind == "init_error" else outcome.message["error"]
            error_type = body["errorType"]
            payload = json.dumps(body)
            if outcome.kind == "init_error":
                status = f"\tStatus: error\tError Type: {error_type}"
        elif outcome.kind == "timeout":
            error_type = "Sandbox.Timedout"
            message = f"RequestId: {request_id} Error: Task timed out after {config.timeout_s:.2f} seconds"
            payload = json.dumps({"errorType": error_type, "errorMessage": message})
            now = time.time()
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
            trailer = f"{stamp} {request_id} Task timed out after {config.timeout_s:.2f} seconds\n"
            status = "\tStatus: timeout"
        else:  # "oom" or "exit"
            error_type = "Runtime.OutOfMemory" if outcome.kind == "oom" else "Runtime.ExitError"
            reason = "signal: killed" if outcome.kind == "oom" else worker.exit_reason()
            message = f"RequestId: {request_id} Error: Runtime exited with error: {reason}"
            payload = json.dumps({"errorType": error_type, "errorMessage": message})
            trailer = f"{message}\n{error_type}\n"
            status = f"\tStatus: error\tError Type: {error_type}"

        memory_mb = math.ceil(outcome.peak_kb / 1024)
        billed = math.ceil(duration_ms + (init_ms or 0.0))  # the Init phase is billed since August 2025
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: {billed} ms"
            f"\tMemory Size: {config.memory_mb} MB\tMax Memory Used: {memory_mb} MB"
        )
        if init_ms is not None:
            report += f"\tInit Duration: {init_ms:.2f} ms"
        logs = (
            prefix
            + f"START RequestId: {request_id} Version: {config.version}\n"
            + _lines(output)
            + trailer
            + f"END RequestId: {request_id}\n"
            + report
            + status
            + "\n"
        )
        self._logs.write(config.name, logs)
        with self._lock:
            counters = self._pools[config.name].counters
            counters.max_memory_used_mb = max(counters.max_memory_used_mb, memory_mb)
            if error_type is not None:
                counters.errors += 1
                counters.timeouts += outcome.kind == "timeout"
                counters.out_of_memory += outcome.kind == "oom"
                counters.exit_errors += outcome.kind == "exit"
        return InvokeResult(
            payload=payload,
            errored=error_type is not None,
            logs=logs,
            request_id=request_id,
            error_type=error_type,
            duration_ms=duration_ms,
            billed_duration_ms=billed,
            max_memory_used_mb=memory_mb,
            init_duration_ms=init_ms,
        )


def _lines(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _trace_id() -> str:
    """An X-Ray trace header for the invocation (not sampled: nothing is sent to a daemon)."""
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"
