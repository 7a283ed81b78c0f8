"""boto3 clients by service name, created once per service and shared between threads."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

_shared_loader: Any = None
_sessions: OrderedDict[tuple[tuple[str, Any], ...], Any] = OrderedDict()
_KEPT_SESSIONS = 32  # sessions by their arguments: the twin's administrator, its roles' sessions
_lock = threading.RLock()  # a boto3 session is not safe for concurrent client creation: one at a time


def boto3_session(**kwargs: Any) -> Any:
    """A boto3 session for these arguments, reading botocore's models through one loader per process.

    Each new session otherwise loads and parses the JSON models again (about 50 ms per client), and
    registers botocore's built-in handlers (about 30 ms); the twin makes sessions per start and
    per role, so the tests paid it for every stack. The models are read-only data, and a session
    given the same credentials and region is the same session, so sharing them changes nothing
    else. A shared session is not safe for concurrent client creation: create its clients with
    ``client_factory`` or ``new_client``, which hold this module's lock.
    """
    import boto3

    # Only a session given its credentials is shared: one without reads them from the environment
    # (or a profile) when first used, and a later caller may have another environment.
    key = tuple(sorted(kwargs.items())) if kwargs.get("aws_access_key_id") else None
    with _lock:
        if key is not None and key in _sessions:
            _sessions.move_to_end(key)
            return _sessions[key]
        session = boto3.session.Session(**kwargs)
        session._session.register_component("data_loader", shared_loader())
        if key is not None:
            _sessions[key] = session
            while len(_sessions) > _KEPT_SESSIONS:
                _sessions.popitem(last=False)
        return session


def shared_loader() -> Any:
    """The process's one botocore data loader (it caches every model file it has parsed)."""
    import botocore.loaders

    global _shared_loader
    with _lock:
        if _shared_loader is None:
            _shared_loader = botocore.loaders.create_loader()
        return _shared_loader


def client_factory(
    session: Any, *, prepare: Callable[[Any], Any] | None = None, **client_kwargs: Any
) -> Callable[[str], Any]:
    """``client("s3")`` etc. from ``session``, each service's client made once (under the module's
    lock: sessions are shared and not safe for concurrent client creation); ``prepare(client)`` on
    each new one."""
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        made = clients.get(service)
        if made is not None:
            return made
        with _lock:
            if service not in clients:
                made = new_client(session, service, **client_kwargs)
                clients[service] = prepare(made) if prepare is not None else made
            return clients[service]

    return client


def new_client(session: Any, service: str, **client_kwargs: Any) -> Any:
    """``session.client(service, ...)`` under the module's lock (sessions here are shared)."""
    with _lock:
        return session.client(service, **client_kwargs)
