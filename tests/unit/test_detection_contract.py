"""The detection result is one typed contract (detect/result.py); the document, the workflow's
definition and the function agree with it, and its size stays within what a state may hold."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from detect.records import to_ndjson
from detect.result import PAYLOAD_BUDGET, PAYLOAD_KEYS
from detect.rules import parse_label_rules
from detect.service import process_image
from detect.settings import Settings

from tests.unit.factories import BUCKET, MODEL_ARN, custom_label, encode, make_event, solid

ROOT = Path(__file__).resolve().parents[2]
STATE_LIMIT = 256 * 1024  # Step Functions: a state's input or output


def test_the_document_shows_exactly_the_payloads_fields():
    text = (ROOT / "docs" / "contracts.md").read_text()
    block = text.split("## DetectLabels: output", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    assert tuple(re.findall(r'^  "(\w+)":', block, re.MULTILINE)) == PAYLOAD_KEYS  # top level


def test_the_workflow_reads_only_fields_the_payload_has():
    definition = (ROOT / "statemachine" / "workflow.asl.json").read_text()
    read = set(re.findall(r"\$\.detection\.(\w+)", definition))
    assert read and read <= set(PAYLOAD_KEYS), read - set(PAYLOAD_KEYS)


class Boxes:
    """An object-detection model: one label per box, ``count`` of them, honouring MaxResults."""

    def __init__(self, count: int):
        self.count = count
        self.requests: list[dict] = []

    def detect_custom_labels(self, **request):
        self.requests.append(request)
        box = {"BoundingBox": {"Width": 0.01, "Height": 0.02, "Left": 0.3, "Top": 0.4}}
        labels = [
            custom_label("leaf-smut" if n == 0 else "bacterial-leaf-blight", 99.0 - n * 0.5, box)
            for n in range(self.count)
        ]
        return {"CustomLabels": labels[: request.get("MaxResults", self.count)]}


# 1,024 bytes of UTF-8, 4 bytes a character: the Lambda runtime writes each as a 12-byte \\u pair
LONG_KEY = "champ-rangée-7/" + "🌿" * 251 + ".jpg"


def detect(s3, model, *, max_labels: int, key: str = LONG_KEY):
    assert len(key.encode()) == 1024
    s3.put_object(Bucket=BUCKET, Key=key, Body=encode(solid((200, 150)), "JPEG"))
    settings = Settings(
        model_arn=MODEL_ARN,
        label_rules=parse_label_rules('{"leaf-smut": 80, "bacterial-leaf-blight": 99}'),
        max_labels=max_labels,
    )
    now = datetime(2026, 11, 25, 10, 0, 5, tzinfo=UTC)
    event = make_event(quote_plus(key, safe="/"))
    return process_image(event, s3=s3, rekognition=model, settings=settings, now=now)


def test_a_hundred_boxes_and_a_1024_byte_key_fit_in_a_state(s3):
    """Each record repeats the key; 100 of them were 343 KiB as the Lambda answered: the state failed
    with States.DataLimitExceeded (no Catch takes it) and with it the whole batch."""
    model = Boxes(100)

    detection = detect(s3, model, max_labels=100)

    payload = json.dumps(detection.payload())
    assert len(payload) <= PAYLOAD_BUDGET < STATE_LIMIT
    records = [json.loads(line) for line in detection.result_body.splitlines()]
    assert len(records) + detection.labels_omitted == 100 and detection.labels_omitted > 0
    assert [label.name for label in detection.labels] == [record["label"] for record in records]
    assert [(r["label"], r["confidence"]) for r in records if r["alert"]] == [("leaf-smut", 99.0)]
    (alert,) = detection.alerts
    assert detection.alert and "leaf-smut" in alert.message  # an alerted label is never left out
    assert all(record["key"] == LONG_KEY for record in records)
    assert [record["confidence"] for record in records] == [99.0 - n * 0.5 for n in range(len(records))]
    assert detection.result_body == to_ndjson(records)


def test_labels_per_image_are_capped_by_the_service(s3):
    model = Boxes(100)

    detection = detect(s3, model, max_labels=50, key="rows/" + "r" * 1015 + ".jpg")

    assert model.requests[0]["MaxResults"] == 50
    assert len(detection.labels) == 50 and len(detection.result_body.splitlines()) == 50
    assert detection.labels_omitted == 0 and len(json.dumps(detection.payload())) <= PAYLOAD_BUDGET


class SpottedLeaf(Boxes):
    """Every box a match: 100 leaf-smut spots on one leaf, each at or above its threshold."""

    def detect_custom_labels(self, **request):
        self.requests.append(request)
        box = {"BoundingBox": {"Width": 0.01, "Height": 0.02, "Left": 0.3, "Top": 0.4}}
        labels = [custom_label("leaf-smut", 99.0 - n * 0.1, box) for n in range(self.count)]
        return {"CustomLabels": labels[: request.get("MaxResults", self.count)]}


def test_a_hundred_alerted_boxes_fit_too_and_the_alert_keeps_its_label(s3):
    """No label to leave out but alerted ones: further boxes of the alerted label go, its best stays."""
    detection = detect(s3, SpottedLeaf(100), max_labels=100)

    assert len(json.dumps(detection.payload())) <= PAYLOAD_BUDGET
    records = [json.loads(line) for line in detection.result_body.splitlines()]
    assert records[0]["label"] == "leaf-smut" and records[0]["confidence"] == 99.0 and records[0]["alert"]
    assert len(records) + detection.labels_omitted == 100 and detection.labels_omitted > 0
    assert [json.loads(alert.labels) for alert in detection.alerts] == [["leaf-smut"]]


class TenDiseases(Boxes):
    """Ten labels of interest, each over its threshold, ten boxes each: every rule alerts."""

    def detect_custom_labels(self, **request):
        self.requests.append(request)
        box = {"BoundingBox": {"Width": 0.01, "Height": 0.02, "Left": 0.3, "Top": 0.4}}
        labels = [custom_label(f"disease-{n % 10}", 99.0 - n * 0.1, box) for n in range(self.count)]
        return {"CustomLabels": labels[: request.get("MaxResults", self.count)]}


LONG_FOLDER_KEY = "🌿" * 253 + "/abcdefg.jpg"  # 1,013 of its 1,024 bytes in the folder


@pytest.mark.parametrize("key", [LONG_KEY, LONG_FOLDER_KEY])
def test_ten_alerts_with_their_cooldown_windows_fit_with_a_1024_byte_key(s3, key):
    """Each alert carries its own message and window (the folder repeats in both): with flood control
    on, the worst image still fits in a state, and keeps every alert."""
    assert len(key.encode()) == 1024
    s3.put_object(Bucket=BUCKET, Key=key, Body=encode(solid((200, 150)), "JPEG"))
    settings = Settings(
        model_arn=MODEL_ARN,
        label_rules=parse_label_rules(json.dumps({f"disease-{n}": 50 for n in range(10)})),
        max_labels=100,
        alert_cooldown_minutes=60,
    )
    now = datetime(2026, 11, 25, 10, 0, 5, tzinfo=UTC)
    event = make_event(quote_plus(key, safe="/"))
    detection = process_image(event, s3=s3, rekognition=TenDiseases(100), settings=settings, now=now)

    assert len(json.dumps(detection.payload())) <= PAYLOAD_BUDGET < STATE_LIMIT
    assert sorted(alert.label for alert in detection.alerts) == [f"disease-{n}" for n in range(10)]
    assert all(alert.cooldown["folder"] == key[: key.rfind("/") + 1] for alert in detection.alerts)
