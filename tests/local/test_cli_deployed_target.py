"""The same commands against a deployed stack (--profile/--region): outputs from CloudFormation.

AWS itself is not reachable from the tests, so moto stands in for the account: a CloudFormation
stack with labelwatch's outputs, and the buckets and queues they name.
"""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from labelwatch.cli.app import run
from labelwatch.cli.console import console

REGION = "eu-west-1"
TEMPLATE = {
    "Resources": {
        "Input": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "farm-uploads"}},
        "Results": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "farm-results"}},
        "Ingest": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "ingest"}},
        "IngestDlq": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "ingest-dlq"}},
        "FailureDlq": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "failure-dlq"}},
    },
    "Outputs": {
        "InputBucketName": {"Value": {"Ref": "Input"}},
        "ResultsBucketName": {"Value": {"Ref": "Results"}},
        "IngestQueueUrl": {"Value": {"Ref": "Ingest"}},
        "IngestDlqUrl": {"Value": {"Ref": "IngestDlq"}},
        "FailureDlqUrl": {"Value": {"Ref": "FailureDlq"}},
        "ClaimsTableName": {"Value": "claims"},
        "GlueDatabase": {"Value": "labelwatch"},
        "AthenaWorkgroup": {"Value": "labelwatch"},
    },
}
RECORD = {
    "image": "s3://farm-uploads/field-3/leaf.jpg",
    "bucket": "farm-uploads",
    "key": "field-3/leaf.jpg",
    "label": "leaf-smut",
    "confidence": 91.5,
    "alert": True,
    "status": "ok",
    "reason": None,
    "model": "arn:aws:rekognition:eu-west-1:123456789012:project/p/version/p.1/1764028800000",
    "uploaded_at": "2026-11-26T10:00:00Z",
    "detected_at": "2026-11-26T10:00:02Z",
    "execution": "arn:aws:states:eu-west-1:123456789012:express:x:y:z",
    "width": 640,
    "height": 480,
    "geometry": None,
}


@pytest.fixture
def deployed(monkeypatch, tmp_path):
    monkeypatch.setenv("LABELWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(console, "width", 250)
    with mock_aws():
        boto3.client("cloudformation", region_name=REGION).create_stack(
            StackName="Labelwatch", TemplateBody=json.dumps(TEMPLATE)
        )
        boto3.client("s3", region_name=REGION).put_object(
            Bucket="farm-results", Key="results/dt=2026-11-26/abc.json", Body=json.dumps(RECORD) + "\n"
        )
        yield boto3.client("s3", region_name=REGION)


def invoke(capsys, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = run(["--region", REGION, *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_results_upload_and_dlq_use_the_deployed_stacks_outputs(deployed, capsys, tmp_path):
    code, out = invoke(capsys, "results", "--format", "json")
    assert code == 0, out
    assert [(row["key"], row["label"], row["alert"]) for row in json.loads(out)] == [
        ("field-3/leaf.jpg", "leaf-smut", True)
    ]

    photo = tmp_path / "leaf.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 not really a photo")
    code, out = invoke(capsys, "upload", str(photo), "--prefix", "field-4")
    assert code == 0, out
    assert (
        deployed.get_object(Bucket="farm-uploads", Key="field-4/leaf.jpg")["Body"]
        .read()
        .startswith(b"\xff\xd8")
    )

    code, out = invoke(capsys, "alerts")
    assert code == 0 and "field-3/leaf.jpg" in out, "on AWS: the alerting results (SNS keeps no log)"
    code, out = invoke(capsys, "dlq", "list")
    assert code == 0 and "both dead-letter queues are empty" in out


def test_a_missing_deployed_stack_is_a_clear_error(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("LABELWATCH_HOME", str(tmp_path / "home"))
    with mock_aws():
        code, out = invoke(capsys, "results")
    assert code == 3
    assert "cannot read stack 'Labelwatch'" in out
