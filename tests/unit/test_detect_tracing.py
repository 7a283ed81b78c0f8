"""The detect function's X-Ray subsegments without the X-Ray SDK (detect.tracing), and its cold start."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from detect import tracing
from detect.handler import lambda_handler

from tests.unit.factories import BUCKET, custom_label, image_bytes, make_event
from tests.unit.test_detect_handler import ENCODED_KEY, KEY, expect_detection, wired  # noqa: F401

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
ROOT = "1-6747c3a1-0123456789abcdef01234567"
PARENT = "53995c3f42cd8ad8"


@pytest.fixture
def daemon(monkeypatch):
    """A UDP socket standing in for the X-Ray daemon, and a sampled invocation in Lambda."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2)
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", f"127.0.0.1:{sock.getsockname()[1]}")
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(FUNCTIONS))
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT};Parent={PARENT};Sampled=1")

    def received() -> list[dict]:
        documents = []
        sock.settimeout(0.3)
        while True:
            try:
                data = sock.recv(65536)
            except TimeoutError:
                return documents
            header, _, body = data.partition(b"\n")
            assert json.loads(header) == {"format": "json", "version": 1}
            documents.append(json.loads(body))

    yield received
    sock.close()


def test_trace_header_parsing() -> None:
    header = tracing.TraceHeader.parse(f"Root={ROOT};Parent={PARENT};Sampled=1;Lineage=a:1")
    assert header == tracing.TraceHeader(ROOT, PARENT, True)
    assert tracing.TraceHeader.parse(f"Root={ROOT};Parent={PARENT};Sampled=0").sampled is False
    assert tracing.TraceHeader.parse(f"Root={ROOT}") is None
    assert tracing.TraceHeader.parse(None) is None


def test_daemon_address_forms() -> None:
    assert tracing.daemon_address({}) == ("127.0.0.1", 2000)
    lambda_daemon = {"AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000"}
    assert tracing.daemon_address(lambda_daemon) == ("169.254.79.129", 2000)
    both = {"AWS_XRAY_DAEMON_ADDRESS": "tcp:127.0.0.1:2001 udp:127.0.0.2:2002"}
    assert tracing.daemon_address(both) == ("127.0.0.2", 2002)


def test_enabled_only_in_lambda_and_not_disabled() -> None:
    assert tracing.tracing_enabled({"LAMBDA_TASK_ROOT": "/var/task"})
    assert not tracing.tracing_enabled({})
    assert not tracing.tracing_enabled({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "1"})
    assert not tracing.tracing_enabled({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"})


def test_handler_subsegment_with_annotations_and_aws_calls(s3, wired, lambda_context, daemon) -> None:  # noqa: F811
    tracing.instrument(s3)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=image_bytes("JPEG", (100, 80)))
    expect_detection(wired, [custom_label("leaf-smut", 93.1)])
    daemon()  # not inside a traced invocation: nothing sent for the upload
    result = lambda_handler(make_event(ENCODED_KEY), lambda_context)
    assert result["alert"] is True

    documents = daemon()
    (handler,) = [doc for doc in documents if doc["name"] == "## lambda_handler"]
    assert handler["type"] == "subsegment"
    assert (handler["trace_id"], handler["parent_id"]) == (ROOT, PARENT)
    assert handler["annotations"]["status"] == "ok" and handler["annotations"]["alert"] is True
    assert handler["annotations"]["Service"] == "labelwatch-detect"
    assert isinstance(handler["annotations"]["ColdStart"], bool)
    assert handler["start_time"] <= handler["end_time"]
    assert "fault" not in handler and "metadata" not in handler  # the response is never recorded
    calls = [doc for doc in documents if doc.get("namespace") == "aws"]
    assert [doc["aws"]["operation"] for doc in calls] == ["GetObject"]  # size and bytes in one ranged GET
    for call in calls:
        assert call["name"] == "S3" and call["parent_id"] == handler["id"] and call["trace_id"] == ROOT
        assert call["http"]["response"]["status"] in (200, 206)
        assert call["aws"]["region"] == "us-east-1"


def test_failed_invocation_is_a_fault(daemon) -> None:
    @tracing.capture_lambda_handler(service="svc")
    def handler(event, context):
        raise ValueError("broken")

    with pytest.raises(ValueError):
        handler({}, None)
    (document,) = daemon()
    assert document["fault"] is True
    assert document["cause"]["exceptions"][0]["type"] == "ValueError"
    assert document["cause"]["exceptions"][0]["message"] == "broken"


def test_nothing_sent_when_not_sampled_or_outside_lambda(daemon, monkeypatch) -> None:
    @tracing.capture_lambda_handler(service="svc")
    def handler(event, context):
        tracing.put_annotation("k", "v")
        return "done"

    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT};Parent={PARENT};Sampled=0")
    assert handler({}, None) == "done"
    monkeypatch.setenv("_X_AMZN_TRACE_ID", f"Root={ROOT};Parent={PARENT};Sampled=1")
    monkeypatch.delenv("LAMBDA_TASK_ROOT")
    assert handler({}, None) == "done"
    assert daemon() == []


def test_handler_import_leaves_the_xray_sdk_boto3_and_heif_out() -> None:
    """Init Duration: importing the handler, as Lambda does, imports none of the heavy packages."""
    probe = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(FUNCTIONS)!r})\n"
        "import detect.handler\n"
        "heavy = ['aws_xray_sdk', 'boto3', 'botocore.session', 'pi_heif', 'pillow_heif', 's3transfer']\n"
        "print(json.dumps([name for name in heavy if name in sys.modules]))\n"
    )
    env = {**os.environ, "LAMBDA_TASK_ROOT": str(FUNCTIONS), "POWERTOOLS_SERVICE_NAME": "labelwatch-detect"}
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    out = subprocess.run([sys.executable, "-c", probe], env=env, check=True, capture_output=True, text=True)
    assert json.loads(out.stdout) == []
