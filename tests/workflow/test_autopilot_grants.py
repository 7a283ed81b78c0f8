"""The strict twin refuses the autopilot what AWS would: the real template, one grant removed.

One autopilot minute with images waiting and the model RUNNING must start the Pipe. Without the
function's Pipes grant the call is refused with the action named and the minute fails (the
`AutopilotErrors` alarm's case); with the schedule role's trust naming another schedule, Scheduler
may not assume it and the function never runs. The unmodified template starts the Pipe.
"""

from __future__ import annotations

import copy

import pytest

from labelwatch.local.clock import TwinClock
from tests.workflow.conftest import leaf_image, scripted_predictor
from tests.workflow.helpers import upload
from tests.workflow.test_grants import actions, without

pytestmark = pytest.mark.slow


def one_minute(emulator, template: dict):
    """Deploy, register the model RUNNING, let one image wait, and run the autopilot's minute once."""
    stack = emulator.deploy(template)
    stack.emulator.models.register(stack.detect_environment()["MODEL_ARN"], scripted_predictor, running=True)
    upload(stack, "leaf.jpg", leaf_image("leaf-smut"))
    scheduler = stack.scheduler(TwinClock())
    spec = stack.schedule_of("AutopilotFunctionName")
    return stack, scheduler.run_now(spec)


def pipe_state(stack) -> str:
    return stack.client("pipes").describe_pipe(Name=stack.outputs["PipeName"])["CurrentState"]


def test_the_unmodified_template_lets_the_autopilot_start_the_pipe(emulator, template):
    stack, run = one_minute(emulator, template)
    assert (run.refused, run.error) == (None, None), run.payload
    assert run.payload["actions"] == ["start-pipe"]
    assert pipe_state(stack) == "STARTING"  # the Pipe service's pollers take it to RUNNING
    assert emulator.authorizer.denials == []


def test_without_its_pipes_grant_the_autopilot_is_refused_and_the_pipe_stays_stopped(emulator, template):
    changed = without(
        template, "AWS::IAM::Policy", "ModelAutopilotRole", lambda s: "pipes:StartPipe" in actions(s)
    )
    stack, run = one_minute(emulator, changed)
    assert run.refused is None and run.error is not None
    assert run.payload["errorType"] == "ClientError"
    assert "AccessDeniedException" in run.payload["errorMessage"]
    assert "pipes:DescribePipe" in run.payload["errorMessage"]  # the first call it needs the grant for
    assert pipe_state(stack) == "STOPPED"


def test_a_schedule_role_trusting_another_schedule_is_not_assumed(emulator, template):
    changed = copy.deepcopy(template)
    (role,) = [
        resource
        for logical_id, resource in changed["Resources"].items()
        if resource["Type"] == "AWS::IAM::Role" and logical_id.startswith("ModelAutopilotScheduleRole")
    ]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    trust["Condition"]["ArnEquals"]["aws:SourceArn"] = (
        "arn:aws:scheduler:us-east-1:123456789012:schedule/default/other"
    )
    stack, run = one_minute(emulator, changed)
    assert run.refused is not None and "sts:AssumeRole" in run.refused
    assert run.payload is None and pipe_state(stack) == "STOPPED"  # the function never ran
