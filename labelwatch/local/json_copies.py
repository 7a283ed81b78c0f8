"""Deep copies of Step Functions data without ``copy.deepcopy``'s bookkeeping.

moto's interpreter deep-copies a state's input, its result, its error output, the context object
and the program state at every state (``copy.deepcopy``: a memo dict and a dispatch per value),
~7 % of the twin's processor per image. That data is JSON (dicts, lists, strings, numbers,
booleans, null) made by parsing or by the interpreter, with no cycles, so a copy per container is
the same copy. Any other value inside is deep-copied as before.
"""

from __future__ import annotations

import copy
import types
from typing import Any

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service
from moto.stepfunctions.parser.asl.eval import environment, states

from labelwatch.local.patching import Patch

_SCALARS = (str, int, float, bool, type(None))


def json_copy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """``copy.deepcopy(value)`` for JSON data (fresh dicts and lists all the way down)."""
    kind = type(value)
    if kind is dict:
        return {key: json_copy(item) for key, item in value.items()}
    if kind is list:
        return [json_copy(item) for item in value]
    if kind in _SCALARS:
        return value
    return copy.deepcopy(value, memo)


# What the three modules see as ``copy``: the copy module, with json_copy as its deepcopy.
copy_with_json_deepcopy = types.SimpleNamespace(**{**vars(copy), "deepcopy": json_copy})


def patches() -> list[Patch]:
    return [
        Patch(module, "copy", copy_with_json_deepcopy) for module in (states, environment, state_task_service)
    ]
