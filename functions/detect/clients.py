"""boto3 clients, created on first use and reused across invocations.

Endpoints and credentials come from boto3's defaults, so ``AWS_ENDPOINT_URL`` (the embedded stack)
redirects them.
Tests inject fakes with ``override`` and start clean with ``reset``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

_FACTORIES: dict[str, Callable[[], Any]] = {
    "s3": lambda: boto3.client("s3"),
    # No SDK retries: throttling surfaces as DetectorThrottled at once and Step Functions retries
    # it with backoff and jitter, visible in the execution history, without burning Lambda time.
    "rekognition": lambda: boto3.client(
        "rekognition", config=Config(retries={"mode": "standard", "total_max_attempts": 1})
    ),
    # presigned links: SigV4 explicitly (SigV2 links are refused in most regions)
    "s3-presign": lambda: boto3.client("s3", config=Config(signature_version="s3v4")),
}
_cache: dict[str, Any] = {}
_lock = threading.Lock()  # boto3's default session is not safe for concurrent client creation


def get(name: str) -> Any:
    client = _cache.get(name)
    if client is None:
        with _lock:
            client = _cache.get(name)
            if client is None:
                client = _cache[name] = _FACTORIES[name]()
    return client


def override(**clients: Any) -> None:
    """Use the given clients (keys: s3, rekognition, s3_presign) instead of creating them."""
    for name, client in clients.items():
        key = name.replace("_", "-")
        if key not in _FACTORIES:
            raise KeyError(f"unknown client {name!r}")
        _cache[key] = client


def reset() -> None:
    _cache.clear()
