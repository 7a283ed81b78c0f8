"""ApplyCooldown (functions/cooldown/apply.py): the cooldown's decisions, applied to one detection."""

from __future__ import annotations

import json

import pytest
from cooldown.apply import apply_cooldown
from cooldown.handler import lambda_handler
from detect.records import to_ndjson


def record(label: str | None, confidence: float | None, alert: bool) -> dict:
    return {
        "image": "s3://b/f/a.jpg",
        "key": "f/a.jpg",
        "label": label,
        "confidence": confidence,
        "alert": alert,
        "suppressed": False,
        "rule_threshold": 80.0 if label else None,
    }


def detection(*records: dict) -> dict:
    alerts = [
        {"label": name, "labels": json.dumps([name]), "subject": f"s {name}", "message": "m", "cooldown": {}}
        for name in dict.fromkeys(r["label"] for r in records if r["alert"])
    ]
    return {"imageId": "i1", "alert": bool(alerts), "alerts": alerts, "resultBody": to_ndjson(list(records))}


SMUT_BOXES = (
    record("Leaf-Smut", 95.0, True),
    record("Leaf-Smut", 85.0, True),
    record("Leaf-Smut", 50.0, False),
)


def test_a_held_back_label_is_recorded_suppressed_and_not_sent():
    before = detection(*SMUT_BOXES, record("blight", 90.0, True), record("healthy", 5.0, False))
    after = apply_cooldown(
        before, [{"label": "leaf-smut", "suppressed": True}, {"label": "blight", "suppressed": False}]
    )
    rows = [json.loads(line) for line in after["resultBody"].splitlines()]
    assert [(r["label"], r["alert"], r["suppressed"]) for r in rows] == [
        ("Leaf-Smut", False, True),  # the rule's name matches the model's spelling, case aside
        ("Leaf-Smut", False, True),
        ("Leaf-Smut", False, False),  # below the threshold: neither alerted nor held back
        ("blight", True, False),
        ("healthy", False, False),
    ]
    assert [a["label"] for a in after["alerts"]] == ["blight"] and after["alert"] is True
    assert {k: v for k, v in after.items() if k not in ("resultBody", "alerts")} == {
        k: v for k, v in before.items() if k not in ("resultBody", "alerts")
    }


def test_every_label_held_back_leaves_nothing_to_send():
    after = apply_cooldown(detection(*SMUT_BOXES), [{"label": "leaf-smut", "suppressed": True}])
    assert (after["alerts"], after["alert"]) == ([], False)


def test_nothing_held_back_changes_nothing():
    before = detection(*SMUT_BOXES)
    assert apply_cooldown(before, [{"label": "leaf-smut", "suppressed": False}]) == before


def test_the_records_keep_their_field_order_and_non_ascii_text():
    before = detection({**record("leaf-smut", 90.0, True), "key": "été/叶子.jpg"})
    after = apply_cooldown(before, [{"label": "leaf-smut", "suppressed": True}])
    (row,) = after["resultBody"].splitlines()
    assert "été/叶子.jpg" in row and list(json.loads(row)) == list(record("x", 1.0, True))


@pytest.mark.parametrize("decisions", [[{"suppressed": True}], ["leaf-smut"], [{"label": 3}]])
def test_a_malformed_decision_is_a_clear_error(decisions):
    with pytest.raises(ValueError, match="a cooldown decision must be"):
        apply_cooldown(detection(*SMUT_BOXES), decisions)


def test_the_handler_returns_the_detection_as_the_workflow_reads_it(lambda_context):
    event = {"detection": detection(*SMUT_BOXES), "decisions": [{"label": "leaf-smut", "suppressed": True}]}
    answer = lambda_handler(event, lambda_context)
    assert answer["alerts"] == [] and json.dumps(answer)
