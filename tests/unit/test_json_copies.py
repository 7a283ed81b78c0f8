"""The twin's copy of Step Functions data is a deep copy, as moto's ``copy.deepcopy`` was."""

from __future__ import annotations

import copy
import datetime

from labelwatch.local.json_copies import copy_with_json_deepcopy, json_copy


def test_json_data_is_copied_equal_and_independent_at_every_level():
    value = {"detection": {"labels": [{"Name": "leaf-smut", "Confidence": 91.5}], "alert": True}, "n": None}
    copied = json_copy(value)
    assert copied == copy.deepcopy(value)
    copied["detection"]["labels"][0]["Name"] = "changed"
    copied["detection"]["labels"].append({})
    assert value["detection"]["labels"] == [{"Name": "leaf-smut", "Confidence": 91.5}]


def test_other_values_inside_are_deep_copied_as_before():
    when = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
    nested = {"at": when, "tuple": (1, [2])}
    copied = json_copy(nested)
    assert copied == nested and copied["tuple"][1] is not nested["tuple"][1]
    assert copy_with_json_deepcopy.copy is copy.copy, "the rest of the copy module is unchanged"
