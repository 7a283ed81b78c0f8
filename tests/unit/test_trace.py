"""`labelwatch trace` from Step Functions log events: one image's states, tries, Catch and outcome."""

from __future__ import annotations

import json

from labelwatch.trace import parse_events, render_image, trace_execution
from labelwatch.trace_html import render_trace_page
from statemachine.export import ASL_PATH

ARN = "arn:aws:states:us-east-1:123456789012:execution:labelwatch-Workflow:pipe-1"
HOSTILE = 'field 7/<script>alert("x")</script>.jpg'
HOSTILE_IN_THE_EVENT = "field+7/%3Cscript%3Ealert%28%22x%22%29%3C%2Fscript%3E.jpg"  # as S3's event has it


def events(*specs: tuple) -> list[dict]:
    """(previous id, type, details) per event; ids from 1, 100 ms apart."""
    return [
        {
            "id": str(number),
            "type": kind,
            "details": details,
            "previous_event_id": str(previous),
            "event_timestamp": str(1_764_000_000_000 + 100 * number),
            "execution_arn": ARN,
            "redrive_count": "0",
        }
        for number, (previous, kind, details) in enumerate(specs, 1)
    ]


def two_images_one_caught() -> list[dict]:
    """Image 0 is throttled once, then fails for good and is caught; image 1 goes straight through."""
    return events(
        (0, "ExecutionStarted", {"input": "[]"}),
        (1, "MapStateEntered", {"name": "ProcessBatch"}),
        (2, "MapIterationStarted", {"name": "ProcessBatch", "index": 0}),
        (2, "MapIterationStarted", {"name": "ProcessBatch", "index": 1}),
        (3, "PassStateEntered", {"name": "ParseEvent", "input": "{}"}),
        (4, "PassStateEntered", {"name": "ParseEvent", "input": "{}"}),
        (
            5,
            "PassStateExited",
            {"name": "ParseEvent", "output": json.dumps({"key": HOSTILE_IN_THE_EVENT, "bucket": "b"})},
        ),
        (6, "PassStateExited", {"name": "ParseEvent", "output": json.dumps({"key": "field-7/ok.jpg"})}),
        (7, "TaskStateEntered", {"name": "DetectLabels"}),
        (8, "TaskStateEntered", {"name": "DetectLabels"}),
        (9, "LambdaFunctionScheduled", {}),
        (
            11,
            "LambdaFunctionFailed",
            {"error": "DetectorThrottled", "cause": '{"errorMessage": "slow down"}'},
        ),
        (12, "LambdaFunctionScheduled", {}),
        (13, "LambdaFunctionFailed", {"error": "States.Runtime", "cause": "broken\nresult"}),
        (14, "TaskStateEntered", {"name": "ReleaseClaim"}),
        (15, "TaskStateExited", {"name": "ReleaseClaim"}),
        (10, "LambdaFunctionScheduled", {}),
        (17, "LambdaFunctionSucceeded", {}),
        (18, "TaskStateExited", {"name": "DetectLabels"}),
        (19, "PassStateEntered", {"name": "Done"}),
        (20, "PassStateExited", {"name": "Done"}),
        (21, "MapIterationSucceeded", {"name": "ProcessBatch", "index": 1}),
        (16, "PassStateEntered", {"name": "Failed"}),
        (23, "MapIterationSucceeded", {"name": "ProcessBatch", "index": 0}),
        (24, "MapStateExited", {"name": "ProcessBatch"}),
        (25, "ExecutionSucceeded", {"output": "{}"}),
    )


def test_each_image_gets_its_own_states_tries_and_catch():
    (trace,) = [trace_execution(arn, found) for arn, found in parse_events(two_images_one_caught()).items()]
    assert trace.status == "SUCCEEDED" and trace.duration_ms == 2500
    first, second = trace.images
    assert (first.key, second.key) == (HOSTILE, "field-7/ok.jpg")
    assert [v.name for v in first.visits] == ["ParseEvent", "DetectLabels", "ReleaseClaim", "Failed"]
    assert [v.name for v in second.visits] == ["ParseEvent", "DetectLabels", "Done"]
    detect = first.visits[1]
    assert [a.error for a in detect.failures] == ["DetectorThrottled", "States.Runtime"]
    assert (detect.retries, detect.caught) == (1, "States.Runtime")
    assert second.visits[1].failures == [] and first.outcome == "Failed" and second.outcome == "Done"
    assert [v.name for v in trace.visits] == ["ProcessBatch"], "the Map's own states are the execution's"


def test_the_text_names_every_try_on_one_line():
    (trace,) = [trace_execution(arn, found) for arn, found in parse_events(two_images_one_caught()).items()]
    text = "\n".join(render_image(trace, trace.images[0]))
    assert "  DetectLabels" in text and "1 retry  caught States.Runtime" in text
    assert "      try 1 failed: DetectorThrottled: slow down" in text
    assert "      try 2 failed: States.Runtime: broken result" in text, "a cause's line breaks are spaces"


def test_the_page_draws_the_path_and_escapes_what_the_image_brought():
    (trace,) = [trace_execution(arn, found) for arn, found in parse_events(two_images_one_caught()).items()]
    definition = json.loads(ASL_PATH.read_text())
    page = render_trace_page(definition, trace, trace.images[0])
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "default-src 'none'" in page, "no script runs and nothing loads"
    for name in ("ParseEvent", "DetectLabels", "ReleaseClaim", "Failed"):
        assert f'id="state-{name}"' in page and f'href="#state-{name}"' in page
    assert 'id="state-PublishAlert"' not in page, "only the states it entered have a section"
    # DetectLabels -> ReleaseClaim, the Catch it took: bold, and dashed as every Catch edge
    assert page.count('stroke="#1b6b3a" stroke-width="3" stroke-dasharray="4 3"') == 1
