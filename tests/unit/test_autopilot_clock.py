"""The twin's pieces for the autopilot that need no stack: its clock, the schedule's rate and input,
and the meter as `labelwatch model usage` reads it from another process."""

from __future__ import annotations

import pytest

from labelwatch.cli.autopilot_view import usage_rows
from labelwatch.local.clock import TwinClock, twin_now
from labelwatch.local.scheduler import rate_seconds, target_input

ARN = "arn:aws:rekognition:us-east-1:123456789012:project/leaves/version/leaves.v1/1764028800000"


def test_a_compressed_clock_says_so_and_skips_only_forward():
    clock = TwinClock(60, start=1_000_000.0)
    assert clock.describe() == "time compressed 60×: an autopilot minute lasts 1 s"
    assert TwinClock().describe() == "real time"
    assert clock.real_seconds(600) == 10
    before = clock.now()
    clock.skip(3600)
    assert clock.now() >= before + 3600
    with pytest.raises(ValueError, match="only moves forward"):
        clock.skip(-1)
    with pytest.raises(ValueError, match="must be above 0"):
        TwinClock(0)


def test_another_process_reads_the_clock_from_its_state():
    state = {"scale": 12.0, "real": 100.0, "twin": 5_000.0}
    assert twin_now(state, real_now=110.0) == 5_000.0 + 120.0


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)],
)
def test_rate_expressions(expression, seconds):
    assert rate_seconds(expression) == seconds


@pytest.mark.parametrize(
    "expression", ["rate(1 minutes)", "rate(2 minute)", "cron(0 8 * * ? *)", "at(2027-01-01T00:00:00)"]
)
def test_other_expressions_are_refused_by_name(expression):
    with pytest.raises(ValueError, match="rate"):
        rate_seconds(expression)


def test_the_scheduled_time_is_filled_in_as_scheduler_does():
    assert target_input('{"time": "<aws.scheduler.scheduled-time>"}', 1_800_000_000.7) == (
        '{"time": "2027-01-15T08:00:00Z"}'
    )


def test_usage_counts_the_open_period_while_the_stack_runs_and_not_after():
    version = {
        "arn": ARN,
        "status": "RUNNING",
        "closedUnitSeconds": 600.0,
        "billingSince": 10_000.0,
        "units": 2,
    }
    running = {
        "clock": {"scale": 60.0, "real": 50.0, "twin": 10_300.0},
        "running": True,
        "versions": [version],
    }
    (row,) = usage_rows(running, real_now=55.0)  # 5 real s later: 300 twin s more
    assert row["inference_unit_seconds"] == 600.0 + (10_600.0 - 10_000.0) * 2
    assert row["real_seconds"] == row["inference_unit_seconds"] / 60
    assert row["arn"] == ARN and row["version"] == "leaves.v1"
    stopped = {**running, "running": False}
    (row,) = usage_rows(stopped, real_now=1_000.0)  # the stack is gone: the meter stopped with it
    assert row["inference_unit_seconds"] == 600.0 + (10_300.0 - 10_000.0) * 2
