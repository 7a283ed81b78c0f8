"""Multinomial logistic regression in numpy: the part of the local model that is trained.

Features are standardised with the training mean/std, the loss is the mean cross-entropy plus an L2
penalty on the weights, and it is minimised by Nesterov-accelerated full-batch gradient descent with a
step from the loss's Lipschitz bound and a fixed number of iterations: no randomness, so the same data
gives the same model bit for bit, in well under a second for a few hundred images.

``temperature`` divides the logits before the softmax; ``fit`` leaves it at 1 and training sets it from
the held-out split (``labelwatch.model.calibration``). It is saved with the weights, so whatever loads
the classifier serves the calibrated confidences.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

_FORMAT = 1


def _f32(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float32).astype(np.float64)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class LogisticRegression:
    """``fit(X, y, labels)`` then ``predict_proba(X)``; ``y`` holds indices into ``labels``."""

    def __init__(self, l2: float = 0.1, iterations: int = 400) -> None:
        if l2 <= 0:
            raise ValueError("l2 must be positive")
        self.l2 = float(l2)
        self.iterations = int(iterations)
        self.labels: tuple[str, ...] = ()
        self.seed = 0
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self.weights: np.ndarray | None = None  # [features, labels]
        self.bias: np.ndarray | None = None  # [labels]
        self.temperature = 1.0

    def fit(
        self, X: np.ndarray, y: Sequence[int], labels: Sequence[str], seed: int = 0
    ) -> LogisticRegression:
        """Train on features ``X [n, d]`` and label indices ``y``. ``seed`` is recorded with the model
        (the optimisation itself is deterministic and needs none)."""
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.int64)
        labels = tuple(labels)
        if X.ndim != 2 or len(X) != len(y) or len(X) == 0:
            raise ValueError(f"X must be [n, d] with one label per row; got {X.shape} and {len(y)} labels")
        if len(labels) < 2 or y.min() < 0 or y.max() >= len(labels):
            raise ValueError("need at least 2 labels and every y in range(len(labels))")
        self.labels, self.seed = labels, int(seed)
        self.temperature = 1.0

        self.mean = X.mean(axis=0)
        self.std = X.std(axis=0) + 1e-6
        Xs = (X - self.mean) / self.std
        n, d = Xs.shape
        k = len(labels)
        onehot = np.zeros((n, k))
        onehot[np.arange(n), y] = 1.0

        # Softmax cross-entropy has Hessian <= 1/2 X'X/n per class (plus the bias column): a safe step.
        sigma = np.linalg.norm(Xs, ord=2)
        lipschitz = 0.5 * (sigma**2 + n) / n + self.l2
        step = 1.0 / lipschitz

        W, b = np.zeros((d, k)), np.zeros(k)
        W_prev, b_prev = W, b
        for it in range(1, self.iterations + 1):
            momentum = (it - 1) / (it + 2)
            Wm, bm = W + momentum * (W - W_prev), b + momentum * (b - b_prev)
            residual = (softmax(Xs @ Wm + bm) - onehot) / n
            grad_W = Xs.T @ residual + self.l2 * Wm
            grad_b = residual.sum(axis=0)
            W_prev, b_prev = W, b
            W, b = Wm - step * grad_W, bm - step * grad_b
        # Kept at float32 precision, as saved: a loaded model predicts exactly what this one does.
        self.mean, self.std = _f32(self.mean), _f32(self.std)
        self.weights, self.bias = _f32(W), _f32(b)
        return self

    def _check_fitted(self) -> None:
        if self.weights is None:
            raise RuntimeError("the classifier is not trained")

    def logits(self, X: np.ndarray) -> np.ndarray:
        """Scores ``[n, len(labels)]`` before the temperature and the softmax."""
        self._check_fitted()
        Xs = (np.asarray(X, dtype=np.float64) - self.mean) / self.std
        return Xs @ self.weights + self.bias

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probabilities ``[n, len(labels)]`` (rows sum to 1), at the classifier's temperature."""
        return softmax(self.logits(X) / self.temperature)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=1)

    def save(self, path: Path) -> None:
        """Plain arrays in an ``.npz`` (no pickle: loading a model never runs code)."""
        self._check_fitted()
        np.savez_compressed(
            path,
            format=np.int64(_FORMAT),
            labels=np.array(self.labels, dtype=str),
            mean=self.mean.astype(np.float32),
            std=self.std.astype(np.float32),
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            l2=np.float64(self.l2),
            iterations=np.int64(self.iterations),
            seed=np.int64(self.seed),
            temperature=np.float64(self.temperature),
        )

    @classmethod
    def load(cls, path: Path) -> LogisticRegression:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != _FORMAT:
                raise ValueError(f"{path}: unsupported classifier format {int(data['format'])}")
            model = cls(l2=float(data["l2"]), iterations=int(data["iterations"]))
            model.labels = tuple(str(label) for label in data["labels"])
            model.seed = int(data["seed"])
            model.mean = data["mean"].astype(np.float64)
            model.std = data["std"].astype(np.float64)
            model.weights = data["weights"].astype(np.float64)
            model.bias = data["bias"].astype(np.float64)
            # Saved since calibration; a file from before it was never calibrated.
            model.temperature = float(data["temperature"]) if "temperature" in data.files else 1.0
        return model
