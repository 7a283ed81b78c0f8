"""The results table's columns (infra/results_schema.py) as `labelwatch query` and Athena see them."""

from __future__ import annotations

import json

from infra.results_schema import RESULT_COLUMNS
from labelwatch.analytics.local_query import LocalQueryEngine
from labelwatch.analytics.results_source import ResultObject


def _result_object(**record) -> ResultObject:
    base = {"image": "s3://in/leaf.webp", "bucket": "in", "key": "leaf.webp", "status": "ok"}
    return ResultObject(
        key="results/dt=2026-11-25/3f2a.json", body=(json.dumps({**base, **record}) + "\n").encode()
    )


def test_normalised_is_a_column_of_the_results():
    """The README promises the result says what was done to an image; `SELECT normalised` must answer."""
    assert ("normalised", "string") in [(name, type_) for name, type_, _comment in RESULT_COLUMNS]
    objects = [
        _result_object(label="leaf-smut", normalised="webp→jpeg, rotated 90°"),
        _result_object(key="as-sent.jpg", label="leaf-smut"),
    ]
    with LocalQueryEngine(objects) as engine:
        rows = engine.run("SELECT key, normalised FROM results ORDER BY key").rows
    assert rows == [("as-sent.jpg", None), ("leaf.webp", "webp→jpeg, rotated 90°")]
