"""Test data for the detect function: constants, events, images, Rekognition answers."""

from __future__ import annotations

import io

from PIL import Image

BUCKET = "input-bucket"
MODEL_ARN = "arn:aws:rekognition:us-east-1:123456789012:project/leaves/version/leaves.v1/1700000000000"
EXECUTION = "arn:aws:states:us-east-1:123456789012:express:labelwatch:exec-1:run-1"
RULES = '{"leaf-smut": 80, "bacterial-leaf-blight": 70.5}'


def image_bytes(fmt: str, size: tuple[int, int] = (100, 80)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (40, 160, 60)).save(buffer, fmt)
    return buffer.getvalue()


def custom_label(name: str, confidence: float, box: dict | None = None) -> dict:
    item = {"Name": name, "Confidence": confidence}
    if box is not None:
        item["Geometry"] = {"BoundingBox": box}
    return item


def make_event(key: str, *, sequencer: str = "0062E99A88DC407460", version_id: str | None = None) -> dict:
    obj = {"key": key, "size": 123, "etag": "abc", "sequencer": sequencer}
    if version_id:
        obj["version-id"] = version_id
    return {
        "bucket": BUCKET,
        "key": key,
        "sequencer": sequencer,
        "eventTime": "2026-11-25T10:00:00Z",
        "object": obj,
        "execution": EXECUTION,
        "messageId": "msg-1",
    }
