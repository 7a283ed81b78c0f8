"""boto3 clients by service name, created once per service and shared between threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def client_factory(session: Any, **client_kwargs: Any) -> Callable[[str], Any]:
    """``client("s3")`` etc. from ``session``, each service's client made once (boto3's session is
    not safe for concurrent client creation, hence the lock)."""
    clients: dict[str, Any] = {}
    lock = threading.Lock()

    def client(service: str) -> Any:
        with lock:
            if service not in clients:
                clients[service] = session.client(service, **client_kwargs)
            return clients[service]

    return client
