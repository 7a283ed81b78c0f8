"""Trained model versions on disk, named and addressed like Rekognition Custom Labels versions.

``root/<project>/<version-name>/`` holds ``classifier.npz`` (the weights), ``manifest.json`` (ARN,
labels, dataset, evaluation, ...) and ``status.json`` (``TRAINING_COMPLETED``, ``RUNNING``, ...: what
StartProjectVersion/StopProjectVersion change). A version is written to a hidden folder and renamed into
place, so a half-written one is never listed.

A version runs inside the process that serves it (the ``local up`` stack): ``status.json`` records that
process with a running state, and once it is gone the version reads ``STOPPED``, whatever the file says.

The *default* version, the one ``local up`` uses unless told, is the newest that the quality gate
(``labelwatch.model.quality``) let be the default.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labelwatch.model.classifier import LogisticRegression
from labelwatch.model.features import FeatureExtractor, shared_extractor
from labelwatch.model.predictor import LoadedModel
from labelwatch.model.quality import Quality
from labelwatch.processes import process_alive

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"  # moto's default account
NAME_RULE = "1-255 characters of a-z, A-Z, 0-9, '_', '.' and '-'"
_NAME = re.compile(r"^[a-zA-Z0-9_.\-]{1,255}$")
ARN_PATTERN = re.compile(
    r"^arn:aws:rekognition:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):project/(?P<project>[a-zA-Z0-9_.\-]{1,255})"
    r"/version/(?P<version>[a-zA-Z0-9_.\-]{1,255})/(?P<millis>\d{13})$"
)
STATUSES = frozenset({"TRAINING_COMPLETED", "STARTING", "RUNNING", "STOPPING", "STOPPED", "FAILED"})
LIVE_STATUSES = frozenset({"STARTING", "RUNNING", "STOPPING"})  # only true while their process lives
MANIFEST = "manifest.json"
CLASSIFIER = "classifier.npz"
STATUS = "status.json"


class ModelNotFound(KeyError):
    """No stored version has this ARN."""

    def __init__(self, arn: str) -> None:
        super().__init__(arn)
        self.arn = arn

    def __str__(self) -> str:
        return f"no model version {self.arn}"


class ModelStoreError(ValueError):
    """A bad project or version name, a version that exists already, or an incompatible model."""


def check_name(kind: str, value: str) -> str:
    """Custom Labels' rule for project and version names; the error names the value and the rule."""
    if not isinstance(value, str) or not _NAME.match(value) or value in (".", ".."):
        raise ModelStoreError(f"invalid {kind} name {value!r}: use {NAME_RULE}")
    return value


def default_version_name(project: str, created: datetime) -> str:
    """``<project>.<YYYY-MM-DDTHH.MM.SS>`` (UTC), as the Custom Labels console names versions."""
    return f"{project}.{created.astimezone(UTC):%Y-%m-%dT%H.%M.%S}"


def make_arn(project: str, version_name: str, created: datetime, *, region: str, account: str) -> str:
    millis = int(created.timestamp() * 1000)
    return f"arn:aws:rekognition:{region}:{account}:project/{project}/version/{version_name}/{millis}"


@dataclass(frozen=True)
class VersionInfo:
    arn: str
    project: str
    version_name: str
    created: datetime
    path: Path
    manifest: dict[str, Any]


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


class ModelStore:
    def __init__(self, root: Path, *, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> None:
        self.root = Path(root)
        self.region = region
        self.account = account
        self._lock = threading.RLock()

    # --- writing ------------------------------------------------------------------------------------

    def create_version(
        self,
        project: str,
        classifier: LogisticRegression,
        manifest: dict[str, Any],
        *,
        version_name: str | None = None,
        created: datetime | None = None,
    ) -> VersionInfo:
        """Store a trained classifier as a new version (status ``TRAINING_COMPLETED``). ``manifest``
        adds to the fields the store writes itself (arn, project, version_name, created, labels)."""
        check_name("project", project)
        created = (created or datetime.now(UTC)).astimezone(UTC)
        created = created.replace(microsecond=created.microsecond // 1000 * 1000)  # millisecond ARN
        version_name = check_name("version", version_name or default_version_name(project, created))
        arn = make_arn(project, version_name, created, region=self.region, account=self.account)
        final = self.root / project / version_name
        with self._lock:
            if final.exists():
                raise ModelStoreError(
                    f"version {version_name!r} of project {project!r} exists already ({final}); "
                    "version names must be unique within a project"
                )
            tmp = final.with_name(f".{version_name}.partial")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            classifier.save(tmp / CLASSIFIER)
            full = {
                "arn": arn,
                "project": project,
                "version_name": version_name,
                "created": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "labels": list(classifier.labels),
                **manifest,
            }
            _write_json(tmp / MANIFEST, full)
            _write_json(tmp / STATUS, {"status": "TRAINING_COMPLETED", "updated": full["created"]})
            tmp.rename(final)
        return self._info(final / MANIFEST)

    def set_status(self, arn: str, status: str) -> None:
        """Record a status; a running one (``LIVE_STATUSES``) belongs to the calling process."""
        if status not in STATUSES:
            raise ModelStoreError(f"unknown status {status!r}; use one of {', '.join(sorted(STATUSES))}")
        info = self.get(arn)
        updated = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        record: dict[str, Any] = {"status": status, "updated": updated}
        if status in LIVE_STATUSES:
            record["pid"] = os.getpid()
        with self._lock:
            _write_json(info.path / STATUS, record)

    # --- reading ------------------------------------------------------------------------------------

    def status(self, arn: str) -> str:
        """The recorded status; ``STOPPED`` for a running one whose process has ended."""
        info = self.get(arn)
        try:
            record = json.loads((info.path / STATUS).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return "TRAINING_COMPLETED"
        status = record["status"]
        if status in LIVE_STATUSES and not process_alive(record.get("pid")):
            return "STOPPED"
        return status

    def _info(self, manifest_path: Path) -> VersionInfo:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
        return VersionInfo(
            arn=data["arn"],
            project=data["project"],
            version_name=data["version_name"],
            created=datetime.fromisoformat(data["created"]),
            path=manifest_path.parent,
            manifest=data,
        )

    def versions(self, project: str | None = None) -> list[VersionInfo]:
        """Every stored version (of ``project``), oldest first."""
        if not self.root.is_dir():
            return []
        pattern = f"{project}/*/{MANIFEST}" if project else f"*/*/{MANIFEST}"
        found = [
            self._info(path)
            for path in self.root.glob(pattern)
            if not path.parent.name.startswith(".") and not path.parent.parent.name.startswith(".")
        ]
        return sorted(found, key=lambda info: (info.created, info.arn))

    def latest(self, project: str | None = None) -> VersionInfo | None:
        versions = self.versions(project)
        return versions[-1] if versions else None

    def default_version(self, project: str | None = None) -> VersionInfo | None:
        """The newest version (of ``project``) the quality gate let be the default, if any."""
        usable = [info for info in self.versions(project) if Quality.from_manifest(info.manifest).default]
        return usable[-1] if usable else None

    def get(self, arn: str) -> VersionInfo:
        match = ARN_PATTERN.match(arn or "")
        if not match:
            raise ModelNotFound(arn)
        manifest = self.root / match["project"] / match["version"] / MANIFEST
        if not manifest.is_file():
            raise ModelNotFound(arn)
        info = self._info(manifest)
        if info.arn != arn:
            raise ModelNotFound(arn)
        return info

    def load(self, arn: str, *, extractor: FeatureExtractor | None = None) -> LoadedModel:
        """The version as a predictor. Refuses one trained on a different feature extractor file."""
        info = self.get(arn)
        used = extractor or shared_extractor()
        trained_on = info.manifest.get("feature_extractor", {}).get("sha256")
        if trained_on and trained_on != used.sha256:
            raise ModelStoreError(
                f"{arn} was trained with feature extractor sha256 {trained_on}, but "
                f"{used.model_path} has {used.sha256}: train the model again"
            )
        classifier = LogisticRegression.load(info.path / CLASSIFIER)
        labels = info.manifest.get("evaluation", {}).get("labels", [])
        thresholds = {m["label"]: m["assumed_threshold"] for m in labels}
        return LoadedModel(arn, classifier, thresholds, extractor=extractor)

    def predictor(self, arn: str) -> Callable[[bytes], list]:
        """Shorthand for registering a version with the twin's model registry (``Emulator.models``)."""
        return self.load(arn).predict
