"""The workflow's Retry waits in the twin: recorded as asked, slept at the compression asked."""

from __future__ import annotations

import importlib

from labelwatch.local import retry_waits
from labelwatch.local.retry_waits import RETRIER_MODULE, RetryWaits


def test_each_wait_is_recorded_and_slept_at_its_scale(monkeypatch):
    slept = []
    monkeypatch.setattr(retry_waits.time, "sleep", slept.append)
    waits = RetryWaits(scale=0.1)
    (patch,) = waits.patches()
    patch.apply()
    try:
        retrier_time = importlib.import_module(RETRIER_MODULE).time
        retrier_time.sleep(2.0)
        retrier_time.sleep(4.0)
        assert retrier_time.monotonic() > 0, "the rest of time is time's"
    finally:
        patch.restore()
    assert waits.waits == [2.0, 4.0]
    assert slept == [0.2, 0.4]
    assert importlib.import_module(RETRIER_MODULE).time is retry_waits.time, "restored"


def test_scale_zero_records_without_sleeping(monkeypatch):
    slept = []
    monkeypatch.setattr(retry_waits.time, "sleep", slept.append)
    waits = RetryWaits(scale=0)
    waits.sleep(8.0)
    assert waits.waits == [8.0] and slept == []
