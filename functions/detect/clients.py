"""AWS clients, created on first use and reused across invocations.

botocore clients from one botocore session (boto3 adds nothing these calls use, and its import
with s3transfer's is ~40-80 ms more); botocore itself is imported on the first ``get``, not with the
handler, so it is not part of the Init Duration. Endpoints and credentials come from botocore's
defaults, so ``AWS_ENDPOINT_URL`` (the embedded stack) redirects them. Each client's calls are
X-Ray subsegments when the invocation is traced (``tracing.instrument``).
Tests inject fakes with ``override`` and start clean with ``reset``.
"""

from __future__ import annotations

import threading
from typing import Any

from . import tracing

# name → (service, botocore Config arguments)
_FACTORIES: dict[str, tuple[str, dict[str, Any]]] = {
    "s3": ("s3", {}),
    # No SDK retries: throttling surfaces as DetectorThrottled at once and Step Functions retries
    # it with backoff and jitter, visible in the execution history, without burning Lambda time.
    "rekognition": ("rekognition", {"retries": {"mode": "standard", "total_max_attempts": 1}}),
    # presigned links: SigV4 explicitly (SigV2 links are refused in most regions)
    "s3-presign": ("s3", {"signature_version": "s3v4"}),
}
_cache: dict[str, Any] = {}
_lock = threading.Lock()  # a botocore session is not safe for concurrent client creation
_session: Any = None


def _create(name: str) -> Any:
    global _session
    from botocore.config import Config
    from botocore.session import get_session

    if _session is None:
        _session = get_session()
    service, config = _FACTORIES[name]
    return tracing.instrument(_session.create_client(service, config=Config(**config) if config else None))


def get(name: str) -> Any:
    client = _cache.get(name)
    if client is None:
        with _lock:
            client = _cache.get(name)
            if client is None:
                client = _cache[name] = _create(name)
    return client


def override(**clients: Any) -> None:
    """Use the given clients (keys: s3, rekognition, s3_presign) instead of creating them."""
    for name, client in clients.items():
        key = name.replace("_", "-")
        if key not in _FACTORIES:
            raise KeyError(f"unknown client {name!r}")
        _cache[key] = client


def reset() -> None:
    """Forget the clients and the session (credentials and endpoint are read again)."""
    global _session
    with _lock:
        _cache.clear()
        _session = None
