"""The embedded stack behind a real endpoint: AWS CLI and boto3 uploads, a real model, e-mails.

The stack runs in this process (moto's server on loopback) exactly as ``labelwatch local up``
runs it; clients reach it over HTTP like any program would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from labelwatch.cli.local_cmd import start_stack_model
from labelwatch.cli.model_cmd import wait_for_status
from labelwatch.demo.outcomes_wait import wait_for_outcomes
from labelwatch.local.custom_labels import project_of
from labelwatch.local.model_source import StoreModelSource
from labelwatch.local.outbox import read_mail
from labelwatch.local.server import LocalStack, wait_for
from labelwatch.model import ModelStore
from labelwatch.outcomes import OK

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local-stack")]

RULES = {"leaf-smut": 80.0, "bacterial-leaf-blight": 70.0}  # cdk.json's labelsOfInterest
LEAF_SMUT_ONLY = "agronomist@example.com"
EVERYTHING = "farm-manager@example.com"


@pytest.fixture(scope="module")
def local(trained_home):
    stack = LocalStack(
        trained_home.home,
        context={"modelArn": trained_home.arn, "modelControl": "manual"},  # started below
        model_source=StoreModelSource(trained_home.home.models),
        model_start_seconds=0.5,  # time compressed (local up: 3 s),
    )
    stack.start()
    try:
        assert start_stack_model(stack), "the model runs before the tests upload"
        yield stack
    finally:
        stack.stop()


def aws_cli() -> str:
    found = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    assert found, "the AWS CLI is a dev dependency (make setup installs it)"
    return found


def expected_alerts(model, paths: list[Path]) -> dict[str, set[str]]:
    """Recipient -> keys' file names they should hear about, from the model's own predictions."""
    mails: dict[str, set[str]] = {EVERYTHING: set(), LEAF_SMUT_ONLY: set()}
    for path in paths:
        predictions = model.predict(path.read_bytes())
        matched = {name for name, confidence, _ in predictions if confidence >= RULES.get(name, 101)}
        if matched:
            mails[EVERYTHING].add(path.name)
        if "leaf-smut" in matched:
            mails[LEAF_SMUT_ONLY].add(path.name)
    return mails


def test_uploads_through_the_aws_cli_and_boto3_are_classified_by_the_trained_model(
    local, trained_home, tmp_path
):
    bucket = local.outputs["InputBucketName"]
    incoming = [path for path, _label in trained_home.incoming]
    by_cli, by_sdk = incoming[:3], incoming[3:]
    folder = tmp_path / "camera"
    folder.mkdir()
    for path in by_cli:
        shutil.copy(path, folder / path.name)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    subprocess.run(
        [
            aws_cli(),
            "s3",
            "cp",
            "--recursive",
            "--only-show-errors",
            str(folder),
            f"s3://{bucket}/cli upload/",
            "--endpoint-url",
            local.endpoint,
        ],
        check=True,
        env=env,
        timeout=120,
    )
    for path in by_sdk:
        local.client("s3").put_object(Bucket=bucket, Key=f"sdk+upload/{path.name}", Body=path.read_bytes())
    keys = {f"cli upload/{p.name}" for p in by_cli} | {f"sdk+upload/{p.name}" for p in by_sdk}

    outcomes = wait_for_outcomes(local.client, local.outputs, keys, timeout=120)

    assert set(outcomes) == keys
    model = ModelStore(trained_home.home.models).load(trained_home.arn)
    for key, found in outcomes.items():
        (outcome,) = found
        assert outcome.kind == OK
        best, confidence, _ = model.predict(next(p for p in incoming if key.endswith(p.name)).read_bytes())[0]
        if confidence >= 70:  # the stack asks Custom Labels for labels of 70 % and more
            assert (outcome.top_label, round(outcome.confidence, 1)) == (best, round(confidence, 1))
        else:
            assert outcome.top_label is None


def test_alert_emails_land_in_the_outbox_per_subscriber_filter(local, trained_home):
    incoming = [path for path, _label in trained_home.incoming]
    expected = expected_alerts(ModelStore(trained_home.home.models).load(trained_home.arn), incoming)
    wanted = sum(len(names) for names in expected.values())
    assert wanted, "the generated batch should contain diseased leaves"
    before = set(local.home.outbox.glob("*.eml"))
    for path in incoming:
        local.client("s3").put_object(
            Bucket=local.outputs["InputBucketName"], Key=f"mail/{path.name}", Body=path.read_bytes()
        )
    keys = {f"mail/{path.name}" for path in incoming}
    assert set(wait_for_outcomes(local.client, local.outputs, keys, timeout=120)) == keys

    new = lambda: sorted(set(local.home.outbox.glob("*.eml")) - before)  # noqa: E731
    assert wait_for(lambda: len(new()) >= wanted, timeout=30)
    mails = [read_mail(path) for path in new()]
    received = {
        recipient: {m["subject"].rsplit("/", 1)[1] for m in mails if m["to"] == recipient}
        for recipient in expected
    }
    assert received == expected
    assert len(mails) == wanted, "one e-mail per alerting image and subscriber, no duplicates"
    sample = mails[0]
    assert "labelwatch" in sample["subject"] and "s3://" in sample["body"]


def test_a_stopped_model_keeps_images_waiting_on_the_queue_until_it_is_started(local, trained_home):
    rekognition = local.client("rekognition")
    arn = trained_home.arn
    assert rekognition.stop_project_version(ProjectVersionArn=arn)["Status"] == "STOPPING"
    assert wait_for_status(rekognition, arn, "STOPPED", timeout=120) == "STOPPED"
    assert ModelStore(trained_home.home.models).status(arn) == "STOPPED", "the state is kept on disk"
    path, _label = trained_home.incoming[0]
    key = "while-stopped/leaf.jpg"
    batches_before = len(local.pipe.batches)
    local.client("s3").put_object(Bucket=local.outputs["InputBucketName"], Key=key, Body=path.read_bytes())

    assert wait_for(lambda: any(b.left_on_queue for b in local.pipe.batches[batches_before:]), timeout=60)
    assert key not in wait_for_outcomes(local.client, local.outputs, {key}, timeout=0)
    attributes = local.client("sqs").get_queue_attributes(
        QueueUrl=local.outputs["IngestQueueUrl"], AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1", "buffered, not dropped"

    assert (
        rekognition.start_project_version(ProjectVersionArn=arn, MinInferenceUnits=1)["Status"] == "STARTING"
    )
    assert wait_for_status(rekognition, arn, "RUNNING", timeout=120) == "RUNNING"
    local.emulator.expire_visibility_timeouts(local.outputs["IngestQueueUrl"])
    outcomes = wait_for_outcomes(local.client, local.outputs, {key}, timeout=60)
    assert [outcome.kind for outcome in outcomes[key]] == [OK]


def test_the_custom_labels_api_describes_local_versions(local, trained_home):
    rekognition = local.client("rekognition")
    arn = trained_home.arn
    (project,) = rekognition.describe_projects(ProjectNames=[project_of(arn)])["ProjectDescriptions"]
    project_arn = project["ProjectArn"]
    assert project_arn != arn.split("/version/")[0] + "/" + arn.split("/")[-1], "a project's own time"
    for wrong in (arn.split("/version/")[0] + "/" + arn.split("/")[-1], arn.split("/version/")[0] + "/1"):
        with pytest.raises(rekognition.exceptions.ResourceNotFoundException):  # as AWS: exact ARNs only
            rekognition.describe_project_versions(ProjectArn=wrong)
    versions = rekognition.describe_project_versions(ProjectArn=project_arn)["ProjectVersionDescriptions"]
    assert [(v["ProjectVersionArn"], v["Status"]) for v in versions] == [(arn, "RUNNING")]
    assert 0 < versions[0]["EvaluationResult"]["F1Score"] <= 1
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.start_project_version(
            ProjectVersionArn=arn.replace("test-leaves", "nope"), MinInferenceUnits=1
        )
