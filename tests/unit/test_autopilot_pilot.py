"""The autopilot's minute against fake AWS clients: what it reads, what it calls, what it remembers.

The decision is tested transition by transition in test_autopilot_decision.py; here the point is
that its answer is carried out with the right API calls and arguments, that what must survive
between minutes does (through the state item), and that a race with another party is harmless.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from autopilot.decision import Settings
from autopilot.handler import scheduled_time
from autopilot.pilot import PilotSettings, from_item, run_minute, to_item
from autopilot.settings import SettingsError, load_settings
from botocore.exceptions import ClientError

MODEL = "arn:aws:rekognition:us-east-1:111122223333:project/leaves/version/leaves.v1/1764028800000"
PROJECT = "arn:aws:rekognition:us-east-1:111122223333:project/leaves/1764028000000"
T0 = 1_800_000_000.0


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} (fake)"}}, operation)


class FakeAws:
    """The four services the autopilot calls, as far as it calls them; every call is recorded."""

    def __init__(self, model: str = "STOPPED", pipe: str = "STOPPED", visible: int = 0) -> None:
        self.model, self.pipe, self.visible = model, pipe, visible
        self.calls: list[tuple[str, dict]] = []
        self.item: dict | None = None
        self.fail: dict[str, str] = {}  # operation -> error code

    def clients(self) -> dict:
        return {name: _Client(self, name) for name in ("sqs", "rekognition", "pipes", "dynamodb")}

    def answer(self, operation: str, kwargs: dict) -> dict:
        self.calls.append((operation, kwargs))
        if operation in self.fail:
            raise client_error(self.fail[operation], operation)
        if operation == "get_queue_attributes":
            return {"Attributes": {"ApproximateNumberOfMessages": str(self.visible)}}
        if operation == "describe_projects":
            return {"ProjectDescriptions": [{"ProjectArn": PROJECT}]}
        if operation == "describe_project_versions":
            assert kwargs == {"ProjectArn": PROJECT, "VersionNames": ["leaves.v1"]}
            return {"ProjectVersionDescriptions": [{"ProjectVersionArn": MODEL, "Status": self.model}]}
        if operation == "describe_pipe":
            return {"CurrentState": self.pipe}
        if operation == "get_item":
            return {"Item": self.item} if self.item else {}
        if operation == "put_item":
            self.item = kwargs["Item"]
        return {}

    def made(self, *operations: str) -> list[tuple[str, dict]]:
        return [(op, kwargs) for op, kwargs in self.calls if op in operations]


class _Client:
    def __init__(self, aws: FakeAws, service: str) -> None:
        self._aws = aws

    def __getattr__(self, operation: str):
        return lambda **kwargs: self._aws.answer(operation, kwargs)


def settings(mode: str = "on-demand", **overrides) -> PilotSettings:
    values = dict(
        model_arn=MODEL,
        pipe_name="labelwatch-ingest",
        queue_url="https://sqs.us-east-1.amazonaws.com/111122223333/ingest",
        state_table="autopilot",
        decision=Settings(mode=mode, idle_minutes=10),
        min_inference_units=2,
        max_inference_units=5,
    )
    return PilotSettings(**{**values, **overrides})


ACTIONS = ("start_project_version", "stop_project_version", "start_pipe", "stop_pipe")


def test_images_waiting_on_a_stopped_model_start_it_with_its_units_and_auto_scaling():
    aws = FakeAws(model="STOPPED", pipe="STOPPED", visible=40)
    outcome = run_minute(settings(), aws.clients(), now=T0)
    assert aws.made(*ACTIONS) == [
        (
            "start_project_version",
            {"ProjectVersionArn": MODEL, "MinInferenceUnits": 2, "MaxInferenceUnits": 5},
        )
    ]
    assert outcome.done == ("start-model",)
    summary = from_item(aws.item)["last"]
    assert summary["model"] == "STOPPED" and summary["queue"]["visible"] == 40


def test_without_max_units_the_start_leaves_auto_scaling_off():
    aws = FakeAws(model="STOPPED", visible=1)
    run_minute(settings(max_inference_units=0), aws.clients(), now=T0)
    assert aws.made("start_project_version")[0][1] == {"ProjectVersionArn": MODEL, "MinInferenceUnits": 2}


def test_the_project_is_looked_up_once_and_remembered():
    aws = FakeAws(model="STARTING", visible=3)
    run_minute(settings(), aws.clients(), now=T0)
    run_minute(settings(), aws.clients(), now=T0 + 60)
    assert len(aws.made("describe_projects")) == 1
    assert len(aws.made("describe_project_versions")) == 2


def test_the_idle_countdown_survives_between_minutes_and_stops_pipe_then_model():
    aws = FakeAws(model="RUNNING", pipe="RUNNING", visible=0)
    first = run_minute(settings(), aws.clients(), now=T0)
    assert first.done == () and first.decision.stops_at == T0 + 600
    assert from_item(aws.item)["last"]["stopsAt"] == T0 + 600  # what `labelwatch model status` shows
    assert run_minute(settings(), aws.clients(), now=T0 + 540).done == ()
    assert run_minute(settings(), aws.clients(), now=T0 + 600).done == ("stop-pipe",)
    aws.pipe = "STOPPED"
    assert run_minute(settings(), aws.clients(), now=T0 + 660).done == ("stop-model",)
    assert aws.made(*ACTIONS) == [
        ("stop_pipe", {"Name": "labelwatch-ingest"}),
        ("stop_project_version", {"ProjectVersionArn": MODEL}),
    ]


def test_an_image_arriving_during_the_countdown_resets_it():
    aws = FakeAws(model="RUNNING", pipe="RUNNING", visible=0)
    run_minute(settings(), aws.clients(), now=T0)
    aws.visible = 1
    run_minute(settings(), aws.clients(), now=T0 + 300)
    aws.visible = 0
    assert run_minute(settings(), aws.clients(), now=T0 + 600).decision.stops_at == T0 + 1200


def test_a_race_with_another_start_is_left_for_the_next_minute():
    aws = FakeAws(model="STOPPED", pipe="STOPPED", visible=5)
    aws.fail["start_project_version"] = "ResourceInUseException"  # someone ran `model start`
    outcome = run_minute(settings(), aws.clients(), now=T0)
    assert outcome.done == () and outcome.skipped == ("start-model: ResourceInUseException",)
    assert aws.item is not None  # the minute is still remembered


def test_a_refused_call_fails_the_minute_so_the_alarm_on_its_errors_sees_it():
    aws = FakeAws(model="RUNNING", pipe="STOPPED", visible=5)
    aws.fail["start_pipe"] = "AccessDeniedException"
    with pytest.raises(ClientError, match="AccessDeniedException"):
        run_minute(settings(), aws.clients(), now=T0)


def test_manual_reads_but_never_acts():
    aws = FakeAws(model="STOPPED", pipe="RUNNING", visible=9)
    run_minute(settings(mode="manual"), aws.clients(), now=T0)
    assert aws.made(*ACTIONS) == []


def test_state_items_round_trip():
    value = {"a": None, "b": True, "c": 3, "d": 1.5, "e": "x", "f": [1, "y"], "g": {"h": T0 + 0.25}}
    assert from_item(to_item(value)["M"]) == value


def test_the_schedules_time_is_the_decisions_now():
    assert (
        scheduled_time({"time": "2027-01-15T08:00:00Z"}) == datetime(2027, 1, 15, 8, tzinfo=UTC).timestamp()
    )
    with pytest.raises(ValueError, match="the schedule's time 'soon' is not an ISO 8601 timestamp"):
        scheduled_time({"time": "soon"})


def test_settings_come_from_the_environment_and_name_what_is_wrong():
    env = {
        "MODEL_ARN": MODEL,
        "PIPE_NAME": "p",
        "INGEST_QUEUE_URL": "https://q",
        "STATE_TABLE": "t",
        "MODEL_CONTROL": "always-on",
        "MODEL_IDLE_MINUTES": "15",
        "MIN_INFERENCE_UNITS": "2",
    }
    loaded = load_settings(env)
    assert (loaded.decision.mode, loaded.decision.idle_minutes, loaded.min_inference_units) == (
        "always-on",
        15,
        2,
    )
    assert (loaded.project_name, loaded.version_name) == ("leaves", "leaves.v1")
    with pytest.raises(
        SettingsError, match="MODEL_CONTROL must be one of manual, on-demand, always-on, got 'off'"
    ):
        load_settings({**env, "MODEL_CONTROL": "off"})
    with pytest.raises(SettingsError, match="PIPE_NAME is not set"):
        load_settings({**env, "PIPE_NAME": ""})
