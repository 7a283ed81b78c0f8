"""The soak at a small N: every input kind, every fault, and the invariants (`make soak` runs N = 1,000).

The faults are triggered by event counts (the Nth model call, the Nth publish), so each one is
certain to happen at any machine speed, and the assertions below can require all of them.
"""

from __future__ import annotations

import pytest

from labelwatch.soak.inputs import KINDS
from labelwatch.soak.run import SoakSettings, run_soak

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local-stack-load")]


def test_soak_small_every_upload_has_exactly_one_outcome_under_faults():
    settings = SoakSettings(images=30, per_label=8, seed=11)
    report = run_soak(settings)

    assert report.passed, "\n".join(report.violations)
    assert set(report.by_kind) == {kind.name for kind in KINDS}, "every input kind was uploaded"
    bad = sum(sum(counts.values()) for kind, counts in report.by_kind.items() if kind in _rejected_kinds())
    assert bad >= 0.1 * report.uploads, "at least 10 % bad inputs"
    assert report.throttled_calls > 0, "throttling was injected and absorbed"
    assert report.model_refusals >= settings.model_stop_refusals, "the stopped model refused calls"
    assert report.records_left_for_retry > 0, "the stopped model sent records back to the queue"
    assert report.sns_failures > 0, "the SNS outage hit real publishes"
    assert report.redriven > 0, "it outlasted the retries, and the redrive recovered those images"
    assert report.deliveries_received >= 2 * report.uploads, "every event was delivered twice"


def test_faults_that_the_uploads_cannot_reach_are_refused_up_front():
    from labelwatch.soak.inputs import plan
    from labelwatch.soak.run import count_triggered_faults

    uploads = plan(30, 11)
    with pytest.raises(ValueError, match="throttle_every=1000"):
        count_triggered_faults(
            None, uploads, SoakSettings(images=30, throttle_every=1000, sns_outage_publishes=5)
        )


def _rejected_kinds() -> set[str]:
    return {kind.name for kind in KINDS if kind.expected != "ok"}
