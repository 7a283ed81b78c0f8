"""boto3 clients by service name, created once per service and shared between threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


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
