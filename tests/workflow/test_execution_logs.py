"""The twin writes each execution's events to the state machine's log group, as Step Functions does
for an Express workflow (whose history no API gives on AWS): at the template's level, with the
execution's data only when the template includes it."""

from __future__ import annotations

import json
import re

import pytest

from labelwatch.local.emulator import Emulator
from labelwatch.local.execution_logs import ERROR_EVENTS
from labelwatch.local.faults import Faults
from labelwatch.trace import fetch_events, render_image, trace_execution
from tests.workflow.conftest import REGION, leaf_image, scripted_predictor
from tests.workflow.helpers import upload

pytestmark = pytest.mark.slow


def logged(stack) -> list[dict]:
    logs = stack.client("logs")
    group = stack.outputs["ExecutionLogGroupName"]
    events = logs.filter_log_events(logGroupName=group)["events"]
    return [json.loads(event["message"]) for event in events]


def test_every_event_of_an_execution_is_logged_in_order_with_its_data(stack, model):
    upload(stack, "field-7/leaf.jpg", leaf_image("leaf-smut"))
    (outcome,) = stack.pipe().drain()

    events = logged(stack)
    assert {event["execution_arn"] for event in events} == {outcome.execution_arn}
    assert events[0]["type"] == "ExecutionStarted" and events[-1]["type"] == "ExecutionSucceeded"
    assert [int(event["id"]) for event in events] == list(range(1, len(events) + 1))
    assert all(
        event["previous_event_id"].isdigit() and event["event_timestamp"].isdigit() for event in events
    )
    entered = [event["details"]["name"] for event in events if event["type"].endswith("StateEntered")]
    assert entered[:4] == ["ProcessBatch", "ParseEvent", "ClaimImage", "DetectLabels"]
    assert "PublishAlert" in entered and "WriteResult" in entered
    (detect,) = [
        e for e in events if e["type"] == "TaskStateEntered" and e["details"]["name"] == "DetectLabels"
    ]
    assert "field-7/leaf.jpg" in detect["details"]["input"], "level ALL with execution data"
    # the alert's link tokens are masked by the log group's data protection policy, as on AWS
    logged_text = json.dumps(events)
    assert "****?view" in logged_text and not re.search(r"/i/[A-Za-z0-9_-]{54}", logged_text)


def test_at_level_error_only_failures_are_logged_and_without_data(tuned_template):
    """The tuned template logs at ERROR without execution data: a throttled detection (retried, then
    done) is logged as its failure events and nothing else."""
    with Emulator(region=REGION) as emulator:
        emulator.retry_waits.scale = 0
        stack = emulator.deploy(tuned_template)
        emulator.models.register(stack.detect_environment()["MODEL_ARN"], scripted_predictor, running=True)
        emulator.inject(Faults(throttle_every=2))
        for name in ("a.jpg", "b.jpg"):
            upload(stack, f"field 7/c++ shots/été 100%/{name}", leaf_image("healthy"))
        outcomes = stack.pipe().drain()

        assert {outcome.status for outcome in outcomes} == {"SUCCEEDED"}
        events = logged(stack)
        assert events and all(event["type"] in ERROR_EVENTS for event in events)
        assert any("Throttled" in json.dumps(event["details"]) for event in events)
        assert not [event for event in events if set(event["details"]) & {"input", "output"}]
        assert emulator.execution_logs.written == len(events)


def test_the_trace_of_a_throttled_image_shows_each_try_and_its_error(emulator, stack, model):
    """`labelwatch trace`'s reading of the log: the second detection is throttled, retried and done."""
    emulator.inject(Faults(throttle_every=2))
    for key in ("field-7/a.jpg", "field-8/b.jpg"):  # two folders: flood control alerts both
        upload(stack, key, leaf_image("leaf-smut"))
    (outcome,) = stack.pipe().drain()

    events = fetch_events(stack.client("logs"), stack.outputs["ExecutionLogGroupName"], outcome.execution_arn)
    trace = trace_execution(outcome.execution_arn, events)
    assert trace.status == "SUCCEEDED" and sorted(image.key for image in trace.images) == [
        "field-7/a.jpg",
        "field-8/b.jpg",
    ]
    (throttled,) = [image for image in trace.images if any(v.failures for v in image.visits)]
    text = "\n".join(render_image(trace, throttled))
    assert f"image:     {throttled.key}" in text and "outcome:   Done" in text
    assert re.search(r"^  DetectLabels +\d+ ms  1 retry$", text, flags=re.MULTILINE), text
    assert re.search(
        r"^      try 1 failed: DetectorThrottled: DetectCustomLabels ThrottlingException", text, flags=re.M
    )
    names = [visit.name for visit in throttled.visits]
    assert names[:3] == ["ParseEvent", "ClaimImage", "DetectLabels"] and names[-1] == "Done"
    assert "PublishAlert" in names
