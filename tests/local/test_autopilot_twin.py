"""The model autopilot on the twin, end to end: the template's schedule runs the autopilot function
(strict: its role's policies are the template's), which starts a stopped model when images wait,
starts the Pipe once the model runs, and after the idle time stops the Pipe and then the model.

Time is compressed (an autopilot minute lasts a quarter of a second); the stand-in meters the model
from the start call until STOPPED. Waits are on conditions with generous bounds, never on timings.
"""

from __future__ import annotations

import json

import pytest

from labelwatch.demo.outcomes_wait import wait_for_outcomes
from labelwatch.local.model_source import StoreModelSource
from labelwatch.local.server import LocalStack, wait_for
from labelwatch.outcomes import OK

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local-stack")]

SCALE = 240.0  # twin seconds per real second: an autopilot minute lasts 0.25 s, the 10 idle minutes 2.5 s
BOUND = 120.0  # seconds: generous bounds for conditions, not expected durations


@pytest.fixture
def autopiloted(trained_home):
    source = StoreModelSource(trained_home.home.models)
    source.set_status(trained_home.arn, "STOPPED")  # the model is stopped when the stack starts
    stack = LocalStack(
        trained_home.home,
        context={"modelArn": trained_home.arn},  # cdk.json's modelControl: on-demand
        model_source=source,
        model_start_seconds=0.5,
        time_scale=SCALE,
    )
    stack.start()
    stack.emulator.models.stop_delay_seconds = 0.25
    try:
        yield stack
    finally:
        stack.stop()


def model_status(stack) -> str:
    return stack.emulator.models.status(stack.stack.detect_environment()["MODEL_ARN"])


def pipe_state(stack) -> str:
    return stack.client("pipes").describe_pipe(Name=stack.outputs["PipeName"])["CurrentState"]


def upload(stack, trained_home, prefix: str, count: int) -> set[str]:
    bucket = stack.outputs["InputBucketName"]
    keys = set()
    for path, _label in trained_home.incoming[:count]:
        key = f"{prefix}/{path.name}"
        stack.client("s3").put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        keys.add(key)
    return keys


def stopped_again(stack) -> bool:
    return model_status(stack) == "STOPPED" and pipe_state(stack) == "STOPPED"


def metered(stack) -> float:
    (usage,) = stack.emulator.models.usage()
    return usage["unitSeconds"]


def test_a_stopped_model_is_started_for_a_burst_and_stopped_after_the_idle_time(autopiloted, trained_home):
    stack = autopiloted
    runs_before = stack.scheduler.fired
    assert stack.scheduler.wait_for_runs(runs_before + 3, timeout=BOUND)
    assert model_status(stack) == "STOPPED" and pipe_state(stack) == "STOPPED"  # nothing waits: nothing runs
    assert metered(stack) == 0

    first = upload(stack, trained_home, "burst-1", 4)
    outcomes = wait_for_outcomes(stack.client, stack.outputs, first, timeout=BOUND)
    assert {key: [o.kind for o in found] for key, found in outcomes.items()} == {key: [OK] for key in first}
    assert wait_for(lambda: stopped_again(stack), timeout=BOUND, interval=0.1)
    assert metered(stack) > 10 * 60  # at least the idle time, in twin seconds (conservative meter)

    ingest_dlq = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.outputs["IngestDlqUrl"], AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert ingest_dlq["Attributes"]["ApproximateNumberOfMessages"] == "0"
    executions = [batch for batch in stack.pipe.batches]
    received = [message for batch in executions for message in batch.message_ids]
    assert len(received) == len(set(received)) == len(first)  # each image received once
    # every minute ran as the autopilot's role, and none was refused or failed
    runs = list(stack.scheduler.runs)
    assert runs and all(run.refused is None and run.error is None for run in runs), [
        (run.refused, run.error, run.payload) for run in runs if run.refused or run.error
    ]
    reasons = {run.payload["reason"] for run in runs}
    assert {"model STOPPED, images wait: starting it", "model RUNNING: starting the Pipe"} <= reasons
    assert (
        "queue idle: stopping the Pipe" in reasons
        and "queue idle, Pipe stopped: stopping the model" in reasons
    )


def test_a_failed_start_is_retried_and_the_images_wait(autopiloted, trained_home):
    stack = autopiloted
    log_file = stack.home.logs / f"{function_name(stack)}.log"
    metrics_before = failed_start_metrics(log_file)
    stack.emulator.models.fail_next_starts = 1
    keys = upload(stack, trained_home, "after-failure", 2)
    outcomes = wait_for_outcomes(stack.client, stack.outputs, keys, timeout=BOUND)
    assert set(outcomes) == keys and all([o.kind for o in found] == [OK] for found in outcomes.values())
    failed = [run for run in stack.scheduler.runs if "FAILED to start" in run.payload["reason"]]
    assert len(failed) == 1  # seen once: the alarm's metric once, then the backoff
    assert failed_start_metrics(log_file) == metrics_before + 1


def test_the_autopilot_remembers_its_last_decision_for_model_status(autopiloted, trained_home):
    stack = autopiloted
    assert stack.scheduler.wait_for_runs(stack.scheduler.fired + 2, timeout=BOUND)
    item = stack.client("dynamodb").get_item(
        TableName=stack.outputs["AutopilotStateTableName"],
        Key={"model": {"S": stack.stack.detect_environment()["MODEL_ARN"]}},
    )["Item"]
    assert item["last"]["M"]["model"]["S"] in ("STOPPED", "TRAINING_COMPLETED")
    assert json.loads(json.dumps(item))["projectArn"]["S"].endswith(
        "/" + str(int(trained_home.arn.rsplit("/", 1)[1]) - 1000)
    )


def function_name(stack) -> str:
    return stack.outputs["AutopilotFunctionName"]


def failed_start_metrics(log_file) -> int:
    """The EMF documents in the autopilot's log that count a failed start (the alarm's metric)."""
    if not log_file.exists():
        return 0
    documents = [json.loads(line) for line in log_file.read_text().splitlines() if line.startswith('{"_aws"')]
    return sum(1 for document in documents if document.get("ModelStartFailed") == [1.0])
