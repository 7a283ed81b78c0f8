"""Label rules: which labels are of interest and the minimum confidence (0-100) that raises an alert.

``LABEL_RULES`` is a JSON object ``{"leaf-smut": 80.0, ...}``. Names are compared trimmed and
case-insensitively because Custom Labels label names come from dataset folder names whose case varies.
A label matches when its confidence is at or above the threshold.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from .labels import Label

MAX_RULES = 10


def normalise_name(name: str) -> str:
    return name.strip().casefold()


@dataclass(frozen=True)
class Match:
    label: Label
    rule: str  # the label name as configured (used for SNS filter attributes)
    threshold: float


@dataclass(frozen=True)
class LabelRules:
    thresholds: dict[str, tuple[str, float]]  # normalised name -> (configured name, threshold)

    @property
    def min_confidence(self) -> float:
        """The lowest threshold, used as MinConfidence so every label that could match comes back."""
        return min(threshold for _, threshold in self.thresholds.values())

    def rule_for(self, label_name: str) -> tuple[str, float] | None:
        return self.thresholds.get(normalise_name(label_name))

    def threshold_for(self, label: Label) -> float | None:
        """The threshold of the rule for this label's name, or None when no rule names it."""
        rule = self.rule_for(label.name)
        return rule[1] if rule is not None else None

    def is_match(self, label: Label) -> bool:
        rule = self.rule_for(label.name)
        return rule is not None and label.confidence >= rule[1]

    def evaluate(self, labels: list[Label]) -> list[Match]:
        """Labels at or above their rule's threshold, highest confidence first."""
        matches = []
        for label in labels:
            rule = self.rule_for(label.name)
            if rule is not None and label.confidence >= rule[1]:
                matches.append(Match(label=label, rule=rule[0], threshold=rule[1]))
        return sorted(matches, key=lambda m: m.label.confidence, reverse=True)


def parse_label_rules(text: str) -> LabelRules:
    """Parse and validate the rules; ValueError says what is wrong with which entry."""
    try:
        data = json.loads(text)
    except (TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f'expected a JSON object like {{"leaf-smut": 80}}, got {text!r}') from exc
    if not isinstance(data, dict) or not data:
        raise ValueError(f'expected a non-empty JSON object like {{"leaf-smut": 80}}, got {text!r}')
    if len(data) > MAX_RULES:
        raise ValueError(f"at most {MAX_RULES} labels of interest, got {len(data)}")

    thresholds: dict[str, tuple[str, float]] = {}
    for name, value in data.items():
        label = name.strip()
        if not label:
            raise ValueError("a label name is empty")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"threshold of {label!r} must be a number, got {value!r}")
        if not 0 <= value <= 100:
            raise ValueError(f"threshold of {label!r} must be between 0 and 100, got {value!r}")
        key = normalise_name(label)
        if key in thresholds:
            raise ValueError(f"label {label!r} is listed twice (names are compared case-insensitively)")
        thresholds[key] = (label, float(value))
    return LabelRules(thresholds=thresholds)
