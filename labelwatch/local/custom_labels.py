"""A local stand-in for Rekognition Custom Labels behind the embedded endpoint.

moto answers ``DetectCustomLabels`` with a canned label whatever the image; that must never be
used. Here the call is answered by a registered model *version* with Custom Labels' semantics:
it must be started (else ``ResourceNotReadyException``), ``MinConfidence`` filters labels,
confidences are 0–100, an unknown ARN is ``ResourceNotFoundException``, and the image is read
from the embedded S3 (``S3Object``) or from ``Bytes``.

A *predictor* is any callable ``(image_bytes) -> [(label, confidence 0..100, geometry|None)]``:
the trained local model (issue: local model) or a scripted one in tests. Faults can be injected
per call (throttling) to exercise the workflow's retries.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.rekognition.responses import RekognitionResponse
from moto.s3.models import s3_backends

Prediction = tuple[str, float, dict | None]
Predictor = Callable[[bytes], list[Prediction]]
FaultInjector = Callable[[str], str | None]  # (model arn) -> error code to raise, or None

MAX_S3_OBJECT_BYTES = 15 * 1024 * 1024
MAX_INLINE_BYTES = 4 * 1024 * 1024


@dataclass
class ModelVersion:
    arn: str
    predictor: Predictor
    running: bool = False
    calls: int = 0


@dataclass
class CustomLabelsRegistry:
    versions: dict[str, ModelVersion] = field(default_factory=dict)
    fault: FaultInjector | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, arn: str, predictor: Predictor, *, running: bool = True) -> ModelVersion:
        with self._lock:
            version = ModelVersion(arn=arn, predictor=predictor, running=running)
            self.versions[arn] = version
            return version

    def start(self, arn: str) -> None:
        self._version(arn).running = True

    def stop(self, arn: str) -> None:
        self._version(arn).running = False

    def _version(self, arn: str) -> ModelVersion:
        try:
            return self.versions[arn]
        except KeyError:
            raise JsonRESTError(
                "ResourceNotFoundException", f"The project version {arn} does not exist."
            ) from None

    def detect(self, arn: str, image_bytes: bytes, min_confidence: float | None) -> list[dict[str, Any]]:
        version = self._version(arn)
        if self.fault and (code := self.fault(arn)):
            raise JsonRESTError(code, f"Injected fault: {code}")
        if not version.running:
            raise JsonRESTError(
                "ResourceNotReadyException", f"The project version {arn} is not running. Start it first."
            )
        if not image_bytes.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")):
            raise JsonRESTError("InvalidImageFormatException", "Request has unsupported image format")
        with self._lock:
            version.calls += 1
        floor = 0.0 if min_confidence is None else float(min_confidence)
        labels = []
        for name, confidence, geometry in version.predictor(image_bytes):
            if confidence >= floor:
                label: dict[str, Any] = {"Name": name, "Confidence": float(confidence)}
                if geometry:
                    label["Geometry"] = {"BoundingBox": geometry}
                labels.append(label)
        return sorted(labels, key=lambda item: -item["Confidence"])


REGISTRY = CustomLabelsRegistry()
_original = RekognitionResponse.detect_custom_labels


def _read_image(response: RekognitionResponse, image: dict[str, Any]) -> bytes:
    if "Bytes" in image:
        data = base64.b64decode(image["Bytes"])
        if len(data) > MAX_INLINE_BYTES:
            raise JsonRESTError("ImageTooLargeException", "Image bytes exceed 4 MB.")
        return data
    ref = image.get("S3Object") or {}
    backend = s3_backends[response.current_account]["aws"]
    try:
        key = backend.get_object(ref["Bucket"], ref["Name"], version_id=ref.get("Version"))
    except Exception:
        key = None
    if key is None:
        raise JsonRESTError("InvalidS3ObjectException", "Unable to get object metadata from S3.")
    if key.size > MAX_S3_OBJECT_BYTES:
        raise JsonRESTError("ImageTooLargeException", "Image size exceeds 15 MB.")
    return key.value


def _detect_custom_labels(self: RekognitionResponse) -> str:
    arn = self._get_param("ProjectVersionArn")
    image_bytes = _read_image(self, self._get_param("Image") or {})
    labels = REGISTRY.detect(arn, image_bytes, self._get_param("MinConfidence"))
    return json.dumps({"CustomLabels": labels})


def install() -> None:
    """Answer DetectCustomLabels from the registry instead of moto's canned label."""
    RekognitionResponse.detect_custom_labels = _detect_custom_labels


def uninstall() -> None:
    RekognitionResponse.detect_custom_labels = _original
