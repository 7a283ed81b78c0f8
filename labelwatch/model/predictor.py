"""A trained model version ready to answer DetectCustomLabels."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from labelwatch.model.classifier import LogisticRegression
from labelwatch.model.features import FeatureExtractor, shared_extractor

Prediction = tuple[str, float, None]  # (label, confidence 0..100, geometry: none for classification)


class LoadedModel:
    """Callable as a ``labelwatch.local.custom_labels`` predictor: ``model(image_bytes)``."""

    def __init__(
        self,
        arn: str,
        classifier: LogisticRegression,
        assumed_thresholds: dict[str, float],
        extractor: FeatureExtractor | None = None,
    ) -> None:
        self.arn = arn
        self.classifier = classifier
        self.labels: tuple[str, ...] = classifier.labels
        self.assumed_thresholds = dict(assumed_thresholds)
        self._extractor = extractor

    @property
    def extractor(self) -> FeatureExtractor:
        return self._extractor or shared_extractor()

    def _rank(self, proba: np.ndarray) -> list[Prediction]:
        order = sorted(range(len(self.labels)), key=lambda i: (-proba[i], i))
        return [(self.labels[i], round(float(proba[i]) * 100, 3), None) for i in order]

    def predict(self, image_bytes: bytes) -> list[Prediction]:
        """Every label with its confidence (calibrated softmax probability x 100, 3 decimals), highest first.
        Raises ``features.ImageDecodeError`` for bytes that are not a decodable image."""
        return self.predict_many([image_bytes])[0]

    def predict_many(self, images: Sequence[bytes], batch_size: int = 16) -> list[list[Prediction]]:
        if not images:
            return []
        proba = self.classifier.predict_proba(self.extractor.extract(images, batch_size=batch_size))
        return [self._rank(row) for row in proba]

    __call__ = predict

    def __repr__(self) -> str:
        return f"LoadedModel({self.arn!r}, labels={list(self.labels)})"
