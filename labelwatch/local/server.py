"""The embedded AWS on loopback: moto's server in this process, the stack, and the Pipe's loop.

One process holds everything, so the in-process runtimes (Lambda handlers, the Custom Labels
stand-in, the S3 event fixes, the outbox) act on the same moto backends the server answers from.
Anything that speaks AWS (boto3, ``aws --endpoint-url``) can use the endpoint; the handlers reach
it through ``AWS_ENDPOINT_URL`` like any other program.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
import urllib.request
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from labelwatch.clients import client_factory
from labelwatch.local import custom_labels, lambdas, outbox
from labelwatch.local.embedded import DEFAULT_REGION, EmbeddedStack
from labelwatch.local.home import Home
from labelwatch.local.pipe import BatchOutcome, LocalPipe
from labelwatch.local.template import synth_template

log = logging.getLogger(__name__)

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
EXECUTING_STEP_FUNCTIONS = {"stepfunctions": {"execute_state_machine": True}}


def endpoint_clients(endpoint: str, region: str = DEFAULT_REGION) -> Callable[[str], Any]:
    """A cached, thread-safe boto3 client factory for the embedded endpoint."""
    session = boto3.session.Session(
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=region,
    )
    config = Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=20)
    return client_factory(session, endpoint_url=endpoint, config=config)


@dataclass
class LocalStack:
    """Start with ``start()`` (or ``with LocalStack(...) as stack``); ``stop()`` leaves nothing running."""

    home: Home
    host: str = "127.0.0.1"
    port: int = 0
    region: str = DEFAULT_REGION
    context: Mapping[str, Any] = field(default_factory=dict)
    model_source: custom_labels.ModelSource | None = None
    on_mail: Callable[[outbox.Mail], None] | None = None
    on_batch: Callable[[BatchOutcome], None] | None = None
    run_pipe: bool = True
    # How many batches the Pipe runs at once. AWS scales a Pipe's pollers with the backlog and offers
    # no setting; 2 reproduces overlapping executions (claims, reserved concurrency) on 2 cores.
    pipe_concurrency: int = 2
    retry_visibility_seconds: int | None = None  # see LocalPipe: time compression for tests and soak

    endpoint: str = ""
    stack: EmbeddedStack | None = None
    pipe: LocalPipe | None = None
    _server: ThreadedMotoServer | None = None
    _home_lock: HomeLock | None = None
    _clients: Callable[[str], Any] | None = field(default=None, repr=False)  # set by start()
    _saved_env: dict[str, str | None] = field(default_factory=dict)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _pipe_threads: list[threading.Thread] = field(default_factory=list)
    pipe_errors: list[str] = field(default_factory=list)

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> LocalStack:
        self._home_lock = HomeLock.acquire(self.home)  # one running stack per home, or refuse (untouched)
        try:
            return self._start()
        except BaseException:
            if self._server is not None:
                self.stop()
            else:  # nothing was installed yet (a synth error, a busy port)
                self._home_lock.release()
                self._home_lock = None
            raise

    def _start(self) -> LocalStack:
        template = synth_template(self.context)  # first, so a synth error leaves nothing running
        check_port_free(self.host, self.port)  # werkzeug would print and hang on a busy port
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per AWS call
        lambdas.FUNCTION_LOGS.install(self.home.logs)
        # Concurrent in-process invocations share Powertools' module-level metrics buffer, so one
        # may flush the other's metrics and the other then warns it has none. On AWS each sandbox
        # runs one invocation at a time; the warning is an artifact of running them in one process.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        self._server = _LoopbackServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self._clients = endpoint_clients(self.endpoint, self.region)
        self._set_env(
            {
                **CREDENTIALS,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_ENDPOINT_URL": self.endpoint,
                # moto's Step Functions interpreter calls the other services on this port
                "MOTO_PORT": str(port),
            }
        )
        _reset_handler_clients()
        self._post("/moto-api/reset", {})  # a fresh, empty AWS (backends are process-wide)
        self._post("/moto-api/config", EXECUTING_STEP_FUNCTIONS)
        custom_labels.REGISTRY.source = self.model_source
        outbox.install(self.home.outbox, self.on_mail)
        self.stack = EmbeddedStack.create(template, self.client, region=self.region)
        self.pipe = self.stack.pipe()
        self.pipe.retry_visibility_seconds = self.retry_visibility_seconds
        if self.run_pipe:
            for index in range(self.pipe_concurrency):
                thread = threading.Thread(target=self._pipe_loop, name=f"local-pipe-{index}", daemon=True)
                thread.start()
                self._pipe_threads.append(thread)
        self.home.write_stack(self.describe())
        return self

    def stop(self, *, timeout: float = 30.0) -> None:
        """Stop the Pipe after its current batch, then the server; restore the environment."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self._pipe_threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("the Pipe's current batch did not finish within %ss", timeout)
        self._pipe_threads.clear()
        if self._server is not None and self.stack is not None:
            self._save_results()
        if self._server is not None:
            self._server.stop()
            self._server = None
        outbox.uninstall()
        lambdas.FUNCTION_LOGS.uninstall()
        custom_labels.REGISTRY.source = None
        custom_labels.REGISTRY.versions.clear()
        if self._home_lock is not None:
            self.home.clear_stack(os.getpid())
            self._home_lock.release()
            self._home_lock = None
        if self.stack is not None:
            self.stack.close()  # the functions' environment, held since the stack was created
        self._restore_env()
        _reset_handler_clients()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- use -------------------------------------------------------------------------------
    @property
    def outputs(self) -> dict[str, str]:
        assert self.stack is not None, "start() first"
        return self.stack.outputs

    def client(self, service: str) -> Any:
        return self._clients(service)

    def describe(self) -> dict[str, Any]:
        """What ``labelwatch`` commands in other terminals need to reach this stack."""
        return {
            "endpoint": self.endpoint,
            "region": self.region,
            "pid": os.getpid(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "outputs": self.outputs,
            "modelArn": self.stack.detect_environment()["MODEL_ARN"] if self.stack else None,
            "outbox": str(self.home.outbox),
        }

    # --- internals -------------------------------------------------------------------------
    def _save_results(self) -> None:
        """Keep the results readable after the in-memory AWS is gone (``labelwatch.local.last_run``)."""
        from labelwatch.local import last_run

        try:
            last_run.save(self.home, self.client, self.outputs, self.endpoint)
        except Exception:  # saving is a convenience; stopping must not fail because of it
            log.exception("could not save the results of this run")

    def _pipe_loop(self) -> None:
        assert self.pipe is not None
        while not self._stopping.is_set():
            try:
                outcome = self.pipe.run_once(wait=True)
            except Exception as error:  # keep polling, like the Pipe service; say what happened
                self.pipe_errors.append(f"{type(error).__name__}: {error}")
                log.exception("local pipe batch failed")
                self._stopping.wait(1.0)
                continue
            if outcome is None:
                self._stopping.wait(self.pipe.poll_interval)
            elif self.on_batch:
                self.on_batch(outcome)

    def _post(self, path: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            f"{self.endpoint}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def _set_env(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def _restore_env(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()


class StackAlreadyRunning(RuntimeError):
    """Another local stack holds this home: its stack file and outbox would be overwritten."""


@dataclass
class HomeLock:
    """An exclusive ``flock`` on the home's lock file for as long as a stack runs on it.

    The kernel drops the lock when the process dies, so a crashed stack never blocks the next.
    """

    file: Any

    @classmethod
    def acquire(cls, home: Home) -> HomeLock:
        import fcntl

        home.root.mkdir(parents=True, exist_ok=True)
        file = home.lock_file.open("a+")
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.close()
            info = home.read_stack() or {}
            where = info.get("endpoint", "?").rsplit(":", 1)[-1]
            raise StackAlreadyRunning(
                f"a local stack is already running on {home.root}: at :{where}, pid {info.get('pid', '?')}"
            ) from None
        return cls(file)

    def release(self) -> None:
        import fcntl

        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


def check_port_free(host: str, port: int) -> None:
    """Raise OSError(EADDRINUSE) if ``port`` cannot be bound (0 always can: the OS picks one)."""
    import socket

    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as werkzeug binds
        probe.bind((host, port))


class _LoopbackServer(ThreadedMotoServer):
    """moto's threaded server; a port it cannot bind is an OSError from ``start()``, not a hang
    (werkzeug exits its thread on a busy port and moto would wait for it forever)."""

    def _server_entry(self) -> None:
        try:
            super()._server_entry()
        except BaseException as error:  # SystemExit from werkzeug, OSError
            self._start_error = error
            self._server_ready_event.set()

    def start(self) -> None:
        self._start_error: BaseException | None = None
        super().start()
        if self._server is None:
            raise OSError(98, f"cannot listen on {self._ip_address}:{self._port} ({self._start_error!r})")


def _reset_handler_clients() -> None:
    """The detect handler caches boto3 clients; a new endpoint needs new ones."""
    module = sys.modules.get("detect.clients")
    if module is not None:
        module.reset()


def wait_for(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
