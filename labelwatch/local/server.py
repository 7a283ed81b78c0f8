"""The embedded AWS on loopback: moto's server in this process, the stack, and the Pipe's loop.

One process holds everything, so the in-process runtimes (Lambda handlers, the Custom Labels
stand-in, the S3 event fixes, the outbox) act on the same moto backends the server answers from.
Anything that speaks AWS (boto3, ``aws --endpoint-url``) can use the endpoint; the handlers reach
it through ``AWS_ENDPOINT_URL`` like any other program.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from labelwatch.local.defaults import DEFAULT_START_DELAY_SECONDS
from labelwatch.local.endpoint import DEFAULT_REGION
from labelwatch.local.home import Home
from labelwatch.local.template import synth_template

if TYPE_CHECKING:  # moto is imported when a stack starts, so a refusal (stack running) is immediate
    from labelwatch.local import custom_labels, outbox
    from labelwatch.local.clock import TwinClock
    from labelwatch.local.embedded import EmbeddedStack
    from labelwatch.local.emulator import Emulator
    from labelwatch.local.pipe import BatchOutcome, LocalPipe
    from labelwatch.local.scheduler import LocalScheduler

log = logging.getLogger(__name__)
PIPE_STATE_POLL_SECONDS = 0.1  # how often a stopped Pipe's pollers look whether it was started


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
    retry_wait_scale: float = 1.0  # see RetryWaits: the Retry policies' waits, compressed below 1
    model_start_seconds: float = DEFAULT_START_DELAY_SECONDS  # STARTING → RUNNING (AWS: 10-30 minutes)
    strict: bool = True  # False (`local up --permissive`): what AWS would refuse is logged, not refused
    template: dict[str, Any] | None = None  # a synthesized template to run instead of synthesizing one
    # The model autopilot's clock (TwinClock): twin seconds per real second; 60 makes its minute a second
    time_scale: float = 1.0
    time_start: float | None = None  # the twin clock's epoch seconds at the start (default: now)
    run_autopilot: bool = True  # run the template's schedules (the autopilot) on the clock

    emulator: Emulator | None = None
    stack: EmbeddedStack | None = None
    pipe: LocalPipe | None = None
    clock: TwinClock | None = None
    scheduler: LocalScheduler | None = None  # the autopilot's minute, on ``clock``
    digests: LocalScheduler | None = None  # flood control's digests, on real time (upload times are)
    _home_lock: HomeLock | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _pipe_threads: list[threading.Thread] = field(default_factory=list)
    pipe_errors: list[str] = field(default_factory=list)

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> LocalStack:
        self._home_lock = HomeLock.acquire(self.home)  # one running stack per home, or refuse (untouched)
        try:
            return self._start()
        except BaseException:
            if self.emulator is not None:
                self.stop()
            else:  # nothing was installed yet (a synth error, a busy port)
                self._home_lock.release()
                self._home_lock = None
            raise

    def _start(self) -> LocalStack:
        # first, so a synth error leaves nothing running
        template = self.template if self.template is not None else synth_template(self.context)
        check_port_free(self.host, self.port)  # before the Emulator patches anything
        from labelwatch.local.clock import TwinClock
        from labelwatch.local.emulator import Emulator

        self.clock = TwinClock(self.time_scale, start=self.time_start)
        emulator = Emulator(
            region=self.region, host=self.host, port=self.port, strict=self.strict, log_dir=self.home.logs
        )
        emulator.retry_waits.scale = self.retry_wait_scale
        emulator.models.start_delay_seconds = self.model_start_seconds
        emulator.models.source = self.model_source
        emulator.models.clock = self.clock.now
        emulator.models.on_change = lambda _models: self._write_usage()
        emulator.outbox.directory = self.home.outbox
        emulator.outbox.listeners = [self.on_mail] if self.on_mail else []
        self.emulator = emulator.start()
        self.stack = emulator.deploy(template)
        self.pipe = self.stack.pipe()
        self.pipe.retry_visibility_seconds = self.retry_visibility_seconds
        self.pipe.stopping = self._stopping
        if self.run_pipe:
            for index in range(self.pipe_concurrency):
                thread = threading.Thread(target=self._pipe_loop, name=f"local-pipe-{index}", daemon=True)
                thread.start()
                self._pipe_threads.append(thread)
        autopilot = self.stack.schedule_of("AutopilotFunctionName")
        if self.run_autopilot and autopilot is not None:
            self.scheduler = self.stack.scheduler(self.clock, [autopilot]).start()
        digest = self.stack.schedule_of("DigestFunctionName")
        if self.run_pipe and digest is not None:
            from labelwatch.local.clock import TwinClock as RealTime  # no moto: imported here as it runs

            self.digests = self.stack.scheduler(RealTime(), [digest]).start()
        self.home.write_stack(self.describe())
        self._write_usage()
        return self

    def stop(self, *, timeout: float = 30.0) -> None:
        """Stop the Pipe after its current batch, then the embedded AWS; restore the environment."""
        self._stopping.set()
        if self.scheduler is not None:
            self.scheduler.stop(timeout)  # no further autopilot minute
        if self.digests is not None:
            self.digests.stop(timeout)
        if self.emulator is not None:
            self.emulator.queue_waits.end()  # a Pipe waiting for messages returns now
        deadline = time.monotonic() + timeout
        for thread in self._pipe_threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("the Pipe's current batch did not finish within %ss", timeout)
        self._pipe_threads.clear()
        if self.emulator is not None and self.emulator.running and self.stack is not None:
            self._save_results()
            self._write_usage(running=False)
        if self.emulator is not None:
            self.emulator.stop()
        if self._home_lock is not None:
            self.home.clear_stack(os.getpid())
            self._home_lock.release()
            self._home_lock = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- use -------------------------------------------------------------------------------
    @property
    def outputs(self) -> dict[str, str]:
        assert self.stack is not None, "start() first"
        return self.stack.outputs

    @property
    def endpoint(self) -> str:
        return self.emulator.endpoint if self.emulator is not None else ""

    def client(self, service: str) -> Any:
        assert self.emulator is not None, "start() first"
        return self.emulator.client(service)

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
            "clock": self.clock.state() if self.clock else None,
            "timeCompression": self.clock.describe() if self.clock else None,
        }

    # --- internals -------------------------------------------------------------------------
    def _save_results(self) -> None:
        """Keep the results readable after the in-memory AWS is gone (``labelwatch.local.last_run``)."""
        from labelwatch.local import last_run

        try:
            last_run.save(self.home, self.client, self.outputs, self.endpoint)
        except Exception:  # saving is a convenience; stopping must not fail because of it
            log.exception("could not save the results of this run")

    def _write_usage(self, *, running: bool = True) -> None:
        """The stand-in's meter, for `labelwatch model usage` (in another process, or after the stop:
        ``running`` False, and the meter stops where the stack did)."""
        if self.emulator is None or self.clock is None:
            return
        try:
            usage = {"clock": self.clock.state(), "compression": self.clock.describe(), "running": running}
            self.home.write_usage({**usage, "versions": self.emulator.models.usage()})
        except OSError:  # the meter file is a convenience; the model's state must not fail on it
            log.exception("could not write the model's usage")

    def _pipe_loop(self) -> None:
        assert self.pipe is not None
        while not self._stopping.is_set():
            if not self.pipe.receiving():  # stopped (StopPipe, the autopilot): nothing is received
                self._stopping.wait(PIPE_STATE_POLL_SECONDS)
                continue
            try:
                outcome = self.pipe.run_once(wait=True)
            except Exception as error:  # keep polling, like the Pipe service; say what happened
                if self._stopping.is_set():
                    break  # the twin went away under a receive: nothing of this stack is left to do
                self.pipe_errors.append(f"{type(error).__name__}: {error}")
                log.exception("local pipe batch failed")
                self._stopping.wait(1.0)
                continue
            if outcome is None:
                self._stopping.wait(self.pipe.poll_interval)
            elif self.on_batch:
                self.on_batch(outcome)


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


def wait_for(predicate: Callable[[], bool], *, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
