"""Calibrated confidences: the temperature fitted on the held-out split, the ECE it reports, and what the
served model does with it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from labelwatch.demo.leaves import LABELS, generate_dataset
from labelwatch.model import (
    Calibration,
    LogisticRegression,
    ModelStore,
    expected_calibration_error,
    fit_temperature,
    train,
)
from labelwatch.model.calibration import TEMPERATURE_RANGE
from labelwatch.model.classifier import softmax

# trains local models (seconds each): kept out of `make unit`
pytestmark = pytest.mark.training


def _overconfident(n: int = 600, k: int = 3, scale: float = 4.0, seed: int = 0):
    """Labels drawn from a calibrated softmax of ``z``; the model reports ``scale * z``: too sure."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, (n, k))
    cumulative = softmax(z).cumsum(axis=1)
    y = (rng.random((n, 1)) > cumulative).sum(axis=1)
    return z * scale, y


def test_ece_on_a_hand_made_example():
    proba = np.array([[0.95, 0.05], [0.95, 0.05], [0.6, 0.4], [0.4, 0.6]])
    y = np.array([0, 1, 0, 0])
    # bin 9 (0.95): 2 images, accuracy 0.5, confidence 0.95; bin 5 (0.6): 2 images, accuracy 0.5, 0.6
    assert expected_calibration_error(proba, y) == pytest.approx(0.5 * 0.45 + 0.5 * 0.1)
    assert expected_calibration_error(np.zeros((0, 2)), np.zeros(0)) == 0.0


def test_temperature_scaling_lowers_the_ece_of_an_overconfident_model_and_keeps_every_answer():
    logits, y = _overconfident()
    calibration = fit_temperature(logits, y)
    assert calibration.temperature == pytest.approx(4.0, rel=0.25)  # it softens, about as much as it should
    assert calibration.ece_before > 0.15
    assert calibration.ece_after < calibration.ece_before / 3
    assert calibration.nll_after < calibration.nll_before
    before, after = softmax(logits), softmax(logits / calibration.temperature)
    np.testing.assert_array_equal(before.argmax(axis=1), after.argmax(axis=1))
    accuracy = np.mean(after.argmax(axis=1) == y)
    assert after.max(axis=1).mean() == pytest.approx(accuracy, abs=0.05)  # confidence ~ accuracy
    assert fit_temperature(logits, y) == calibration  # deterministic


def test_a_perfect_small_split_does_not_make_the_model_surer_than_it_has_earned():
    """Every image right: the likelihood keeps rising as T -> 0; the smoothed accuracy caps it."""
    y = np.array([0, 1, 2, 0, 1, 2])
    logits = np.eye(3)[y] * 6.0  # right, and ~99 % sure
    calibration = fit_temperature(logits, y)
    assert calibration.limited_by == "held-out accuracy"
    assert calibration.mean_confidence_cap == pytest.approx(7 / 8)
    assert softmax(logits / calibration.temperature).max(axis=1).mean() == pytest.approx(7 / 8, abs=1e-6)
    assert TEMPERATURE_RANGE[0] < calibration.temperature < TEMPERATURE_RANGE[1]


def test_scores_that_say_nothing_keep_temperature_one():
    calibration = fit_temperature(np.zeros((4, 3)), np.array([0, 1, 2, 0]))
    assert calibration.temperature == 1.0 and calibration.limited_by == "none"
    # Every image gets label 0 at 1/3: right on 2 of 4.
    assert calibration.ece_before == calibration.ece_after == pytest.approx(0.5 - 1 / 3)
    assert isinstance(calibration, Calibration) and calibration.to_dict()["bins"] == 10


def test_the_temperature_is_saved_with_the_classifier(tmp_path):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(20, 5)), np.array([0, 1] * 10)
    model = LogisticRegression(iterations=50).fit(X, y, ["a", "b"])
    raw = model.predict_proba(X)
    model.temperature = 2.5
    np.testing.assert_allclose(model.predict_proba(X), softmax(model.logits(X) / 2.5))
    model.save(tmp_path / "c.npz")
    loaded = LogisticRegression.load(tmp_path / "c.npz")
    assert loaded.temperature == 2.5
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    # A file saved before calibration existed has no temperature: it serves the raw softmax.
    with np.load(tmp_path / "c.npz") as data:
        old = {key: data[key] for key in data.files if key != "temperature"}
    np.savez_compressed(tmp_path / "old.npz", **old)
    legacy = LogisticRegression.load(tmp_path / "old.npz")
    assert legacy.temperature == 1.0
    np.testing.assert_allclose(legacy.predict_proba(X), raw, rtol=1e-6)


@pytest.fixture(scope="module")
def mislabelled(tmp_path_factory):
    """A quarter of each label's photos filed under the next label: the model learns to be surer than it
    is right, which 5 held-out images per label show."""
    root = tmp_path_factory.mktemp("mislabelled")
    generate_dataset(root / "dataset", per_label=20, seed=5, size=96)
    for i, label in enumerate(LABELS):
        for path in sorted((root / "dataset" / label).iterdir())[:5]:
            path.rename(root / "dataset" / LABELS[(i + 1) % len(LABELS)] / path.name)
    store = ModelStore(root / "models")
    return store, train(root / "dataset", store, project="mislabelled", test_fraction=0.25)


def test_training_calibrates_on_the_held_out_split_and_records_it(mislabelled):
    store, result = mislabelled
    manifest = store.get(result.arn).manifest
    assert manifest["calibration"] == result.calibration.to_dict()
    assert result.calibration.test_images == result.test_images == 15
    assert result.calibration.temperature > 1.5  # it softens an over-sure model
    assert result.calibration.ece_after < result.calibration.ece_before
    assert store.load(result.arn).classifier.temperature == result.calibration.temperature
    assert "expected calibration error" in result.report_text
    for metrics in result.evaluation.labels:  # on the calibrated scale, still 0..100
        assert 0 < metrics.assumed_threshold <= 100


def test_an_unfamiliar_image_gets_less_confidence_than_the_raw_softmax_gave(mislabelled):
    store, result = mislabelled
    noise = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (96, 96, 3), dtype=np.uint8)).save(
        noise, "JPEG"
    )
    model = store.load(result.arn)
    served = model.predict(noise.getvalue())
    raw = softmax(model.classifier.logits(model.extractor.extract([noise.getvalue()])))[0]
    assert served[0][0] == model.labels[int(raw.argmax())]  # the same answer,
    assert served[0][1] < raw.max() * 100  # less sure of it
    assert sum(confidence for _, confidence, _ in served) == pytest.approx(100, abs=0.01)


def test_a_split_too_small_to_mean_anything_is_not_calibrated(tmp_path):
    generate_dataset(tmp_path / "dataset", per_label=4, seed=1, size=64)
    store = ModelStore(tmp_path / "models")
    result = train(tmp_path / "dataset", store, project="tiny", test_fraction=0.25)  # 1 test image per label
    assert result.calibration.temperature == 1.0
    assert result.calibration.limited_by == "too few test images"
    assert result.calibration.ece_after == result.calibration.ece_before
    assert store.load(result.arn).classifier.temperature == 1.0
