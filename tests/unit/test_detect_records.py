"""Result records: the NDJSON lines Athena reads (README, "Result records")."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from detect.labels import Label
from detect.records import build_records, to_ndjson
from detect.rules import parse_label_rules

from infra.results_schema import RESULT_COLUMNS
from tests.unit.factories import BUCKET, EXECUTION, MODEL_ARN

# The Glue table's columns, in order: every record has exactly these fields (one contract, two readers)
FIELDS = [name for name, _type, _comment in RESULT_COLUMNS]
RULES = parse_label_rules('{"leaf-smut": 80}')
BOX = {"Width": 0.5, "Height": 0.25, "Left": 0.1, "Top": 0.3}


def lines(
    labels, *, status="ok", reason=None, width=100, height=80, normalised=None, version_id="v-3", fmt="jpeg"
):
    records = build_records(
        bucket=BUCKET,
        key="leaves/my photoé.jpg",
        version_id=version_id,
        image_format=fmt,
        labels=labels,
        is_alert=RULES.is_match,
        threshold_for=RULES.threshold_for,
        status=status,
        reason=reason,
        model=MODEL_ARN,
        uploaded_at=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
        detected_at=datetime(2026, 11, 25, 10, 0, 3, 456789, tzinfo=UTC),
        execution=EXECUTION,
        width=width,
        height=height,
        normalised=normalised,
    )
    body = to_ndjson(records)
    assert body.endswith("\n")
    return [json.loads(line) for line in body.splitlines()]


def test_one_line_per_label_with_every_field():
    rows = lines([Label("leaf-smut", 93.1, BOX), Label("healthy", 12.5)])
    assert [list(row) for row in rows] == [FIELDS, FIELDS]
    first, second = rows
    assert first == {
        "image": f"s3://{BUCKET}/leaves/my photoé.jpg",
        "bucket": BUCKET,
        "key": "leaves/my photoé.jpg",
        "label": "leaf-smut",
        "confidence": 93.1,
        "alert": True,
        "suppressed": False,  # the workflow's ApplyCooldown decides (tests/unit/test_apply_cooldown.py)
        "rule_threshold": 80.0,
        "status": "ok",
        "reason": None,
        "model": MODEL_ARN,
        "uploaded_at": "2026-11-25T10:00:00Z",
        "detected_at": "2026-11-25T10:00:03Z",
        "execution": EXECUTION,
        "width": 100,
        "height": 80,
        "geometry": BOX,
        "normalised": None,
        "version_id": "v-3",
        "image_format": "jpeg",
    }
    assert (second["label"], second["confidence"], second["alert"], second["geometry"]) == (
        "healthy",
        12.5,
        False,
        None,
    )


def test_what_was_done_to_the_image_is_in_every_line():
    """``SELECT normalised FROM results`` (the README's promise) needs it in the records."""
    rows = lines([Label("leaf-smut", 93.1), Label("healthy", 2.0)], normalised="webp→jpeg, rotated 90°")
    assert [row["normalised"] for row in rows] == ["webp→jpeg, rotated 90°"] * 2
    assert lines([])[0]["normalised"] is None


def test_every_line_names_the_exact_upload_and_its_format():
    """An image link serves this version of the object as this media type (docs/links.md)."""
    rows = lines(
        [Label("leaf-smut", 93.1), Label("healthy", 2.0)], version_id="3HL4kqtJvjVBH40Nrjfkd", fmt="png"
    )
    assert [(row["version_id"], row["image_format"]) for row in rows] == [
        ("3HL4kqtJvjVBH40Nrjfkd", "png")
    ] * 2
    (unversioned,) = lines([], version_id=None, fmt="webp")
    assert (unversioned["version_id"], unversioned["image_format"]) == (None, "webp")
    (refused,) = lines([], status="rejected", reason="empty", width=None, height=None, fmt="")
    assert refused["image_format"] is None, "refused before it was read: no format, not an empty string"


def test_every_line_says_the_threshold_its_label_was_judged_by():
    """Why it alerted (or did not): the rule's threshold beside the confidence; null without a rule."""
    rows = lines([Label("leaf-smut", 93.1), Label("leaf-smut", 70.0), Label("healthy", 99.0)])
    assert [(r["alert"], r["rule_threshold"]) for r in rows] == [(True, 80.0), (False, 80.0), (False, None)]
    assert lines([])[0]["rule_threshold"] is None


def test_types_match_the_table():
    for row in lines([Label("leaf-smut", 93.0)]):
        assert isinstance(row["confidence"], float) and isinstance(row["alert"], bool)
        assert isinstance(row["width"], int) and isinstance(row["height"], int)


def test_image_without_labels_gets_one_null_line():
    (row,) = lines([])
    assert (row["label"], row["confidence"], row["alert"], row["status"]) == (None, None, False, "ok")


def test_rejected_image_gets_one_null_line_with_reason():
    (row,) = lines([], status="rejected", reason="unsupported-format:gif", width=None, height=None)
    assert (row["label"], row["confidence"], row["alert"]) == (None, None, False)
    assert (row["status"], row["reason"], row["width"], row["height"]) == (
        "rejected",
        "unsupported-format:gif",
        None,
        None,
    )
