"""Start execution environments by forking ``zygote.py`` (botocore and Pillow imported) instead of
starting an interpreter each time; ``ProcessHandle`` is what ``subprocess.Popen`` was to a worker.

One zygote per process, started on first use and shared by every ``FunctionRuntimes`` (the env of
each environment is sent with the request, so nothing of one stack reaches another). If it cannot
be started or dies, ``spawn`` answers None and the caller starts the interpreter itself.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

ZYGOTE_SCRIPT = Path(__file__).with_name("zygote.py")
_SPAWN_TIMEOUT_S = 30.0


class ProcessHandle:
    """A forked environment: its pid, and its exit status once the zygote reports it."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._exited = threading.Event()

    def _ended(self, code: int) -> None:
        self.returncode = code
        self._exited.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._exited.wait(timeout):
            raise subprocess.TimeoutExpired(f"environment {self.pid}", timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:  # not yet reaped: the pid is still this process's
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, signal.SIGKILL)


class ForkServer:
    def __init__(self) -> None:
        self.owner = os.getpid()  # the process whose zygote this is
        self._lock = threading.Lock()  # one spawn at a time: its answer is the next "spawned"
        self._answer: list[int] = []
        self._answered = threading.Condition()
        self._handles: dict[int, ProcessHandle] = {}
        self._early_exits: dict[int, int] = {}
        self._process: subprocess.Popen | None = None
        self._control: socket.socket | None = None
        self._lifeline_w: int | None = None
        self._broken = False

    def spawn(self, env: dict[str, str], cwd: str, argv: list[str], fds: list[int]) -> ProcessHandle | None:
        """A new environment with ``fds`` (request read, response write, lifeline read, output),
        or None when no zygote can serve (the caller starts an interpreter instead)."""
        with self._lock:
            if not self._ready():
                return None
            assert self._control is not None
            message = json.dumps({"env": env, "cwd": cwd, "argv": argv}).encode()
            try:
                socket.send_fds(self._control, [message], fds)
            except OSError:
                self._break()
                return None
            with self._answered:
                if not self._answered.wait_for(lambda: self._answer or self._broken, _SPAWN_TIMEOUT_S):
                    self._break()
                    return None
                if not self._answer:
                    return None
                pid = self._answer.pop(0)
                handle = self._handles[pid] = ProcessHandle(pid)
                if pid in self._early_exits:  # it ended before its "spawned" was read
                    handle._ended(self._early_exits.pop(pid))
                return handle

    def _ready(self) -> bool:
        if self._broken:
            return False
        if self._process is not None and self._process.poll() is None:
            return True
        if self._process is not None:  # it died: do not try again in this process
            self._break()
            return False
        return self._start()

    def _start(self) -> bool:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        lifeline_r, lifeline_w = os.pipe()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONUNBUFFERED": "1",  # the environments' prints reach their log as they happen
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
        }
        try:
            self._process = subprocess.Popen(
                [sys.executable, str(ZYGOTE_SCRIPT), str(child.fileno()), str(lifeline_r)],
                env=env,
                stdin=subprocess.DEVNULL,
                pass_fds=(child.fileno(), lifeline_r),
                start_new_session=True,
            )
        except OSError:
            parent.close()
            os.close(lifeline_w)
            self._broken = True
            return False
        finally:
            child.close()
            os.close(lifeline_r)
        self._control, self._lifeline_w = parent, lifeline_w
        threading.Thread(target=self._read, name="lambda-zygote", daemon=True).start()
        atexit.register(self.close)
        return True

    def _read(self) -> None:
        control = self._control
        assert control is not None
        while True:
            try:
                data = control.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                self._break()
                return
            message = json.loads(data)
            if "spawned" in message:
                with self._answered:
                    self._answer.append(message["spawned"])
                    self._answered.notify_all()
            elif "exited" in message:
                with self._answered:
                    handle = self._handles.pop(message["exited"], None)
                    if handle is None:
                        self._early_exits[message["exited"]] = message["code"]
                if handle is not None:
                    handle._ended(message["code"])

    def _break(self) -> None:
        """No more spawns here; environments already forked live on, their exits unknown (-9)."""
        with self._answered:
            self._broken = True
            handles, self._handles = list(self._handles.values()), {}
            self._answered.notify_all()
        for handle in handles:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(handle.pid, signal.SIGKILL)
            handle._ended(-signal.SIGKILL)

    def close(self) -> None:
        if self._lifeline_w is not None:
            with contextlib.suppress(OSError):
                os.close(self._lifeline_w)
            self._lifeline_w = None
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(5)


_shared: ForkServer | None = None
_shared_lock = threading.Lock()


def shared() -> ForkServer:
    """This process's fork server (started on first spawn; a forked child gets a fresh one)."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.owner != os.getpid():
            _shared = ForkServer()
        return _shared
