"""Confidence calibration: one softmax temperature fitted on the held-out split.

A confidence of 80 should mean "right about 80 % of the time", or a rule's threshold means nothing.
Temperature scaling divides the logits by ``T`` (``T > 1`` softens, ``T < 1`` sharpens): the ranking of
labels, and so every prediction and F1, is unchanged; only the confidences move.

``T`` minimises the negative log-likelihood on the held-out images, with two guards:

* the search is bounded (:data:`TEMPERATURE_RANGE`) and deterministic (golden-section search on
  ``1/T``, where the NLL is convex);
* the mean top confidence on the held-out images may not exceed the *smoothed* held-out accuracy
  ``(correct + 1) / (n + 2)`` (Laplace's rule of succession). On a small split where every image is
  right, the NLL keeps falling as ``T -> 0`` and would make the model as sure as it can be (of a photo
  of a cat, too); a model right on all of 3 images has earned an average 80 %, on 150 images 99 %.

On a split too small to mean anything (``quality.split_too_small``) no temperature is fitted
(:func:`uncalibrated`): a model right on 90 % of fresh photos, and about as sure, scored 2 of 6 on such a
split, and a temperature fitted there flattened every confidence to about a third.

The expected calibration error (ECE, :data:`ECE_BINS` equal-width bins of the top confidence) is
reported before and after. Both are measured on the same held-out images the temperature is fitted on
(one parameter, so the optimism is small, but it is not an independent estimate).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from labelwatch.model.classifier import softmax

TEMPERATURE_RANGE = (0.05, 50.0)
"""Wide enough not to bind on a sensible model; finite so the search always ends at a number."""
ECE_BINS = 10
_ITERATIONS = 100  # golden-section / bisection steps: far below float precision of T either way


@dataclass(frozen=True)
class Calibration:
    temperature: float
    ece_before: float  # 0..1, at temperature 1
    ece_after: float  # 0..1, at ``temperature``
    nll_before: float
    nll_after: float
    # "likelihood", "held-out accuracy" (the smoothed-accuracy cap), "none" (scores all alike) or
    # "too few test images" (not fitted)
    limited_by: str
    test_images: int
    mean_confidence_cap: float  # the smoothed held-out accuracy (correct + 1) / (n + 2)
    bins: int = ECE_BINS

    def to_dict(self) -> dict:
        return asdict(self)


def expected_calibration_error(proba: np.ndarray, y: np.ndarray, bins: int = ECE_BINS) -> float:
    """Sum over equal-width bins of the top confidence of (share of images) x |accuracy - confidence|."""
    proba = np.asarray(proba, dtype=np.float64)
    if len(proba) == 0:
        return 0.0
    top = proba.max(axis=1)
    correct = proba.argmax(axis=1) == np.asarray(y)
    which = np.minimum((top * bins).astype(np.int64), bins - 1)
    total = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            total += in_bin.mean() * abs(correct[in_bin].mean() - top[in_bin].mean())
    return float(total)


def _nll(logits: np.ndarray, y: np.ndarray, temperature: float) -> float:
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(log_norm - z[np.arange(len(y)), y]))


def _mean_top(logits: np.ndarray, temperature: float) -> float:
    return float(softmax(logits / temperature).max(axis=1).mean())


def _golden_min(f, low: float, high: float) -> float:
    ratio = (math.sqrt(5) - 1) / 2
    a, b = low, high
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(_ITERATIONS):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = f(d)
    return (a + b) / 2


def uncalibrated(logits: np.ndarray, y: np.ndarray, reason: str) -> Calibration:
    """Temperature 1, with the ECE and NLL it has; ``reason`` says why nothing was fitted."""
    logits = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    n = len(y)
    correct = int(np.sum(logits.argmax(axis=1) == y)) if n else 0
    ece = expected_calibration_error(softmax(logits), y) if n else 0.0
    nll = _nll(logits, y, 1.0) if n else 0.0
    return Calibration(1.0, ece, ece, nll, nll, reason, n, (correct + 1) / (n + 2))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> Calibration:
    """The temperature for held-out ``logits [n, k]`` with true label indices ``y``; see the module."""
    logits = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    n = len(y)
    low, high = TEMPERATURE_RANGE
    if n == 0 or float(np.ptp(logits, axis=1).max()) == 0.0:
        return uncalibrated(logits, y, "none")  # every image scored alike: no temperature changes anything
    correct = int(np.sum(logits.argmax(axis=1) == y))
    smoothed_accuracy = (correct + 1) / (n + 2)

    # NLL is convex in beta = 1/T: a golden-section search on beta finds its minimum deterministically.
    temperature = 1.0 / _golden_min(lambda beta: _nll(logits, y, 1.0 / beta), 1.0 / high, 1.0 / low)
    limited_by = "likelihood"
    if _mean_top(logits, temperature) > smoothed_accuracy:
        # The mean top confidence falls as T rises: bisect for the lowest T that respects the cap.
        a, b = temperature, high
        for _ in range(_ITERATIONS):
            mid = (a + b) / 2
            a, b = (mid, b) if _mean_top(logits, mid) > smoothed_accuracy else (a, mid)
        temperature, limited_by = b, "held-out accuracy"

    temperature = round(float(temperature), 6)  # as stored: the figures below are what is served
    calibrated = softmax(logits / temperature)
    return Calibration(
        temperature=temperature,
        ece_before=expected_calibration_error(softmax(logits), y),
        ece_after=expected_calibration_error(calibrated, y),
        nll_before=_nll(logits, y, 1.0),
        nll_after=_nll(logits, y, temperature),
        limited_by=limited_by,
        test_images=n,
        mean_confidence_cap=smoothed_accuracy,
    )
