"""Evaluation on the held-out test images, reported like the Custom Labels console's evaluation page.

Per label, precision, recall and F1 count the top-scoring label of each test image as its prediction
(as a one-label-per-image classifier is used). The *assumed threshold* is Custom Labels' per-label
confidence (0-100) at which the label's F1 on the test images is highest when the label is reported for
every image whose confidence for it is at least that value; ties go to the lower threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class LabelMetrics:
    label: str
    precision: float
    recall: float
    f1: float
    support: int  # test images of this label
    assumed_threshold: float  # 0..100


@dataclass(frozen=True)
class Evaluation:
    labels: tuple[LabelMetrics, ...]
    accuracy: float
    macro_precision: float
    macro_recall: float
    macro_f1: float
    test_images: int
    confusion: tuple[tuple[int, ...], ...]  # rows: true label, columns: predicted label

    @property
    def assumed_thresholds(self) -> dict[str, float]:
        return {m.label: m.assumed_threshold for m in self.labels}

    def to_dict(self) -> dict:
        out = asdict(self)
        out["labels"] = [asdict(m) for m in self.labels]
        out["confusion"] = [list(row) for row in self.confusion]
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Evaluation:
        return cls(
            labels=tuple(LabelMetrics(**m) for m in data["labels"]),
            accuracy=data["accuracy"],
            macro_precision=data["macro_precision"],
            macro_recall=data["macro_recall"],
            macro_f1=data["macro_f1"],
            test_images=data["test_images"],
            confusion=tuple(tuple(row) for row in data["confusion"]),
        )


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b else 0.0


def _f1(precision: float, recall: float) -> float:
    return _ratio(2 * precision * recall, precision + recall)


def assumed_threshold(confidences: Sequence[float], positive: Sequence[bool]) -> float:
    """The confidence (0-100) among the given ones that maximises F1 of "confidence >= threshold"
    against ``positive``; the lowest such one on ties. 0 when there are no positives."""
    scores = np.asarray(confidences, dtype=np.float64)
    truth = np.asarray(positive, dtype=bool)
    if not truth.any():
        return 0.0
    best, best_f1 = 0.0, -1.0
    for t in np.unique(scores):  # ascending: a later candidate must beat, not tie
        predicted = scores >= t
        tp = float(np.sum(predicted & truth))
        f1 = _f1(_ratio(tp, predicted.sum()), _ratio(tp, truth.sum()))
        if f1 > best_f1 + 1e-12:
            best, best_f1 = float(t), f1
    return round(best, 3)


def evaluate(y_true: Sequence[int], proba: np.ndarray, labels: Sequence[str]) -> Evaluation:
    """Metrics for test images with true label indices ``y_true`` and probabilities ``proba [n, k]``."""
    y_true = np.asarray(y_true, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    k = len(labels)
    if proba.shape != (len(y_true), k):
        raise ValueError(f"proba must be [{len(y_true)}, {k}], got {list(proba.shape)}")
    y_pred = proba.argmax(axis=1)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    per_label = []
    for i, label in enumerate(labels):
        tp = confusion[i, i]
        precision = _ratio(tp, confusion[:, i].sum())
        recall = _ratio(tp, confusion[i, :].sum())
        per_label.append(
            LabelMetrics(
                label=label,
                precision=precision,
                recall=recall,
                f1=_f1(precision, recall),
                support=int(confusion[i, :].sum()),
                assumed_threshold=assumed_threshold(proba[:, i] * 100, y_true == i),
            )
        )
    return Evaluation(
        labels=tuple(per_label),
        accuracy=_ratio(np.trace(confusion), len(y_true)),
        macro_precision=float(np.mean([m.precision for m in per_label])),
        macro_recall=float(np.mean([m.recall for m in per_label])),
        macro_f1=float(np.mean([m.f1 for m in per_label])),
        test_images=len(y_true),
        confusion=tuple(tuple(int(v) for v in row) for row in confusion),
    )


def format_report(evaluation: Evaluation, *, title: str | None = None) -> str:
    """A plain-text table like the console's evaluation page, then the overall figures."""
    width = max([len("Label"), *(len(m.label) for m in evaluation.labels)])
    header = (
        f"{'Label':<{width}}  {'F1 score':>8}  {'Precision':>9}  {'Recall':>6}  "
        f"{'Assumed threshold':>17}  {'Test images':>11}"
    )
    lines = [title] if title else []
    lines += [header, "-" * len(header)]
    for m in evaluation.labels:
        lines.append(
            f"{m.label:<{width}}  {m.f1:>8.3f}  {m.precision:>9.3f}  {m.recall:>6.3f}  "
            f"{m.assumed_threshold:>17.3f}  {m.support:>11d}"
        )
    lines += [
        "",
        f"F1 score (average)   {evaluation.macro_f1:.3f}",
        f"Average precision    {evaluation.macro_precision:.3f}",
        f"Overall recall       {evaluation.macro_recall:.3f}",
        f"Accuracy             {evaluation.accuracy:.3f}  "
        f"({round(evaluation.accuracy * evaluation.test_images)} of {evaluation.test_images} test images)",
    ]
    return "\n".join(lines)
