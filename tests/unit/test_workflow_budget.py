"""A batch's worst case must end within an Express execution's 5 minutes: the synth computes it
from the definition that deploys (every attempt at its time limit, every retry's longest wait,
along the slowest path) and refuses batchSize/mapConcurrency combinations that cannot fit."""

from __future__ import annotations

import copy
import json

import pytest

from infra.batch_budget import DETECT_TIMEOUT_SECONDS, check_batch_fits
from infra.config import EXPRESS_LIMIT_SECONDS, ConfigError
from statemachine import budget
from statemachine.export import ASL_PATH


def _no_lambda(_name, _state):
    return None


@pytest.fixture(scope="module")
def deployed() -> dict:
    """The exported definition (a test keeps it equal to the synthesized one)."""
    return json.loads(ASL_PATH.read_text())


def test_a_retrier_waits_its_interval_times_the_backoff_capped_by_its_max_delay():
    state = {
        "Type": "Task",
        "Retry": [
            {
                "ErrorEquals": ["X"],
                "IntervalSeconds": 2,
                "BackoffRate": 2,
                "MaxAttempts": 5,
                "MaxDelaySeconds": 10,
            }
        ],
    }
    # 6 attempts of 3 s, and waits of 2, 4, 8, 10, 10 s
    assert budget.retry_seconds(state, 3) == 6 * 3 + 2 + 4 + 8 + 10 + 10


def test_omitted_retrier_fields_take_asls_defaults_and_retriers_add_up():
    state = {"Type": "Task", "Retry": [{"ErrorEquals": ["A"]}, {"ErrorEquals": ["B"], "MaxAttempts": 1}]}
    # A: 3 attempts after waits of 1, 2, 4 s; B: 1 attempt after 1 s; each attempt 10 s
    assert budget.retry_seconds(state, 10) == 10 + (1 + 10) + (2 + 10) + (4 + 10) + (1 + 10)


def test_the_slowest_path_goes_through_catches_and_choices():
    machine = {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "TimeoutSeconds": 5,
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Cleanup"}],
                "Next": "Pick",
            },
            "Pick": {"Type": "Choice", "Choices": [{"Next": "Quick"}], "Default": "Slow"},
            "Quick": {"Type": "Pass", "End": True},
            "Slow": {"Type": "Task", "TimeoutSeconds": 7, "End": True},
            "Cleanup": {"Type": "Task", "TimeoutSeconds": 20, "End": True},
        },
    }
    case = budget.worst_case(machine, attempt_limit=_no_lambda)
    assert (case.seconds, case.path) == (25, ("Work", "Cleanup"))


def test_a_task_without_a_time_limit_or_a_loop_is_unbounded():
    endless = {
        "StartAt": "Call",
        "States": {"Call": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True}},
    }
    with pytest.raises(budget.UnboundedWorkflow, match="'Call' has no TimeoutSeconds"):
        budget.worst_case(endless, attempt_limit=_no_lambda)
    loop = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}},
    }
    with pytest.raises(budget.UnboundedWorkflow, match="loop"):
        budget.worst_case(loop, attempt_limit=_no_lambda)


def test_every_service_task_of_the_workflow_has_a_time_limit(deployed):
    states = budget.map_state(deployed)["ItemProcessor"]["States"]
    unlimited = [
        name
        for name, state in states.items()
        if state["Type"] == "Task" and ":states:::" in state["Resource"] and "TimeoutSeconds" not in state
    ]
    assert unlimited == []


def test_a_default_batch_fits_in_an_express_execution(deployed):
    image = budget.map_items(deployed, attempt_limit=lambda *_: DETECT_TIMEOUT_SECONDS)
    batch = check_batch_fits(deployed, batch_size=10)
    assert budget.map_state(deployed)["MaxConcurrency"] == 10, "mapConcurrency's default"
    assert image.seconds == batch.seconds <= EXPRESS_LIMIT_SECONDS
    assert "DetectLabels" in image.path


def test_more_rounds_of_images_than_fit_are_refused_with_what_to_change(deployed):
    four_at_a_time = copy.deepcopy(deployed)
    budget.map_state(four_at_a_time)["MaxConcurrency"] = 4
    with pytest.raises(ConfigError) as refused:
        check_batch_fits(four_at_a_time, batch_size=10)
    message = str(refused.value)
    assert "batchSize=10 with mapConcurrency=4 is 3 rounds" in message
    assert "exceeds an Express execution's 300 s" in message
    assert "mapConcurrency at least 10 or batchSize at most 4" in message
    assert check_batch_fits(four_at_a_time, batch_size=4).seconds <= 300
