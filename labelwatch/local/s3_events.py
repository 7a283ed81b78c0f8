"""Make moto's S3 → EventBridge "Object Created" events look like AWS's.

moto sends the key unencoded, a fixed sequencer, a numeric ``time`` and ``eTag``. AWS sends the
key URL-encoded like S3 notifications (space → '+', '+' → '%2B', non-ASCII percent-encoded),
a sequencer that grows with every event on a key, ISO 8601 ``time`` and ``etag``. The
workflow's correctness (decoding keys, idempotency per sequencer) depends on exactly these.
"""

from __future__ import annotations

import copy
import inspect
import itertools
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from moto.s3 import notifications

from labelwatch.local.patching import Patch

_original = notifications._send_event_bridge_message
_counter = itertools.count(int(datetime.now(UTC).timestamp() * 1000) << 8)
_lock = threading.Lock()


def encode_key(key: str) -> str:
    """S3's event encoding of an object key."""
    return quote_plus(key, safe="/~-_.")


def next_sequencer() -> str:
    with _lock:
        return f"{next(_counter):018X}"


def object_created_event(
    *,
    account_id: str,
    region: str,
    bucket: str,
    key: str,
    size: int,
    etag: str,
    version_id: str | None,
    reason: str = "PutObject",
) -> dict[str, Any]:
    obj: dict[str, Any] = {"key": encode_key(key), "size": size, "etag": etag, "sequencer": next_sequencer()}
    if version_id and version_id != "null":
        obj["version-id"] = version_id
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": account_id,
        # moto's EventBridge turns a numeric time into AWS's ISO 8601 form on delivery.
        "time": datetime.now(UTC).timestamp(),
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": obj,
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": account_id,
            "source-ip-address": "127.0.0.1",
            "reason": reason,
        },
    }


def patches(deliveries: Callable[[], int]) -> list[Patch]:
    """AWS's "Object Created" events; each delivered ``deliveries()`` times.

    EventBridge delivers at least once: faults raise the count to deliver every event more than
    once (same event: same id, key, version and sequencer), to prove duplicates are absorbed.
    """

    def send(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
        if "ObjectCreated" not in event_name:
            return _original(account_id, bucket, event_name, key)
        from moto.events.models import events_backends

        event = object_created_event(
            account_id=account_id,
            region=bucket.region_name,
            bucket=bucket.name,
            key=key.name,
            size=key.size,
            etag=key.etag.replace('"', ""),
            version_id=key.version_id,
            reason=event_name.split(":")[-1],
        )
        backend = events_backends[account_id][bucket.region_name]
        for _ in range(deliveries()):
            for event_bus in list(backend.event_buses.values()):
                for rule in list(event_bus.rules.values()):
                    rule.send_to_targets(copy.deepcopy(event), transform_input=False)

    return [
        Patch(notifications, "_send_event_bridge_message", send, signature=str(inspect.signature(_original)))
    ]
