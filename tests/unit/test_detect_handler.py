"""The Lambda end to end: moto S3, a stubbed Rekognition, the real handler and its Powertools."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime

import boto3
import pytest
from botocore.config import Config
from detect import clients
from detect import handler as handler_module
from detect.errors import DetectorThrottled, ModelNotReady, SettingsError
from detect.handler import lambda_handler
from detect.result import PAYLOAD_KEYS
from links.keys import LinkKeys
from links.token import verify

from tests.unit.factories import BUCKET, EXECUTION, MODEL_ARN, custom_label, image_bytes, make_event

CONTRACT_KEYS = set(PAYLOAD_KEYS)  # the typed contract's names (detect/result.py)
KEY = "leaves/my photoé.jpg"
ENCODED_KEY = "leaves/my+photo%C3%A9.jpg"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:LinksSecret-AbCdEf"
LINK_KEYS = LinkKeys(current=2, keys={1: b"1" * 64, 2: b"2" * 64})


class CurrentStdout:
    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def wired(s3, rekognition, function_env, capsys, monkeypatch):
    # The Powertools logger keeps the stdout it saw at import; make it write to whatever stdout is now.
    monkeypatch.setattr(handler_module.logger.registered_handler, "stream", CurrentStdout())
    presign = boto3.client("s3", region_name="us-east-1", config=Config(signature_version="s3v4"))
    clients.override(s3=s3, rekognition=rekognition.client, s3_presign=presign)
    yield rekognition.stubber
    clients.reset()


def emitted(capsys):
    """Log lines and EMF metric documents the handler printed."""
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    metrics = {}
    for doc in out:
        if "_aws" in doc:
            for definition in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = doc[definition["Name"]]
                metrics[definition["Name"]] = sum(value) if isinstance(value, list) else value
    return [doc for doc in out if "_aws" not in doc], metrics


def expect_detection(stubber, labels, key=KEY):
    stubber.add_response(
        "detect_custom_labels",
        {"CustomLabels": labels},
        {
            "ProjectVersionArn": MODEL_ARN,
            "Image": {"S3Object": {"Bucket": BUCKET, "Name": key}},
            "MinConfidence": 70.5,
            "MaxResults": 50,  # MAX_LABELS' default: an object-detection model returns one per box
        },
    )


def test_ok_with_alert(s3, wired, lambda_context, capsys):
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=image_bytes("JPEG", (100, 80)))
    expect_detection(wired, [custom_label("leaf-smut", 93.1), custom_label("healthy", 20.0)])
    started = time.time()

    result = lambda_handler(make_event(ENCODED_KEY), lambda_context)

    assert set(result) == CONTRACT_KEYS
    assert len(result["imageId"]) == 32
    assert result["image"] == f"s3://{BUCKET}/{KEY}"
    assert (result["status"], result["reason"], result["alert"]) == ("ok", None, True)
    assert result["labels"] == [
        {"name": "leaf-smut", "confidence": 93.1},
        {"name": "healthy", "confidence": 20.0},
    ]
    assert result["matches"] == [{"name": "leaf-smut", "confidence": 93.1, "threshold": 80.0}]
    (alert,) = result["alerts"]
    assert (alert["label"], json.loads(alert["labels"])) == ("leaf-smut", ["leaf-smut"])
    assert alert["subject"] == "labelwatch: leaf-smut 93.1% in leaves/my photoe.jpg"
    assert f"s3://{BUCKET}/{KEY}" in alert["message"] and EXECUTION in alert["message"]
    assert "http" not in alert["message"]  # IMAGE_LINKS is false
    assert alert["cooldown"] is None  # ALERT_COOLDOWN_MINUTES unset: flood control off
    assert result["resultKey"] == f"results/dt=2026-11-25/{result['imageId']}.json"
    rows = [json.loads(line) for line in result["resultBody"].splitlines()]
    assert [(r["label"], r["alert"], r["width"], r["height"]) for r in rows] == [
        ("leaf-smut", True, 100, 80),
        ("healthy", False, 100, 80),
    ]
    assert abs(result["claimExpiresAt"] - (started + 7 * 86400)) < 60
    json.dumps(result)  # the state machine receives it as JSON

    logs, metrics = emitted(capsys)
    assert metrics == {
        "ImagesProcessed": 1,
        "LabelsDetected": 2,
        "AlertsRaised": 1,
        "ImagesRejected": 0,
        "ImagesNormalised": 0,
    }
    assert result["normalised"] is None
    (summary,) = [line for line in logs if line["message"] == "image processed"]
    assert (summary["key"], summary["execution"], summary["correlation_id"]) == (KEY, EXECUTION, "msg-1")


def test_ok_without_alert(s3, wired, lambda_context, capsys):
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=image_bytes("PNG"))
    expect_detection(wired, [custom_label("leaf-smut", 79.99)])

    result = lambda_handler(make_event(ENCODED_KEY), lambda_context)

    assert set(result) == CONTRACT_KEYS
    assert (result["status"], result["alert"], result["matches"]) == ("ok", False, [])
    assert result["alerts"] == []
    (row,) = [json.loads(line) for line in result["resultBody"].splitlines()]
    assert (row["label"], row["confidence"], row["alert"]) == ("leaf-smut", 79.99, False)
    assert emitted(capsys)[1]["AlertsRaised"] == 0


def test_no_labels_at_all(s3, wired, lambda_context):
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=image_bytes("PNG"))
    expect_detection(wired, [])
    result = lambda_handler(make_event(ENCODED_KEY), lambda_context)
    (row,) = [json.loads(line) for line in result["resultBody"].splitlines()]
    assert (result["status"], result["labels"], row["label"], row["status"]) == ("ok", [], None, "ok")


def test_rejected_image_is_a_result_not_an_error(s3, wired, lambda_context, capsys):
    s3.put_object(Bucket=BUCKET, Key="leaves/tiny.jpg", Body=image_bytes("JPEG", (40, 30)))
    # no Rekognition response queued: calling the model would fail the test

    result = lambda_handler(make_event("leaves/tiny.jpg"), lambda_context)

    assert set(result) == CONTRACT_KEYS
    assert (result["status"], result["reason"], result["alert"], result["normalised"]) == (
        "rejected",
        "too-small",
        False,
        None,
    )
    assert (result["labels"], result["matches"], result["alerts"]) == ([], [], [])
    (row,) = [json.loads(line) for line in result["resultBody"].splitlines()]
    assert (row["status"], row["reason"], row["label"]) == ("rejected", "too-small", None)
    assert (row["width"], row["height"]) == (40, 30)
    assert emitted(capsys)[1]["ImagesRejected"] == 1


def test_gif_is_sent_as_jpeg_bytes(s3, wired, lambda_context, capsys):
    s3.put_object(Bucket=BUCKET, Key="leaves/anim.gif", Body=image_bytes("GIF"))
    # the Stubber validates the request against the API model (Bytes: a blob)
    wired.add_response("detect_custom_labels", {"CustomLabels": [custom_label("leaf-smut", 90.0)]})

    result = lambda_handler(make_event("leaves/anim.gif"), lambda_context)

    assert (result["status"], result["normalised"], result["alert"]) == ("ok", "gif→jpeg, palette→rgb", True)
    (row,) = [json.loads(line) for line in result["resultBody"].splitlines()]
    assert (row["label"], row["width"], row["height"]) == ("leaf-smut", 100, 80)
    logs, metrics = emitted(capsys)
    assert metrics["ImagesNormalised"] == 1
    (summary,) = [line for line in logs if line["message"] == "image processed"]
    assert summary["normalised"] == "gif→jpeg, palette→rgb"


def test_model_rejecting_the_image_is_a_rejection(s3, wired, lambda_context):
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=image_bytes("JPEG"))
    # refused as the S3 object, then refused again as re-encoded bytes
    wired.add_client_error("detect_custom_labels", service_error_code="InvalidImageFormatException")
    wired.add_client_error("detect_custom_labels", service_error_code="InvalidImageFormatException")
    result = lambda_handler(make_event(ENCODED_KEY), lambda_context)
    (row,) = [json.loads(line) for line in result["resultBody"].splitlines()]
    assert (result["status"], result["reason"]) == ("rejected", "unsupported-format")
    assert result["normalised"] == "jpeg→jpeg (the model refused the original)"
    assert (row["width"], row["height"]) == (100, 80)


@pytest.mark.parametrize(
    ("code", "error"),
    [("ResourceNotReadyException", ModelNotReady), ("ThrottlingException", DetectorThrottled)],
)
def test_detector_errors_reach_the_workflow_typed(s3, wired, lambda_context, capsys, code, error):
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=image_bytes("JPEG"))
    wired.add_client_error("detect_custom_labels", service_error_code=code)
    with pytest.raises(error):
        lambda_handler(make_event(ENCODED_KEY), lambda_context)
    assert emitted(capsys)[1] == {"DetectionsDeferred": 1}


LINK_BASE = "https://abcdefghijklmnopqrstuvwxyz234567.lambda-url.ap-southeast-5.on.aws/"


def test_image_link_is_short_signed_by_the_current_key_and_never_logged(
    s3, wired, lambda_context, capsys, monkeypatch
):
    """The alert's link is the link function's URL and a token of at most 200 characters in all, whose
    expiry is IMAGE_LINK_DAYS away and which the current key of the link secret verifies."""
    monkeypatch.setenv("IMAGE_LINKS", "true")
    monkeypatch.setenv("LINK_BASE_URL", LINK_BASE)
    monkeypatch.setenv("LINK_SECRET_ARN", SECRET_ARN)
    monkeypatch.setenv("IMAGE_LINK_DAYS", "30")
    monkeypatch.setattr(handler_module, "load_link_keys", {SECRET_ARN: LINK_KEYS}.__getitem__)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=image_bytes("JPEG"))
    expect_detection(wired, [custom_label("bacterial-leaf-blight", 88.0)])

    result = lambda_handler(make_event(ENCODED_KEY), lambda_context)

    (alert,) = result["alerts"]
    urls = [line for line in alert["message"].splitlines() if line.startswith("http")]
    assert len(urls) == 2 and urls[1] == urls[0] + "?view"
    assert all(len(url) <= 200 for url in urls)
    assert urls[0].startswith(LINK_BASE + "i/")
    claims = verify(urls[0].rsplit("/", 1)[1], LINK_KEYS.keys, int(datetime.now(UTC).timestamp()))
    assert claims.image_id == result["imageId"] and claims.key_id == 2
    assert 29.9 * 86400 < claims.expires - datetime.now(UTC).timestamp() <= 30 * 86400
    printed = capsys.readouterr().out
    assert "image processed" in printed and f"s3://{BUCKET}/{KEY}" in printed
    assert urls[0].rsplit("/", 1)[1] not in printed  # the token is in no log line


def test_bad_configuration_names_the_variable(wired, lambda_context, monkeypatch, capsys):
    monkeypatch.setenv("LABEL_RULES", '{"leaf-smut": 180}')
    with pytest.raises(SettingsError, match="LABEL_RULES"):
        lambda_handler(make_event(ENCODED_KEY), lambda_context)
    assert emitted(capsys)[1] == {"DetectionsFailed": 1}


def test_decoding_gets_the_invocations_remaining_time(s3, wired, lambda_context, monkeypatch):
    """With nothing left of the invocation, an image that must be decoded is rejected as
    decode-timeout: a result, where a function timeout would be retried, as long again."""
    monkeypatch.setattr(lambda_context, "get_remaining_time_in_millis", lambda: 0)
    s3.put_object(Bucket=BUCKET, Key="scan.tiff", Body=image_bytes("TIFF", (300, 200)))

    result = lambda_handler(make_event("scan.tiff"), lambda_context)

    assert (result["status"], result["reason"]) == ("rejected", "decode-timeout")


def test_the_decode_deadline_keeps_a_margin_for_the_model_call():
    """A quarter of the remaining time, at most DECODE_MARGIN_S, is kept for the model call."""
    assert handler_module.decode_deadline(30_000, now=100.0) == 122.5
    assert handler_module.decode_deadline(60_000, now=100.0) == 160 - handler_module.DECODE_MARGIN_S
    assert handler_module.decode_deadline(2_000, now=100.0) == 101.5
