"""Stored model versions: Custom Labels ARNs and names, save/load, status, and the predictor contract of
the embedded DetectCustomLabels."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labelwatch.demo.leaves import LABELS, generate_dataset, incoming_batch
from labelwatch.local.custom_labels import CustomLabelsRegistry
from labelwatch.model import (
    ARN_PATTERN,
    FeatureExtractor,
    LogisticRegression,
    ModelNotFound,
    ModelStore,
    ModelStoreError,
    default_version_name,
    shared_extractor,
    train,
)

# trains local models (seconds each): kept out of `make unit`
pytestmark = pytest.mark.training

# The form Rekognition gives a Custom Labels project version.
CUSTOM_LABELS_ARN = re.compile(
    r"^arn:aws:rekognition:us-east-1:123456789012:project/leaves/version/"
    r"leaves\.\d{4}-\d\d-\d\dT\d\d\.\d\d\.\d\d/\d{13}$"
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    generate_dataset(root / "dataset", per_label=6, seed=21, size=128)
    store = ModelStore(root / "models")
    result = train(root / "dataset", store, project="leaves")
    return store, result


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> list[bytes]:
    batch = incoming_batch(tmp_path_factory.mktemp("photos"), 6, seed=22, size=128)
    return [path.read_bytes() for path, _ in batch]


def _version(store: ModelStore, project: str, name: str | None = None, created: datetime | None = None):
    rng = np.random.default_rng(0)
    classifier = LogisticRegression(iterations=20).fit(
        rng.normal(size=(6, 8)), [0, 1, 0, 1, 0, 1], ["x", "y"]
    )
    manifest = {"evaluation": {"labels": [{"label": "x", "assumed_threshold": 50.0}]}}
    return store.create_version(project, classifier, manifest, version_name=name, created=created)


def test_the_arn_and_version_name_have_the_custom_labels_form(trained):
    store, result = trained
    assert CUSTOM_LABELS_ARN.match(result.arn), result.arn
    assert ARN_PATTERN.match(result.arn)
    info = store.get(result.arn)
    millis = int(result.arn.rsplit("/", 1)[1])
    assert millis == int(info.created.timestamp() * 1000)
    assert info.version_name == default_version_name("leaves", info.created) == result.version_name
    assert result.version_dir == store.root / "leaves" / result.version_name
    assert {p.name for p in result.version_dir.iterdir()} == {
        "classifier.npz",
        "manifest.json",
        "status.json",
    }


def test_region_and_account_are_configurable(tmp_path):
    created = datetime(2025, 11, 25, 12, 0, 0, 123000, tzinfo=UTC)
    info = _version(ModelStore(tmp_path, region="eu-west-1", account="111122223333"), "p", created=created)
    assert info.arn == (
        "arn:aws:rekognition:eu-west-1:111122223333:project/p/version/p.2025-11-25T12.00.00/1764072000123"
    )


def test_predictions_cover_every_label_on_a_0_to_100_scale(trained, photos):
    store, result = trained
    model = store.load(result.arn)
    assert model.arn == result.arn and model.labels == tuple(sorted(LABELS))
    assert model.assumed_thresholds == result.evaluation.assumed_thresholds
    for ranked in model.predict_many(photos):
        assert [label for label, _, _ in ranked] != [] and {label for label, _, _ in ranked} == set(LABELS)
        confidences = [confidence for _, confidence, _ in ranked]
        assert confidences == sorted(confidences, reverse=True)
        assert all(0 <= c <= 100 and round(c, 3) == c for c in confidences)
        assert sum(confidences) == pytest.approx(100, abs=0.01)
        assert all(geometry is None for _, _, geometry in ranked)
    assert model.predict(photos[0]) == model.predict_many(photos[:1])[0]


def test_save_and_load_round_trip_to_identical_predictions(trained, photos):
    store, result = trained
    first = store.load(result.arn).predict_many(photos)
    again = ModelStore(store.root).load(result.arn, extractor=FeatureExtractor())
    assert again.predict_many(photos) == first


def test_status_persists_across_store_instances(trained):
    store, result = trained
    assert store.status(result.arn) == "TRAINING_COMPLETED"
    store.set_status(result.arn, "RUNNING")
    assert ModelStore(store.root).status(result.arn) == "RUNNING"
    store.set_status(result.arn, "STOPPED")
    assert ModelStore(store.root).status(result.arn) == "STOPPED"
    with pytest.raises(ModelStoreError, match="unknown status"):
        store.set_status(result.arn, "ASLEEP")


def test_unknown_arns_raise_model_not_found_naming_the_arn(trained):
    store, result = trained
    wrong_millis = result.arn[:-3] + ("000" if not result.arn.endswith("000") else "001")
    for arn in (
        wrong_millis,
        "arn:aws:rekognition:us-east-1:123456789012:project/x/version/y/1764028800000",
        "junk",
    ):
        with pytest.raises(ModelNotFound) as caught:
            store.load(arn)
        assert isinstance(caught.value, KeyError) and caught.value.arn == arn and arn in str(caught.value)
        with pytest.raises(ModelNotFound):
            store.status(arn)


def test_versions_are_listed_by_creation_and_latest_filters_by_project(tmp_path):
    store = ModelStore(tmp_path)
    assert store.versions() == [] and store.latest() is None
    late = _version(store, "alpha", "v2", datetime(2026, 3, 1, tzinfo=UTC))
    early = _version(store, "alpha", "v1", datetime(2026, 1, 1, tzinfo=UTC))
    middle = _version(store, "beta", None, datetime(2026, 2, 1, tzinfo=UTC))
    assert [v.arn for v in store.versions()] == [early.arn, middle.arn, late.arn]
    assert [v.arn for v in store.versions("alpha")] == [early.arn, late.arn]
    assert store.latest().arn == late.arn and store.latest("beta").arn == middle.arn
    assert middle.version_name == "beta.2026-02-01T00.00.00"
    assert store.latest("gamma") is None


def test_version_names_are_unique_within_a_project_and_checked(tmp_path):
    store = ModelStore(tmp_path)
    _version(store, "alpha", "v1")
    with pytest.raises(ModelStoreError, match="exists already"):
        _version(store, "alpha", "v1")
    _version(store, "beta", "v1")  # another project may reuse it
    with pytest.raises(ModelStoreError, match="invalid version name 'v 2'"):
        _version(store, "alpha", "v 2")
    assert not list(tmp_path.glob("*/.*"))  # no half-written version left behind


def test_a_model_trained_with_another_feature_extractor_is_refused(tmp_path):
    store = ModelStore(tmp_path)
    info = _version(store, "p", "v1")
    manifest = info.path / "manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "feature_extractor": {"sha256": "00"}}))
    store.get(info.arn)  # still listed
    with pytest.raises(ModelStoreError, match="feature extractor"):
        store.load(info.arn)


def test_the_loaded_model_answers_detect_custom_labels(trained, photos):
    store, result = trained
    registry = CustomLabelsRegistry()
    registry.register(result.arn, store.load(result.arn).predict, running=True)
    labels = registry.detect(result.arn, photos[0], min_confidence=None)
    assert len(labels) == 3 and sum(item["Confidence"] for item in labels) == pytest.approx(100, abs=0.01)
    top = labels[0]["Confidence"]
    assert registry.detect(result.arn, photos[0], min_confidence=top) == labels[:1]


def test_png_and_jpeg_give_nearly_the_same_answer(trained):
    store, result = trained
    img = Image.open(
        io.BytesIO(
            Path(store.get(result.arn).manifest["dataset"], "healthy", "healthy-0000.jpg").read_bytes()
        )
    )
    png, jpeg = io.BytesIO(), io.BytesIO()
    img.save(png, "PNG")
    img.save(jpeg, "JPEG", quality=95)
    model = store.load(result.arn)
    assert model.predict(png.getvalue())[0][0] == model.predict(jpeg.getvalue())[0][0]
    assert shared_extractor() is shared_extractor()


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_running_status_ends_with_the_process_that_ran_the_version(tmp_path):
    """A stack that is gone left nothing running, whatever its status file says."""
    store = ModelStore(tmp_path)
    info = _version(store, "p", "v1")
    store.set_status(info.arn, "RUNNING")
    record = json.loads((info.path / "status.json").read_text())
    assert record["pid"] > 0 and store.status(info.arn) == "RUNNING"  # this process runs it
    (info.path / "status.json").write_text(json.dumps({**record, "pid": _dead_pid()}))
    assert store.status(info.arn) == "STOPPED"
    (info.path / "status.json").write_text(json.dumps({"status": "RUNNING", "updated": record["updated"]}))
    assert store.status(info.arn) == "STOPPED"  # written before statuses had an owner
    store.set_status(info.arn, "STOPPED")
    assert "pid" not in json.loads((info.path / "status.json").read_text())
