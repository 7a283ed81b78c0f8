"""The soak at a small N: every input kind, every fault, and the invariants (`make soak` runs N = 1,000)."""

from __future__ import annotations

import pytest

from labelwatch.soak.inputs import KINDS
from labelwatch.soak.run import SoakSettings, run_soak

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local-stack")]


def test_soak_small_every_upload_has_exactly_one_outcome_under_faults():
    report = run_soak(SoakSettings(images=30, per_label=8, model_stop_seconds=4.0, seed=11))

    assert report.passed, "\n".join(report.violations)
    assert set(report.by_kind) == {kind.name for kind in KINDS}, "every input kind was uploaded"
    bad = sum(sum(counts.values()) for kind, counts in report.by_kind.items() if kind in _rejected_kinds())
    assert bad >= 0.1 * report.uploads, "at least 10 % bad inputs"
    assert report.throttled_calls > 0, "throttling was injected and absorbed"
    assert report.records_left_for_retry > 0, "the stopped model sent records back to the queue"
    assert report.sns_failures > 0, "the SNS outage hit real publishes"
    assert report.redriven > 0, "it outlasted the retries, and the redrive recovered those images"
    assert report.deliveries_received >= 2 * report.uploads, "every event was delivered twice"


def _rejected_kinds() -> set[str]:
    return {kind.name for kind in KINDS if kind.expected != "ok"}
