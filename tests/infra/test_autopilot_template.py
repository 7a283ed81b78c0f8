"""The model autopilot as deployed: a schedule a minute, a function scoped to this model, Pipe and
queue, its state table, its alarms; with ``modelControl=manual`` none of it, and the Pipe running."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.infra.test_stack_template import as_list, logical_id, resources

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cdk")]

MODEL_ARN = json.loads(Path("cdk.json").read_text())["context"]["modelArn"]


def only(template: dict, resource_type: str) -> tuple[str, dict]:
    ((lid, resource),) = resources(template, resource_type).items()
    return lid, resource


def test_the_schedule_invokes_the_autopilot_every_minute_with_its_own_time(template):
    schedule = resources(template, "AWS::Scheduler::Schedule")[
        logical_id(template, "AWS::Scheduler::Schedule", "ModelAutopilotSchedule")
    ]
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == "rate(1 minute)"
    assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = props["Target"]
    function = logical_id(template, "AWS::Lambda::Function", "ModelAutopilotFunction")
    assert target["Arn"] == {"Fn::GetAtt": [function, "Arn"]}
    assert json.loads(target["Input"]) == {"time": "<aws.scheduler.scheduled-time>"}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60}
    role = template["Resources"][target["RoleArn"]["Fn::GetAtt"][0]]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert set(trust["Condition"]) == {"StringEquals", "ArnEquals"}  # this account's schedule only
    (policy,) = [
        p
        for p in resources(template, "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": target["RoleArn"]["Fn::GetAtt"][0]}]
    ]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == (
        "lambda:InvokeFunction",
        {"Fn::GetAtt": [function, "Arn"]},
    )


def test_the_autopilot_may_touch_only_this_model_this_pipe_this_queue_and_its_table(template):
    lid = logical_id(template, "AWS::IAM::Policy", "ModelAutopilotRole")
    statements = template["Resources"][lid]["Properties"]["PolicyDocument"]["Statement"]
    granted = {
        (tuple(sorted(as_list(s["Action"]))), json.dumps(as_list(s["Resource"]), sort_keys=True))
        for s in statements
        if not any(a.startswith("logs:") for a in as_list(s["Action"]))
    }
    queue = logical_id(template, "AWS::SQS::Queue", "IngestionIngestQueue")
    table = logical_id(template, "AWS::DynamoDB::Table", "ModelAutopilotState")
    (pipe_name,) = [r["Properties"]["Name"] for r in resources(template, "AWS::Pipes::Pipe").values()]
    pipe_arn = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":pipes:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":pipe/{pipe_name}",
            ],
        ]
    }
    project = MODEL_ARN.partition("/version/")[0] + "/*"

    def entry(actions, resource):
        return (tuple(sorted(actions)), json.dumps([resource], sort_keys=True))

    assert granted == {
        entry(["sqs:GetQueueAttributes"], {"Fn::GetAtt": [queue, "Arn"]}),
        entry(["rekognition:DescribeProjects"], "*"),
        entry(["rekognition:DescribeProjectVersions"], project),
        entry(["rekognition:StartProjectVersion", "rekognition:StopProjectVersion"], MODEL_ARN),
        entry(["pipes:DescribePipe", "pipes:StartPipe", "pipes:StopPipe"], pipe_arn),
        entry(["dynamodb:GetItem", "dynamodb:PutItem"], {"Fn::GetAtt": [table, "Arn"]}),
    }


def test_the_autopilot_is_configured_from_the_parameters(template):
    function = logical_id(template, "AWS::Lambda::Function", "ModelAutopilotFunction")
    props = template["Resources"][function]["Properties"]
    assert props["Handler"] == "autopilot.handler.lambda_handler"
    assert props["Timeout"] < 60  # two minutes' runs never overlap for long
    variables = props["Environment"]["Variables"]
    assert {k: variables[k] for k in ("MODEL_ARN", "MODEL_CONTROL", "MODEL_IDLE_MINUTES")} == {
        "MODEL_ARN": MODEL_ARN,
        "MODEL_CONTROL": "on-demand",
        "MODEL_IDLE_MINUTES": "10",
    }
    assert (variables["MIN_INFERENCE_UNITS"], variables["MAX_INFERENCE_UNITS"]) == ("1", "0")


def test_on_demand_creates_the_pipe_stopped_and_outputs_what_model_status_needs(template):
    _, pipe = only(template, "AWS::Pipes::Pipe")
    assert pipe["Properties"]["DesiredState"] == "STOPPED"
    outputs = template["Outputs"]
    assert outputs["ModelControl"]["Value"] == "on-demand"
    assert outputs["PipeName"]["Value"] == pipe["Properties"]["Name"]
    table = logical_id(template, "AWS::DynamoDB::Table", "ModelAutopilotState")
    assert outputs["AutopilotStateTableName"]["Value"] == {"Ref": table}


def test_the_backlog_and_model_alarms(template):
    alarms = {lid: a["Properties"] for lid, a in resources(template, "AWS::CloudWatch::Alarm").items()}
    (backlog,) = [a for lid, a in alarms.items() if "BacklogTooOld" in lid]
    assert (backlog["MetricName"], backlog["Threshold"]) == ("ApproximateAgeOfOldestMessage", 60 * 60)
    names = {a.get("MetricName") for a in alarms.values()}
    assert {"ModelStartFailed", "ModelFoundStopped"} <= names


def test_manual_has_no_autopilot_and_the_pipe_runs(tuned_template):
    for resource_type in ("AWS::Scheduler::Schedule", "AWS::DynamoDB::Table"):
        found = [lid for lid in resources(tuned_template, resource_type) if "ModelAutopilot" in lid]
        assert found == [], resource_type
    _, pipe = only(tuned_template, "AWS::Pipes::Pipe")
    assert pipe["Properties"]["DesiredState"] == "RUNNING"
    assert tuned_template["Outputs"]["ModelControl"]["Value"] == "manual"
    assert "AutopilotStateTableName" not in tuned_template["Outputs"]
    alarms = resources(tuned_template, "AWS::CloudWatch::Alarm")
    assert any("BacklogTooOld" in lid for lid in alarms)  # an old backlog matters without it too


@pytest.mark.parametrize(
    ("template_fixture", "level", "data"), [("template", "ALL", True), ("tuned_template", "ERROR", True)]
)
def test_execution_log_level(request, template_fixture, level, data):
    chosen = request.getfixturevalue(template_fixture)
    _, machine = only(chosen, "AWS::StepFunctions::StateMachine")
    logging = machine["Properties"]["LoggingConfiguration"]
    assert (logging["Level"], logging["IncludeExecutionData"]) == (level, data)
