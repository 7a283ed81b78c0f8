"""``labelwatch model train``: dataset -> held-out evaluation -> a stored model version.

The held-out split serves three purposes, as in Custom Labels: the evaluation (F1, ...), each label's
assumed threshold, and here also the calibration temperature (fitted first, so the thresholds are on
the scale of the confidences the model serves). The quality gate then decides whether the version may
become the default model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from labelwatch.model.calibration import Calibration, fit_temperature, uncalibrated
from labelwatch.model.classifier import LogisticRegression, softmax
from labelwatch.model.dataset import DatasetError, load_dataset, split
from labelwatch.model.features import FeatureExtractor, ImageDecodeError, shared_extractor
from labelwatch.model.metrics import Evaluation, evaluate, format_report
from labelwatch.model.quality import Quality, assess, split_too_small
from labelwatch.model.store import ModelStore, check_name

Progress = Callable[[str, int, int], None]  # (stage, done, total); stages: "features", "fitting"


@dataclass(frozen=True)
class TrainingResult:
    arn: str
    project: str
    version_name: str
    version_dir: Path
    labels: tuple[str, ...]
    train_images: int
    test_images: int
    evaluation: Evaluation  # at the calibrated confidences
    calibration: Calibration
    quality: Quality
    report_text: str
    feature_seconds: float
    fit_seconds: float


def train(
    dataset: Path,
    store: ModelStore,
    *,
    project: str,
    version_name: str | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
    progress: Progress | None = None,
    extractor: FeatureExtractor | None = None,
    force: bool = False,
) -> TrainingResult:
    """Train a version on a folder-per-label dataset, calibrate and evaluate it on a held-out split and
    store it. ``force`` makes it the default model even if the quality gate refuses it.

    Raises ``DatasetError`` (layout, counts, unreadable image: names the path and the rule) and
    ``ModelStoreError`` (bad project/version name, version exists)."""
    check_name("project", project)
    if version_name is not None:
        check_name("version", version_name)
    started = datetime.now(UTC)
    data = load_dataset(Path(dataset))
    train_set, test_set = split(data, test_fraction=test_fraction, seed=seed)
    ordered = train_set + test_set
    index = {label: i for i, label in enumerate(data.labels)}
    extractor = extractor or shared_extractor()

    t0 = time.perf_counter()
    blobs = [image.path.read_bytes() for image in ordered]
    if progress:
        progress("features", 0, len(blobs))
    try:
        features = extractor.extract(
            blobs, progress=(lambda done, total: progress("features", done, total)) if progress else None
        )
    except ImageDecodeError as exc:
        bad = ordered[getattr(exc, "index", 0)].path
        raise DatasetError(bad, f"unreadable image file ({exc})") from exc
    feature_seconds = time.perf_counter() - t0

    y = np.array([index[image.label] for image in ordered])
    n_train = len(train_set)
    t0 = time.perf_counter()
    if progress:
        progress("fitting", 0, 1)
    classifier = LogisticRegression().fit(features[:n_train], y[:n_train], data.labels, seed=seed)
    if progress:
        progress("fitting", 1, 1)
    fit_seconds = time.perf_counter() - t0

    logits, y_test = classifier.logits(features[n_train:]), y[n_train:]
    if split_too_small(np.bincount(y_test, minlength=len(data.labels))):
        calibration = uncalibrated(logits, y_test, "too few test images")
    else:
        calibration = fit_temperature(logits, y_test)
    classifier.temperature = calibration.temperature
    evaluation = evaluate(y_test, softmax(logits / calibration.temperature), data.labels)
    quality = assess(evaluation, force=force)
    counts = data.counts()
    test_counts = dict.fromkeys(data.labels, 0)
    for image in test_set:
        test_counts[image.label] += 1
    manifest = {
        "dataset": str(Path(dataset).resolve()),
        "images": {
            label: {
                "total": counts[label],
                "train": counts[label] - test_counts[label],
                "test": test_counts[label],
            }
            for label in data.labels
        },
        "train_images": n_train,
        "test_images": len(test_set),
        "test_fraction": test_fraction,
        "seed": seed,
        "evaluation": evaluation.to_dict(),
        "assumed_thresholds": evaluation.assumed_thresholds,
        "calibration": calibration.to_dict(),
        "quality": quality.to_dict(),
        "feature_extractor": {"file": extractor.model_path.name, "sha256": extractor.sha256},
        "classifier": {
            "kind": "multinomial logistic regression",
            "l2": classifier.l2,
            "iterations": classifier.iterations,
        },
        "timings": {"features_seconds": round(feature_seconds, 3), "fit_seconds": round(fit_seconds, 3)},
    }
    info = store.create_version(project, classifier, manifest, version_name=version_name, created=started)
    report = "\n".join(
        [
            format_report(evaluation, title=f"Model {info.arn}"),
            f"Calibration          temperature {calibration.temperature:.3f} ({calibration.limited_by}), "
            f"expected calibration error {calibration.ece_before:.3f} -> {calibration.ece_after:.3f}",
            *(f"Caveat: {caveat}" for caveat in quality.caveats),
            *(f"Not the default: {refusal}" for refusal in quality.refusals if not quality.forced),
        ]
    )
    return TrainingResult(
        arn=info.arn,
        project=project,
        version_name=info.version_name,
        version_dir=info.path,
        labels=data.labels,
        train_images=n_train,
        test_images=len(test_set),
        evaluation=evaluation,
        calibration=calibration,
        quality=quality,
        report_text=report,
        feature_seconds=feature_seconds,
        fit_seconds=fit_seconds,
    )
