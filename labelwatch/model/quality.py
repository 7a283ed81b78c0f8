"""The quality gate: whether a trained version may become the default model, and how far to trust it.

Every version is stored; one the gate refuses is not picked by ``labelwatch local up`` as "the newest
trained" (``train(force=True)`` overrides, ``local up --model ARN`` still uses any). Refused:

* a version that answers the same label for every one of at least :data:`MIN_TEST_IMAGES_PER_LABEL`
  test images (identical or meaningless images: a model that learnt anything would have to be wrong on
  all but one of them);
* on a test split large enough to mean something, one no better than always answering the commonest
  label, or with an average F1 below :data:`MIN_MACRO_F1`.

A split with fewer than :data:`MIN_TEST_IMAGES_PER_LABEL` test images of some label gets a caveat
instead: it can no more show that a model is bad than that it is good (a model right on 90 % of fresh
photos scored 2 of 6 on such a split), so it neither refuses on F1 nor calibrates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from labelwatch.model.metrics import Evaluation

MIN_MACRO_F1 = 0.5
"""Precision and recall of 0.5 give F1 0.5: half of a label's alerts wrong and half its cases missed.
Below that a label's alerts are, on average, more noise than signal. A floor against broken datasets
(identical or mislabelled images), not a target: a model to rely on should be well above it."""

MIN_TEST_IMAGES_PER_LABEL = 5
"""With n test images a label's recall moves in steps of 1/n. At 5, one image is 20 points and a perfect
5 of 5 still only says recall is above 57 % (95 % Wilson interval); at 1 of 1 it says above 21 %: F1
1.000 on one image per label cannot tell a good model from a coin toss. Below it the figures get a
caveat, F1 and accuracy refuse nothing and no temperature is fitted."""


@dataclass(frozen=True)
class Quality:
    refusals: tuple[str, ...]  # why the version may not be the default; empty: it may
    caveats: tuple[str, ...]  # why its figures mean little
    forced: bool = False  # made the default despite the refusals

    @property
    def default(self) -> bool:
        """Whether ``local up`` may pick this version as the newest trained one."""
        return not self.refusals or self.forced

    def to_dict(self) -> dict[str, Any]:
        return {
            "default": self.default,
            "forced": self.forced,
            "refusals": list(self.refusals),
            "caveats": list(self.caveats),
            "min_macro_f1": MIN_MACRO_F1,
            "min_test_images_per_label": MIN_TEST_IMAGES_PER_LABEL,
        }

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> Quality:
        """A version stored before the gate existed has no verdict: it may be the default."""
        data = manifest.get("quality") or {}
        return cls(
            refusals=tuple(data.get("refusals", ())),
            caveats=tuple(data.get("caveats", ())),
            forced=bool(data.get("forced", False)),
        )


def split_too_small(supports: Iterable[int]) -> bool:
    """Whether some label has fewer than :data:`MIN_TEST_IMAGES_PER_LABEL` test images."""
    return any(count < MIN_TEST_IMAGES_PER_LABEL for count in supports)


def _refusals(evaluation: Evaluation) -> list[str]:
    names = [m.label for m in evaluation.labels]
    predicted = [sum(row[j] for row in evaluation.confusion) for j in range(len(names))]
    actual = [sum(row) for row in evaluation.confusion]
    out = []
    used = [name for name, count in zip(names, predicted, strict=True) if count]
    one_label = len(used) == 1 and sum(1 for count in actual if count) > 1
    if one_label and evaluation.test_images >= MIN_TEST_IMAGES_PER_LABEL:
        out.append(f"it gives every test image the same label ({used[0]!r})")
    if split_too_small(actual):
        return out
    if not one_label and evaluation.test_images:
        share = max(actual) / evaluation.test_images
        if evaluation.accuracy <= share:
            commonest = names[actual.index(max(actual))]
            out.append(
                f"its accuracy {evaluation.accuracy:.1%} is no better than always answering "
                f"{commonest!r} ({share:.1%} of the test images)"
            )
    if evaluation.macro_f1 < MIN_MACRO_F1:
        out.append(f"its average F1 {evaluation.macro_f1:.3f} is below the floor of {MIN_MACRO_F1:.2f}")
    return out


def _caveats(evaluation: Evaluation) -> list[str]:
    few = [m for m in evaluation.labels if m.support < MIN_TEST_IMAGES_PER_LABEL]
    if not few:
        return []
    supports = {m.support for m in few}
    if len(few) == len(evaluation.labels) and len(supports) == 1:
        counts = f"{few[0].support} per label"
    else:
        counts = ", ".join(f"{m.label} {m.support}" for m in few)
    step = 100 / max(1, min(m.support for m in few))
    return [
        f"too few test images to trust these figures: {counts} (fewer than {MIN_TEST_IMAGES_PER_LABEL}); "
        f"one image moves a label's recall by {step:.0f} points. Add images or raise --test-fraction"
    ]


def assess(evaluation: Evaluation, *, force: bool = False) -> Quality:
    """The gate's verdict on a held-out evaluation; ``force`` makes a refused version the default."""
    refusals = tuple(_refusals(evaluation))
    return Quality(refusals=refusals, caveats=tuple(_caveats(evaluation)), forced=bool(force and refusals))
