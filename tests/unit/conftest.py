"""Fixtures for the detect function's unit tests: moto S3, real images made with Pillow, a stubbed
Rekognition client and the function's environment."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest
from botocore.stub import Stubber
from moto import mock_aws

from labelwatch.clients import boto3_session
from tests.unit.factories import BUCKET, MODEL_ARN, RULES

# Read when the handler module is imported (Powertools resolves them at construction).
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "labelwatch-detect")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "labelwatch-test")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")


@pytest.fixture(autouse=True)
def aws_env(monkeypatch):
    """Fake credentials and a region; never a real endpoint or profile."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_REKOGNITION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")


@pytest.fixture
def function_env(monkeypatch):
    """The detect function's environment as infra sets it."""
    env = {
        "MODEL_ARN": MODEL_ARN,
        "LABEL_RULES": RULES,
        "IMAGE_LINKS": "false",
        "RESULTS_PREFIX": "results/",
        "CLAIM_RETENTION_DAYS": "7",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def s3():
    with mock_aws():
        # moto drops boto3's default session on start, so boto3.client would re-read the service
        # model for every test (~0.2 s); a session on the process-wide loader does not
        client = boto3_session(region_name="us-east-1").client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def rekognition():
    """A real botocore Rekognition client with a Stubber: requests are validated against the API model."""
    client = boto3_session(region_name="us-east-1").client("rekognition")  # the shared loader, as s3
    with Stubber(client) as stubber:
        yield SimpleNamespace(client=client, stubber=stubber)
        stubber.assert_no_pending_responses()


@pytest.fixture
def lambda_context():
    return SimpleNamespace(
        function_name="labelwatch-detect",
        memory_limit_in_mb=512,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:labelwatch-detect",
        aws_request_id="req-1",
        get_remaining_time_in_millis=lambda: 30_000,  # the function's Timeout, just invoked
    )
