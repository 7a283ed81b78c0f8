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

Validating an UpdateItem was the twin's most expensive call (~9 ms of processor, twice per image:
the claim and its completion). These changes make it cheaper without changing what it accepts:

- Three of the validator's ten passes check only the expression's shape (one SET/ADD/REMOVE
  clause each, no overlapping paths, no key attribute updated): given the same parsed expression,
  attribute names and table keys they always decide the same. A shape that passed is not checked
  again; one that failed is checked (and fails) every time.
- Every pass asked its ``_processing_map()`` (a new dict of bound methods) twice per tree node;
  the map never changes for a pass, so each pass builds it once.
- Each validation starts from a deep copy of the parsed expression; a kept parse is copied by
  unpickling a pickle of it made once (a new, independent tree, ~6 times faster than deepcopy).
  Anything else is deep-copied as before.
- A ConditionExpression is lexed (a regex per pattern per token) on every call; the tokens depend
  on the expression's text alone, so they are kept per text and handed out as new nodes (with
  their own empty child lists) each time. Text that does not lex is not kept and raises as before.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import pickle
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.parsing import validators
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser
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


# What the twin keeps on a parse tree of the cache (as attributes no copy of it carries: the pickle is
# made before they are set, and copies are made from the pickle).
_PICKLE = "_labelwatch_pickle"  # the tree, pickled once
_SHAPES_PASSED = "_labelwatch_shapes_passed"  # (attribute names, key attributes) whose shape passed


@functools.lru_cache(maxsize=256)
def parsed_update_expression(expression: str) -> Any:
    """``UpdateExpressionParser.make(expression)``, once per expression string."""
    tree = _original_make(expression)
    with contextlib.suppress(pickle.PicklingError, TypeError, AttributeError):  # then deep-copied
        setattr(tree, _PICKLE, pickle.dumps(tree, protocol=pickle.HIGHEST_PROTOCOL))
    return tree


def _copy_of_tree(tree: Any, memo: dict[int, Any] | None = None) -> Any:
    pickled = getattr(tree, _PICKLE, None)
    if pickled is not None:
        return pickle.loads(pickled)
    return copy.deepcopy(tree, memo)


SHAPE_PASSES = (
    validators.ActionCountValidator,
    validators.OverlappingPathsValidator,
    validators.UpdateHashRangeKeyValidator,
)
_original_validator_init = validators.UpdateExpressionValidator.__init__
_original_validate = validators.Validator.validate


def _validator_init(
    self: Any,
    expression: Any,
    expression_attribute_names: Any,
    expression_attribute_values: Any,
    item: Any,
    table: Any,
) -> None:
    _original_validator_init(
        self, expression, expression_attribute_names, expression_attribute_values, item, table
    )
    shape = (tuple(sorted((expression_attribute_names or {}).items())), tuple(table.table_key_attrs))
    if shape in getattr(expression, _SHAPES_PASSED, ()):
        self.processors = [p for p in self.processors if not isinstance(p, SHAPE_PASSES)]
        self._labelwatch_shape = None
    else:
        self._labelwatch_shape = (expression, shape)


def _validate(self: Any) -> Any:
    validated = _original_validate(self)
    kept = getattr(self, "_labelwatch_shape", None)
    if kept is not None:
        expression, shape = kept
        passed = getattr(expression, _SHAPES_PASSED, None)
        if passed is None:
            passed = set()
            setattr(expression, _SHAPES_PASSED, passed)
        passed.add(shape)
    return validated


def _processing_map_once(traverser: Any) -> dict[type, Callable[[Any], Any]]:
    cached = traverser.__dict__.get("_labelwatch_map")
    if cached is None:
        cached = traverser.__dict__["_labelwatch_map"] = traverser._processing_map()
    return cached


def _nodes_to_be_processed(self: Any) -> tuple[type, ...]:
    return tuple(_processing_map_once(self))


def _process(self: Any, node: Any) -> Any:
    for class_key, processor in _processing_map_once(self).items():
        if isinstance(node, class_key):
            return processor(node)
    return None


_original_lex = ConditionExpressionParser._lex_condition_expression


@functools.lru_cache(maxsize=256)
def _condition_tokens(parser_class: type, expression: str) -> tuple[tuple[str, str, str, str], ...]:
    lexer = parser_class.__new__(parser_class)
    lexer.condition_expression = expression
    return tuple((n.nonterminal, n.kind, n.text, n.value) for n in _original_lex(lexer))


def _lex_condition_expression(self: Any) -> deque[Any]:
    tokens = _condition_tokens(type(self), self.condition_expression)
    return deque(self.Node(nonterminal, kind, text, value, []) for nonterminal, kind, text, value in tokens)


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
        Patch(
            validators.UpdateExpressionValidator,
            "__init__",
            _validator_init,
            signature=(
                "(self, expression: moto.dynamodb.parsing.ast_nodes.Node, expression_attribute_names:"
                " dict[str, str], expression_attribute_values: dict[str, dict[str, typing.Any]], item:"
                " moto.dynamodb.models.dynamo_type.Item, table: moto.dynamodb.models.table.Table)"
            ),
        ),
        Patch(
            validators.UpdateExpressionValidator,
            "validate",
            _validate,
            signature="(self) -> moto.dynamodb.parsing.ast_nodes.Node",
        ),
        Patch(validators, "deepcopy", _copy_of_tree, signature="(x, memo=None, _nil=[])"),
        Patch(DepthFirstTraverser, "nodes_to_be_processed", _nodes_to_be_processed, signature="(self)"),
        Patch(DepthFirstTraverser, "process", _process, signature="(self, node)"),
        Patch(
            ConditionExpressionParser,
            "_lex_condition_expression",
            _lex_condition_expression,
            signature="(self) -> 'deque[Node]'",
        ),
    ]
