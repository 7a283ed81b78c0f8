"""Wait until every uploaded image has its outcome, and score the model against the truth."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from labelwatch.outcomes import OK, Outcome, ResultReader, collect_outcomes


def wait_for_outcomes(
    client: Any,
    outputs: dict[str, str],
    keys: set[str],
    *,
    timeout: float,
    interval: float = 0.5,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, list[Outcome]]:
    """Poll the results bucket and DLQs until each key has an outcome (or ``timeout`` passes)."""
    deadline = time.monotonic() + timeout
    reader = ResultReader.of(client, outputs)
    while True:
        found_now = collect_outcomes(client, outputs, reader)
        outcomes = {key: found for key, found in found_now.items() if key in keys}
        if on_progress:
            on_progress(len(outcomes))
        if len(outcomes) >= len(keys) or time.monotonic() >= deadline:
            return outcomes
        time.sleep(interval)


@dataclass
class Accuracy:
    correct: int = 0
    total: int = 0
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)  # (true, predicted)

    @property
    def ratio(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def per_label(self) -> dict[str, tuple[int, int]]:
        """label -> (correctly predicted, images with that true label)."""
        totals: Counter[str] = Counter()
        hits: Counter[str] = Counter()
        for (truth, predicted), count in self.confusion.items():
            totals[truth] += count
            if truth == predicted:
                hits[truth] += count
        return {label: (hits[label], totals[label]) for label in sorted(totals)}


def score(truth: dict[str, str], outcomes: dict[str, list[Outcome]]) -> Accuracy:
    """The top label of each processed image against its true label."""
    accuracy = Accuracy()
    for key, label in truth.items():
        results = [outcome for outcome in outcomes.get(key, []) if outcome.kind == OK]
        if not results:
            continue
        predicted = results[0].top_label or "(none)"
        accuracy.total += 1
        accuracy.correct += predicted == label
        accuracy.confusion[(label, predicted)] += 1
    return accuracy
