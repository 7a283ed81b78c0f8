"""`labelwatch trace` from Step Functions log events: one image's states, tries, Catch and outcome."""

from __future__ import annotations

import json

from labelwatch.trace import is_execution_arn, parse_events, render_execution, render_image, trace_execution
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


def test_a_last_try_that_fails_uncaught_is_not_a_retry_and_error_level_failures_are_kept():
    uncaught = events(
        (0, "ExecutionStarted", {}),
        (1, "MapIterationStarted", {"index": 0}),
        (2, "TaskStateEntered", {"name": "DetectLabels"}),
        (3, "LambdaFunctionFailed", {"error": "Sandbox.Timedout", "cause": "killed"}),
        (4, "MapIterationFailed", {"index": 0}),
        (5, "ExecutionFailed", {"error": "States.Runtime"}),
    )
    trace = trace_execution(ARN, uncaught)
    (detect,) = trace.images[0].visits
    assert (len(detect.failures), detect.retries, detect.caught) == (1, 0, None)
    assert trace.status == "FAILED" and trace.images[0].status == "FAILED"

    # level ERROR: the failures only, whose states were not logged; no end event either
    error_level = events(
        (7, "LambdaFunctionFailed", {"error": "DetectorThrottled", "cause": "slow down"}),
        (11, "LambdaFunctionFailed", {"error": "States.Runtime", "cause": "broken"}),
    )
    trace = trace_execution(ARN, error_level)
    assert trace.status == "UNKNOWN" and trace.images == []
    assert [attempt.error for attempt in trace.unplaced] == ["DetectorThrottled", "States.Runtime"]
    assert "  failed (state not logged): DetectorThrottled: slow down" in render_execution(trace)


def test_standard_and_express_execution_arns_are_told_from_keys():
    assert is_execution_arn(ARN)
    assert is_execution_arn("arn:aws:states:eu-west-1:111122223333:express:Workflow:pipe-1:9c1b2d")
    assert not is_execution_arn("arn:aws:s3:::bucket/key.jpg")
    assert not is_execution_arn("field-7/arn:aws:states:leaf.jpg")


def test_the_log_leaves_out_data_unless_included():
    from datetime import UTC, datetime

    from labelwatch.local.execution_logs import LogTarget, log_events

    history = [
        {
            "timestamp": datetime(2026, 12, 1, tzinfo=UTC),
            "type": "TaskStateEntered",
            "id": 3,
            "previousEventId": 2,
            "stateEnteredEventDetails": {"name": "DetectLabels", "input": '{"key": "a.jpg"}'},
        }
    ]
    with_data = log_events(history, ARN, LogTarget("g", "ALL", include_data=True))
    without = log_events(history, ARN, LogTarget("g", "ALL", include_data=False))
    assert with_data[0]["details"] == {"name": "DetectLabels", "input": '{"key": "a.jpg"}'}
    assert without[0]["details"] == {"name": "DetectLabels"}
    assert (without[0]["event_timestamp"], without[0]["previous_event_id"]) == ("1796083200000", "2")
    assert log_events(history, ARN, LogTarget("g", "ERROR")) == [], "a state entered is no error"
