"""Make moto's DynamoDB conditional writes atomic, as DynamoDB's are.

A conditional write (``PutItem`` with ``attribute_not_exists(pk)``, the workflow's claim) checks
the condition and then writes. moto does the two steps without a lock, and its server answers
requests on concurrent threads, so two deliveries of one upload event claiming at the same time
could both pass the check and both go on to alert: the soak saw one image e-mailed twice. On AWS
a conditional write is atomic per item. Here every write to DynamoDB is serialised, which is
atomic per item and more; the embedded stack's write rate is tiny.

moto also parses an UpdateItem's UpdateExpression twice per call (~0.8 ms each, pure Python): the
workflow's claim and completion are UpdateItems with the same two expressions every time. Parsed
expressions are kept per string (``UpdateExpressionParser.make``): moto only reads the tree it
returns (``find_clauses``) or deep-copies it before validating and executing it. Expressions that do
not parse are not kept and raise as before.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.parsing.expressions import UpdateExpressionParser

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


_original_make = UpdateExpressionParser.make  # a bound classmethod


@functools.lru_cache(maxsize=256)
def parsed_update_expression(expression: str) -> Any:
    """``UpdateExpressionParser.make(expression)``, once per expression string."""
    return _original_make(expression)


def patches() -> list[Patch]:
    return [
        *(
            Patch(DynamoDBBackend, name, _atomic(original), signature=str(inspect.signature(original)))
            for name, original in _originals.items()
        ),
        Patch(
            UpdateExpressionParser,
            "make",
            classmethod(lambda _cls, expression_str: parsed_update_expression(expression_str)),
            signature="(cls, expression_str) -> moto.dynamodb.parsing.ast_nodes.UpdateExpression",
        ),
    ]
