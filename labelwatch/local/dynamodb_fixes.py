"""Make moto's DynamoDB conditional writes atomic, as DynamoDB's are.

A conditional write (``PutItem`` with ``attribute_not_exists(pk)``, the workflow's claim) checks
the condition and then writes. moto does the two steps without a lock, and its server answers
requests on concurrent threads, so two deliveries of one upload event claiming at the same time
could both pass the check and both go on to alert: the soak saw one image e-mailed twice. On AWS
a conditional write is atomic per item. Here every write to DynamoDB is serialised, which is
atomic per item and more; the embedded stack's write rate is tiny.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

from labelwatch.local.patching import Patch

WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
_lock = threading.RLock()
_originals: dict[str, Callable[..., Any]] = {name: getattr(DynamoDBBackend, name) for name in WRITES}


def _atomic(write: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(write)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return write(*args, **kwargs)

    return locked


def patches() -> list[Patch]:
    return [
        Patch(DynamoDBBackend, name, _atomic(original), signature=str(inspect.signature(original)))
        for name, original in _originals.items()
    ]
