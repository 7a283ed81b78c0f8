"""A process that execution environments are forked from, with botocore and Pillow already imported.

Started by ``forkserver.ForkServer`` as ``python zygote.py CONTROL_FD LIFELINE_FD`` (by path, like
``worker.py``). Standard library only, plus the modules of ``PRELOAD``, imported once here so that a
new environment does not import them again: every handler here imports botocore and Pillow, whose
import was ~0.15-0.3 s of processor per environment (about a hundred per test run). botocore and
Pillow read no environment variable at import (a botocore session reads them, made later, in the
environment), so the forked environment behaves as a fresh interpreter would; what it does not
pay is their import time, so its Init Duration and first invocation are shorter than Lambda's by
that (docs/twin.md). botocore's data files are parsed here too (``_warm_botocore``), so an
environment's first client does not parse them again.

Protocol on CONTROL_FD, a SOCK_SEQPACKET socket (one message per packet):
- in: ``{"env": {...}, "cwd": "...", "argv": [...]}`` with four file descriptors (the worker's
  request read end, response write end, lifeline read end, and its stdout/stderr);
- out: ``{"spawned": PID}`` after each fork, and ``{"exited": PID, "code": N}`` when a child ends
  (N as ``subprocess`` gives it: negative for a signal).
End of file on LIFELINE_FD (the parent never writes it) or on CONTROL_FD: the zygote exits.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import sys
import time

PRELOAD = (
    "botocore.session",
    "botocore.client",
    "botocore.config",
    "botocore.exceptions",
    "PIL.Image",
    "PIL.JpegImagePlugin",
    "PIL.PngImagePlugin",
)
MAX_MESSAGE = 1 << 20


def _preload() -> None:
    import importlib

    for name in PRELOAD:
        # a handler that needs a module this machine lacks imports it itself (and gets the error)
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


# the services the template's functions call (detect: s3, rekognition; the autopilot: the rest)
WARM_SERVICES = ("s3", "rekognition", "sqs", "pipes", "dynamodb")


def _warm_botocore() -> None:
    """Parse botocore's data files (service models, endpoint rules, partitions) once, here.

    Each environment's first client otherwise parses them again: ~0.2 s of processor per
    environment, the largest part of its first invocation. Every botocore session of a forked
    environment reads them through this one loader (as ``labelwatch.clients.boto3_session`` shares
    one in the twin's own process); a session given another data path gets its own loader. The
    models are read-only data: what a client does is unchanged, only when the files are parsed.
    """
    try:
        import botocore.loaders
        import botocore.session
    except ImportError:
        return
    loader = botocore.loaders.create_loader()
    original = botocore.session.create_loader

    def create_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
        return loader if search_path_string is None else original(search_path_string)

    botocore.session.create_loader = create_loader
    session = botocore.session.get_session()
    for service in WARM_SERVICES:
        with contextlib.suppress(Exception):  # a service this botocore lacks: the handler finds out
            session.create_client(
                service, region_name="us-east-1", aws_access_key_id="warm", aws_secret_access_key="warm"
            )


def _send(control: socket.socket, message: dict) -> None:
    with contextlib.suppress(OSError):  # the parent is gone: the lifeline ends this process
        control.send(json.dumps(message).encode())


def _reap(control: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send(control, {"exited": pid, "code": os.waitstatus_to_exitcode(status)})


def _become_worker(request: dict, fds: list[int], own_fds: list[int]) -> None:
    """In the forked child: the environment's process, then ``worker.main``. Never returns."""
    code = 1
    try:
        os.setsid()  # its own process group: a kill takes the handler's children too
        for fd in own_fds:
            os.close(fd)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        request_r, response_w, lifeline_r, output_w = fds
        os.dup2(output_w, 1)
        os.dup2(output_w, 2)
        os.close(output_w)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()
        os.chdir(request["cwd"])
        import worker

        argv = [worker.__file__, str(request_r), str(response_w), str(lifeline_r), *request["argv"]]
        sys.argv = argv
        worker.main(argv)
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def main(argv: list[str]) -> None:
    control_fd, lifeline = int(argv[1]), int(argv[2])
    control = socket.socket(fileno=control_fd)
    _preload()
    _warm_botocore()
    import worker  # noqa: F401  (this file's folder is sys.path[0]: the environments' runtime)

    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    own_fds = [control.fileno(), lifeline, wake_r, wake_w]
    while True:
        try:
            ready = select.select([control, wake_r, lifeline], [], [])[0]
        except InterruptedError:
            continue
        if lifeline in ready:
            os._exit(0)
        if wake_r in ready:
            os.read(wake_r, 4096)
            _reap(control)
        if control in ready:
            try:
                data, fds, _flags, _address = socket.recv_fds(control, MAX_MESSAGE, 8)
            except OSError:
                os._exit(0)
            if not data:
                os._exit(0)
            pid = os.fork()
            if pid == 0:
                _become_worker(json.loads(data), fds, own_fds)
            for fd in fds:
                os.close(fd)
            _send(control, {"spawned": pid})
            _reap(control)


if __name__ == "__main__":
    main(sys.argv)
