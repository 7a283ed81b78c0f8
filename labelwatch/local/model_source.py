"""The local model store as the Custom Labels stand-in's source of model versions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labelwatch.local.custom_labels import Predictor


class StoreModelSource:
    """Adapts ``labelwatch.model.ModelStore`` to ``custom_labels.ModelSource``.

    Loading a version (its classifier and the shared ONNX feature extractor) happens on first
    use of its ARN, so ``local up`` starts fast and only the model in use is in memory.
    """

    def __init__(self, root: Path) -> None:
        from labelwatch.model.store import ModelStore

        self.store = ModelStore(root)

    def arns(self) -> list[str]:
        return [info.arn for info in self.store.versions()]

    def newest_arn(self) -> str | None:
        """The default model: the newest version the quality gate did not refuse (or was forced)."""
        chosen = self.store.default_version()
        return chosen.arn if chosen else None

    def predictor(self, arn: str) -> tuple[Predictor, dict[str, float]]:
        model = self.store.load(arn)  # ModelNotFound is a KeyError
        return model.predict, dict(model.assumed_thresholds)

    def status(self, arn: str) -> str:
        return self.store.status(arn)

    def set_status(self, arn: str, status: str) -> None:
        self.store.set_status(arn, status)

    def describe(self, arn: str) -> dict[str, Any]:
        info = self.store.get(arn)
        evaluation = info.manifest.get("evaluation", {})
        return {
            "CreationTimestamp": info.created.timestamp(),
            "EvaluationResult": {"F1Score": evaluation.get("macro_f1")},
            "StatusMessage": f"local model in {info.path}",
        }
