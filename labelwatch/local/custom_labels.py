"""A local stand-in for Rekognition Custom Labels behind the embedded endpoint.

moto answers ``DetectCustomLabels`` with a canned label whatever the image; that must never be
used. Here the call is answered by a registered model *version* with Custom Labels' semantics:
it must be started (else ``ResourceNotReadyException``), ``MinConfidence`` filters labels,
confidences are 0–100, an unknown ARN is ``ResourceNotFoundException``, and the image is read
from the embedded S3 (``S3Object``) or from ``Bytes``.

A *predictor* is any callable ``(image_bytes) -> [(label, confidence 0..100, geometry|None)]``:
the trained local model or a scripted one in tests. Faults can be injected per call (throttling)
to exercise the workflow's retries.

Versions trained with ``labelwatch model train`` are found through a ``ModelSource`` (the local
model store) the first time their ARN is used, and ``StartProjectVersion``,
``StopProjectVersion`` and ``DescribeProjectVersions`` work on the endpoint as on AWS, so the
same ``labelwatch model start|stop|status`` commands drive a local and a deployed model.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from moto.core.exceptions import JsonRESTError
from moto.rekognition.responses import RekognitionResponse
from moto.s3.models import s3_backends

Prediction = tuple[str, float, dict | None]
Predictor = Callable[[bytes], list[Prediction]]
FaultInjector = Callable[[str], str | None]  # (model arn) -> error code to raise, or None

MAX_S3_OBJECT_BYTES = 15 * 1024 * 1024
MAX_INLINE_BYTES = 4 * 1024 * 1024


RUNNING = "RUNNING"
STOPPED = "STOPPED"


class ModelSource(Protocol):
    """Where trained versions live (the local model store)."""

    def predictor(self, arn: str) -> tuple[Predictor, dict[str, float]]:
        """The version's predictor and its per-label assumed thresholds; KeyError if unknown."""
        ...

    def status(self, arn: str) -> str: ...

    def set_status(self, arn: str, status: str) -> None: ...

    def describe(self, arn: str) -> dict[str, Any]:
        """CreationTimestamp (epoch seconds), EvaluationResult, …: DescribeProjectVersions fields."""
        ...

    def arns(self) -> list[str]: ...


@dataclass
class ModelVersion:
    arn: str
    predictor: Predictor
    running: bool = False
    calls: int = 0
    assumed_thresholds: dict[str, float] = field(default_factory=dict)
    stored: bool = False  # loaded from the ModelSource, which keeps its status


@dataclass
class CustomLabelsRegistry:
    versions: dict[str, ModelVersion] = field(default_factory=dict)
    fault: FaultInjector | None = None
    source: ModelSource | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def register(
        self,
        arn: str,
        predictor: Predictor,
        *,
        running: bool = True,
        assumed_thresholds: dict[str, float] | None = None,
    ) -> ModelVersion:
        with self._lock:
            version = ModelVersion(
                arn=arn, predictor=predictor, running=running, assumed_thresholds=assumed_thresholds or {}
            )
            self.versions[arn] = version
            return version

    def start(self, arn: str) -> None:
        self._set_running(arn, True)

    def stop(self, arn: str) -> None:
        self._set_running(arn, False)

    def _set_running(self, arn: str, running: bool) -> None:
        version = self._version(arn)
        version.running = running
        if version.stored and self.source is not None:
            self.source.set_status(arn, RUNNING if running else STOPPED)

    def status(self, arn: str) -> str:
        version = self._version(arn)
        if version.running:
            return RUNNING
        if version.stored and self.source is not None:
            return self.source.status(arn)
        return STOPPED

    def _version(self, arn: str) -> ModelVersion:
        if arn not in self.versions and self.source is not None:
            try:
                predictor, thresholds = self.source.predictor(arn)
            except KeyError:
                pass
            else:
                running = self.source.status(arn) == RUNNING
                with self._lock:
                    self.versions.setdefault(
                        arn,
                        ModelVersion(
                            arn, predictor, running=running, assumed_thresholds=thresholds, stored=True
                        ),
                    )
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
        labels = []
        try:
            predictions = version.predictor(image_bytes)
        except ValueError as error:  # JPEG/PNG magic bytes but not decodable
            raise JsonRESTError(
                "InvalidImageFormatException", f"Request has invalid image format: {error}"
            ) from None
        for name, confidence, geometry in predictions:
            # Without MinConfidence, Custom Labels applies each label's assumed threshold.
            floor = version.assumed_thresholds.get(name, 0.0) if min_confidence is None else min_confidence
            if confidence >= float(floor):
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


def _start_project_version(self: RekognitionResponse) -> str:
    arn = self._get_param("ProjectVersionArn")
    REGISTRY.start(arn)
    return json.dumps({"Status": RUNNING})  # a real start takes 10-30 minutes; locally it is instant


def _stop_project_version(self: RekognitionResponse) -> str:
    arn = self._get_param("ProjectVersionArn")
    REGISTRY.stop(arn)
    return json.dumps({"Status": STOPPED})


def project_of(arn: str) -> str:
    """The project name in a project or project-version ARN."""
    return arn.split(":", 5)[-1].split("/")[1]


def _describe_project_versions(self: RekognitionResponse) -> str:
    project = project_of(self._get_param("ProjectArn"))
    wanted = set(self._get_param("VersionNames") or [])
    stored = set(REGISTRY.source.arns()) if REGISTRY.source else set()
    descriptions = []
    for arn in sorted(set(REGISTRY.versions) | stored):
        version_name = arn.split("/")[3]
        if project_of(arn) != project or (wanted and version_name not in wanted):
            continue
        details = REGISTRY.source.describe(arn) if arn in stored else {}
        descriptions.append(
            {"ProjectVersionArn": arn, "Status": REGISTRY.status(arn), "MinInferenceUnits": 1, **details}
        )
    descriptions.sort(key=lambda item: -item.get("CreationTimestamp", 0))
    return json.dumps({"ProjectVersionDescriptions": descriptions})


def install() -> None:
    """Answer the Custom Labels API from the registry instead of moto's canned answers."""
    RekognitionResponse.detect_custom_labels = _detect_custom_labels
    RekognitionResponse.start_project_version = _start_project_version
    RekognitionResponse.stop_project_version = _stop_project_version
    RekognitionResponse.describe_project_versions = _describe_project_versions


def uninstall() -> None:
    RekognitionResponse.detect_custom_labels = _original
    for name in ("start_project_version", "stop_project_version", "describe_project_versions"):
        if name in vars(RekognitionResponse):
            delattr(RekognitionResponse, name)
