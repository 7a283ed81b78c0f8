"""boto3 clients by service name, created once per service and shared between threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_shared_loader: Any = None
_loader_lock = threading.Lock()


def boto3_session(**kwargs: Any) -> Any:
    """A boto3 session that reads botocore's service models through one loader per process.

    Each new session otherwise loads and parses the JSON models again (about 50 ms per client); the
    twin makes sessions per start and per role, so the tests paid it for every stack. The models
    are read-only data, so sharing the loader's cache changes nothing else.
    """
    import boto3
    import botocore.loaders

    global _shared_loader
    with _loader_lock:
        if _shared_loader is None:
            _shared_loader = botocore.loaders.create_loader()
    session = boto3.session.Session(**kwargs)
    session._session.register_component("data_loader", _shared_loader)
    return session


def client_factory(
    session: Any, *, prepare: Callable[[Any], Any] | None = None, **client_kwargs: Any
) -> Callable[[str], Any]:
    """``client("s3")`` etc. from ``session``, each service's client made once (boto3's session is
    not safe for concurrent client creation, hence the lock); ``prepare(client)`` on each new one."""
    clients: dict[str, Any] = {}
    lock = threading.Lock()

    def client(service: str) -> Any:
        with lock:
            if service not in clients:
                made = session.client(service, **client_kwargs)
                clients[service] = prepare(made) if prepare is not None else made
            return clients[service]

    return client
