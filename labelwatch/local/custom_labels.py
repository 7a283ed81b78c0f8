"""A local stand-in for Rekognition Custom Labels behind the embedded endpoint.

moto answers ``DetectCustomLabels`` with a canned label whatever the image; that must never be
used. Here the call is answered by a registered model *version* with Custom Labels' semantics:

- the lifecycle: ``StartProjectVersion`` answers ``STARTING`` and the version is ``RUNNING`` after
  ``start_delay_seconds`` (10-30 minutes on AWS, a few seconds here; ``FAILED`` instead while
  ``fail_next_starts`` lasts); ``StopProjectVersion`` answers ``STOPPING``, then ``STOPPED`` after
  ``stop_delay_seconds``. A meter counts inference-unit seconds from the start call until
  ``STOPPED`` (``usage``), on the twin's clock. Starting a STARTING or RUNNING version,
  or stopping one that is neither, is ``ResourceInUseException``; ``MinInferenceUnits`` (at least 1)
  is required even from a client that skips botocore's validation (``InvalidParameterException``);
- ``DetectCustomLabels`` on a version that is not RUNNING is ``ResourceNotReadyException``, on an
  unknown ARN ``ResourceNotFoundException``; ``MinConfidence`` filters labels (0-100), without it
  each label's assumed threshold does;
- the image (``S3Object`` from the embedded S3, or ``Bytes``) must be JPEG or PNG
  (``InvalidImageFormatException``), 64-4096 px per side with an aspect ratio of at most 20:1
  (``InvalidParameterException``), at most 4 MB as Bytes and 15 MB as an S3 object
  (``ImageTooLargeException``). Its size is read from the header, never decoded for the check.

A *predictor* is any callable ``(image_bytes) -> [(label, confidence 0..100, geometry|None)]``:
the trained local model or a scripted one in tests. Faults can be injected per call (throttling)
to exercise the workflow's retries.

Versions trained with ``labelwatch model train`` are found through a ``ModelSource`` (the local
model store) the first time their ARN is used, and ``StartProjectVersion``,
``StopProjectVersion`` and ``DescribeProjectVersions`` work on the endpoint as on AWS, so the
same ``labelwatch model start|stop|status`` commands drive a local and a deployed model.

``patches(registry)`` answers the API from ``registry`` (the Emulator's ``models``). Tests flip a
version's state at once with ``registry.start(arn)`` / ``registry.stop(arn)`` (no delay).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from moto.core.exceptions import JsonRESTError
from moto.rekognition.responses import RekognitionResponse
from moto.s3.models import s3_backends

from labelwatch.local.defaults import DEFAULT_START_DELAY_SECONDS
from labelwatch.local.patching import Patch

Prediction = tuple[str, float, dict | None]
Predictor = Callable[[bytes], list[Prediction]]
FaultInjector = Callable[[str], str | None]  # (model arn) -> error code to raise, or None

MAX_S3_OBJECT_BYTES = 15 * 1024 * 1024
MAX_INLINE_BYTES = 4 * 1024 * 1024
MIN_SIDE = 64
MAX_SIDE = 4096
MAX_ASPECT_RATIO = 20.0
FORMATS = ("JPEG", "PNG")
DEFAULT_STOP_DELAY_SECONDS = 1.0

STARTING = "STARTING"
RUNNING = "RUNNING"
STOPPING = "STOPPING"
STOPPED = "STOPPED"
FAILED = "FAILED"
TRAINING_COMPLETED = "TRAINING_COMPLETED"
BILLED = frozenset({STARTING, RUNNING, STOPPING})  # the meter runs from the start call until STOPPED


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
    status: str = STOPPED
    calls: int = 0
    assumed_thresholds: dict[str, float] = field(default_factory=dict)
    stored: bool = False  # loaded from the ModelSource, which keeps its status
    min_inference_units: int = 1
    max_inference_units: int | None = None
    status_message: str = ""
    # the meter, in the registry's clock (the twin's, which may be compressed): closed periods, and
    # the open one's start and units
    metered_unit_seconds: float = 0.0
    billing_since: float | None = None
    billing_units: int = 0
    _generation: int = 0  # bumped by every transition, so a pending timer for an older one does nothing

    @property
    def running(self) -> bool:
        return self.status == RUNNING


def _open_period(version: ModelVersion, now: float) -> float:
    if version.billing_since is None:
        return 0.0
    return (now - version.billing_since) * version.billing_units


def _error(code: str, message: str) -> JsonRESTError:
    return JsonRESTError(code, message)


@dataclass
class CustomLabelsRegistry:
    versions: dict[str, ModelVersion] = field(default_factory=dict)
    fault: FaultInjector | None = None
    source: ModelSource | None = None
    start_delay_seconds: float = DEFAULT_START_DELAY_SECONDS
    stop_delay_seconds: float = DEFAULT_STOP_DELAY_SECONDS
    # the meter's clock (the twin's: ``TwinClock.now``), and who hears of every transition (a usage file)
    clock: Callable[[], float] = time.time
    on_change: Callable[[CustomLabelsRegistry], None] | None = None
    # this many of the next starts end FAILED after the start delay (tests, the bench), as a start
    # that runs out of capacity or hits a service error does on AWS
    fail_next_starts: int = 0
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _changed: threading.Condition | None = None
    _timers: list[threading.Timer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._changed = threading.Condition(self._lock)

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
                arn=arn,
                predictor=predictor,
                status=RUNNING if running else STOPPED,
                assumed_thresholds=assumed_thresholds or {},
            )
            self.versions[arn] = version
            return version

    # --- the API's lifecycle (StartProjectVersion / StopProjectVersion) ---------------------------
    def request_start(self, arn: str, min_inference_units: Any, max_inference_units: Any = None) -> str:
        """StartProjectVersion: ``STARTING`` now, ``RUNNING`` after ``start_delay_seconds`` (or ``FAILED``
        while ``fail_next_starts`` lasts)."""
        version = self._version(arn)
        if min_inference_units is None:
            raise _error(
                "InvalidParameterException",
                "1 validation error detected: Value null at 'minInferenceUnits' failed to satisfy "
                "constraint: Member must not be null",
            )
        if (
            not isinstance(min_inference_units, int)
            or isinstance(min_inference_units, bool)
            or (min_inference_units < 1)
        ):
            raise _error(
                "InvalidParameterException",
                f"1 validation error detected: Value {min_inference_units!r} at 'minInferenceUnits' failed "
                "to satisfy constraint: Member must have value greater than or equal to 1",
            )
        if max_inference_units is not None and (
            not isinstance(max_inference_units, int)
            or isinstance(max_inference_units, bool)
            or max_inference_units < min_inference_units
        ):
            raise _error(
                "InvalidParameterException",
                f"1 validation error detected: Value {max_inference_units!r} at 'maxInferenceUnits' failed "
                f"to satisfy constraint: it must be a whole number of at least MinInferenceUnits "
                f"({min_inference_units})",
            )
        with self._lock:
            if version.status in (STARTING, RUNNING):
                raise _error(
                    "ResourceInUseException",
                    f"The project version {arn} is {version.status.lower()}: it cannot be started again.",
                )
            version.min_inference_units = min_inference_units
            version.max_inference_units = max_inference_units
            version.status_message = ""
            outcome = RUNNING
            if self.fail_next_starts > 0:
                self.fail_next_starts -= 1
                outcome = FAILED
                version.status_message = "The model failed to start: not enough capacity (injected)."
            self._transition(version, STARTING, then=outcome, after=self.start_delay_seconds)
        return STARTING

    def request_stop(self, arn: str) -> str:
        """StopProjectVersion: ``STOPPING`` now, ``STOPPED`` after ``stop_delay_seconds``. Only a
        STARTING or RUNNING version can be stopped (else ``ResourceInUseException``)."""
        version = self._version(arn)
        with self._lock:
            if version.status not in (STARTING, RUNNING):
                raise _error(
                    "ResourceInUseException",
                    f"The project version {arn} is {self._status(version)}: only a starting or running "
                    "model can be stopped.",
                )
            self._transition(version, STOPPING, then=STOPPED, after=self.stop_delay_seconds)
        return STOPPING

    # --- direct switches (tests, injected faults): no delay ----------------------------------------
    def start(self, arn: str) -> None:
        """RUNNING at once (a test's or a fault's switch; the API goes through STARTING)."""
        with self._lock:
            self._transition(self._version(arn), RUNNING)

    def stop(self, arn: str) -> None:
        """STOPPED at once (DescribeProjectVersions then says STOPPED, as on AWS after a stop)."""
        with self._lock:
            self._transition(self._version(arn), STOPPED)

    def set_running(self, arn: str, running: bool = True) -> None:
        (self.start if running else self.stop)(arn)

    def wait_for_status(self, arn: str, status: str, *, timeout: float) -> str:
        """Block until the version has ``status`` (or ``timeout`` seconds pass); the status it has."""
        deadline = time.monotonic() + timeout
        assert self._changed is not None
        with self._changed:
            while (current := self.status(arn)) != status:
                left = deadline - time.monotonic()
                if left <= 0:
                    return current
                self._changed.wait(min(left, 0.5))
            return current

    def cancel_pending(self) -> None:
        """Cancel every scheduled STARTING -> RUNNING / STOPPING -> STOPPED (a stack stops)."""
        with self._lock:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()

    def _transition(self, version: ModelVersion, status: str, *, then: str | None = None, after: float = 0.0):
        """Set ``status`` (and record it); with ``then``, become ``then`` after ``after`` seconds unless
        another transition happens first. Called with the lock held."""
        version._generation += 1
        self._record(version, status)
        if then is None:
            return
        generation = version._generation

        def finish() -> None:
            with self._lock:
                if self.versions.get(version.arn) is version and version._generation == generation:
                    version._generation += 1
                    self._record(version, then)

        if after <= 0:
            finish()
            return
        timer = threading.Timer(after, finish)
        timer.daemon = True
        self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        timer.start()

    def _record(self, version: ModelVersion, status: str) -> None:
        version.status = status
        self._meter(version, status)
        if version.stored and self.source is not None:
            self.source.set_status(version.arn, status)
        assert self._changed is not None
        self._changed.notify_all()
        if self.on_change is not None:
            self.on_change(self)

    def _meter(self, version: ModelVersion, status: str) -> None:
        """Inference-unit seconds, conservatively from the start call until STOPPED (or FAILED)."""
        now = self.clock()
        if status in BILLED and version.billing_since is None:
            version.billing_since, version.billing_units = now, version.min_inference_units
        elif status not in BILLED and version.billing_since is not None:
            version.metered_unit_seconds += (now - version.billing_since) * version.billing_units
            version.billing_since = None

    def usage(self) -> list[dict[str, Any]]:
        """Each version's metered inference-unit seconds so far (the open period up to now included)."""
        now = self.clock()
        with self._lock:
            return [
                {
                    "arn": version.arn,
                    "status": version.status,
                    "unitSeconds": version.metered_unit_seconds + _open_period(version, now),
                    "closedUnitSeconds": version.metered_unit_seconds,
                    "billingSince": version.billing_since,
                    "units": version.billing_units or version.min_inference_units,
                }
                for version in self.versions.values()
            ]

    # --- reading ------------------------------------------------------------------------------------
    def status(self, arn: str) -> str:
        return self._status(self._version(arn))

    def _status(self, version: ModelVersion) -> str:
        if version.status == STOPPED and version.stored and self.source is not None:
            return self.source.status(version.arn)  # TRAINING_COMPLETED for one never started
        return version.status

    def _version(self, arn: str) -> ModelVersion:
        if arn not in self.versions and self.source is not None:
            try:
                predictor, thresholds = self.source.predictor(arn)
            except KeyError:
                pass
            else:
                stored = self.source.status(arn)
                status = stored if stored in (STARTING, RUNNING, STOPPING) else STOPPED
                with self._lock:
                    self.versions.setdefault(
                        arn,
                        ModelVersion(
                            arn, predictor, status=status, assumed_thresholds=thresholds, stored=True
                        ),
                    )
        try:
            return self.versions[arn]
        except KeyError:
            raise _error("ResourceNotFoundException", f"The project version {arn} does not exist.") from None

    def detect(self, arn: str, image_bytes: bytes, min_confidence: float | None) -> list[dict[str, Any]]:
        version = self._version(arn)
        if self.fault and (code := self.fault(arn)):
            raise _error(code, f"Injected fault: {code}")
        if not version.running:
            raise _error(
                "ResourceNotReadyException",
                f"The project version {arn} is {self._status(version)}, not RUNNING: start it first.",
            )
        check_image(image_bytes)
        with self._lock:
            version.calls += 1
        labels = []
        try:
            predictions = version.predictor(image_bytes)
        except ValueError as error:  # JPEG/PNG header but not decodable
            raise _error(
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


def check_image(image_bytes: bytes) -> tuple[int, int]:
    """The image's (width, height) if DetectCustomLabels takes it, else the error AWS answers.

    Reads the header only (Pillow's ``Image.open`` does not decode the pixels)."""
    from PIL import Image, UnidentifiedImageError

    if not image_bytes.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")):
        raise _error("InvalidImageFormatException", "Request has unsupported image format")
    try:
        with Image.open(io.BytesIO(image_bytes)) as image:
            fmt, (width, height) = image.format, image.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise _error("InvalidImageFormatException", "Request has invalid image format") from None
    if fmt not in FORMATS:
        raise _error("InvalidImageFormatException", "Request has unsupported image format")
    if min(width, height) < MIN_SIDE or max(width, height) > MAX_SIDE:
        raise _error(
            "InvalidParameterException",
            f"Request has invalid parameters: the image is {width}x{height} px; each side must be "
            f"{MIN_SIDE}-{MAX_SIDE} px",
        )
    if max(width, height) > MAX_ASPECT_RATIO * min(width, height):
        raise _error(
            "InvalidParameterException",
            f"Request has invalid parameters: the image is {width}x{height} px; its aspect ratio must be "
            f"at most {MAX_ASPECT_RATIO:g}:1",
        )
    return width, height


def _read_image(account: str, image: dict[str, Any]) -> bytes:
    if "Bytes" in image:
        try:
            data = base64.b64decode(image["Bytes"], validate=True)
        except (binascii.Error, ValueError):
            raise _error("InvalidParameterException", "Request has invalid parameters") from None
        if len(data) > MAX_INLINE_BYTES:
            raise _error(
                "ImageTooLargeException",
                f"Image size is too large: {len(data)} bytes (at most 4 MB as Bytes)",
            )
        return data
    ref = image.get("S3Object") or {}
    if not ref.get("Bucket") or not ref.get("Name"):
        raise _error("InvalidParameterException", "Request has invalid parameters")
    backend = s3_backends[account]["aws"]
    try:
        key = backend.get_object(ref["Bucket"], ref["Name"], version_id=ref.get("Version"))
    except Exception:
        key = None
    if key is None:
        raise _error(
            "InvalidS3ObjectException",
            "Unable to get object metadata from S3. Check object key, region and/or access permissions.",
        )
    if key.size > MAX_S3_OBJECT_BYTES:
        raise _error(
            "ImageTooLargeException",
            f"Image size is too large: {key.size} bytes (at most 15 MB as an S3 object)",
        )
    return key.value


def project_of(arn: str) -> str:
    """The project name in a project or project-version ARN."""
    return arn.split(":", 5)[-1].split("/")[1]


def project_arns(version_arns: list[str]) -> dict[str, str]:
    """Each project's ARN, as Custom Labels gives it: ``…:project/<name>/<ms>`` with the project's
    own creation time, which is not its versions' (a version is trained after its project exists).
    Here a project is taken to be created a second before its earliest version."""
    earliest: dict[tuple[str, str], int] = {}
    for arn in version_arns:
        head, _, rest = arn.partition(":project/")
        key = (head, rest.split("/")[0])
        millis = int(rest.split("/")[-1])
        earliest[key] = min(millis, earliest.get(key, millis))
    return {f"{head}:project/{name}/{millis - 1000}": name for (head, name), millis in earliest.items()}


def patches(registry: CustomLabelsRegistry) -> list[Patch]:
    """moto's Rekognition answering the Custom Labels API from ``registry``."""

    def detect_custom_labels(self: RekognitionResponse) -> str:
        arn = self._get_param("ProjectVersionArn")
        registry._version(arn)  # ResourceNotFoundException before any image error
        image_bytes = _read_image(self.current_account, self._get_param("Image") or {})
        labels = registry.detect(arn, image_bytes, self._get_param("MinConfidence"))
        limit = self._get_param("MaxResults")
        if limit is not None:  # the highest-confidence labels, as the service ranks them
            labels = labels[: int(limit)]
        return json.dumps({"CustomLabels": labels})

    def start_project_version(self: RekognitionResponse) -> str:
        arn = self._get_param("ProjectVersionArn")
        status = registry.request_start(
            arn, self._get_param("MinInferenceUnits"), self._get_param("MaxInferenceUnits")
        )
        return json.dumps({"Status": status})

    def stop_project_version(self: RekognitionResponse) -> str:
        return json.dumps({"Status": registry.request_stop(self._get_param("ProjectVersionArn"))})

    def known_versions() -> tuple[set[str], list[str]]:
        stored = set(registry.source.arns()) if registry.source else set()
        return stored, sorted(set(registry.versions) | stored)

    def describe_projects(self: RekognitionResponse) -> str:
        wanted = set(self._get_param("ProjectNames") or [])
        _stored, versions = known_versions()
        projects = [
            {
                "ProjectArn": arn,
                "CreationTimestamp": int(arn.split("/")[-1]) / 1000,
                "Status": "CREATED",
                "Feature": "CUSTOM_LABELS",
            }
            for arn, name in sorted(project_arns(versions).items())
            if not wanted or name in wanted
        ]
        return json.dumps({"ProjectDescriptions": projects})

    def describe_project_versions(self: RekognitionResponse) -> str:
        project_arn = self._get_param("ProjectArn")
        wanted = set(self._get_param("VersionNames") or [])
        stored, versions = known_versions()
        if project_arn not in project_arns(versions):  # AWS knows a project by its exact ARN only
            raise _error("ResourceNotFoundException", f"The project {project_arn} does not exist.")
        project = project_of(project_arn)
        descriptions = []
        for arn in versions:
            version_name = arn.split("/")[3]
            if project_of(arn) != project or (wanted and version_name not in wanted):
                continue
            details = registry.source.describe(arn) if arn in stored else {}
            version = registry._version(arn)
            description = {
                "ProjectVersionArn": arn,
                "Status": registry.status(arn),
                "MinInferenceUnits": version.min_inference_units,
                **details,
            }
            if version.max_inference_units is not None:
                description["MaxInferenceUnits"] = version.max_inference_units
            if version.status_message:
                description["StatusMessage"] = version.status_message
            descriptions.append(description)
        descriptions.sort(key=lambda item: -item.get("CreationTimestamp", 0))
        return json.dumps({"ProjectVersionDescriptions": descriptions})

    return [
        Patch(RekognitionResponse, "detect_custom_labels", detect_custom_labels, signature="(self) -> str"),
        Patch(RekognitionResponse, "start_project_version", start_project_version, missing_ok=True),
        Patch(RekognitionResponse, "stop_project_version", stop_project_version, missing_ok=True),
        Patch(RekognitionResponse, "describe_project_versions", describe_project_versions, missing_ok=True),
        Patch(RekognitionResponse, "describe_projects", describe_projects, missing_ok=True),
    ]
