"""``labelwatch cost``'s model against a hand calculation from the price file, and its rules.

The expected numbers are plain arithmetic over the values in labelwatch/cost/prices/us-east-1.json
(read here as JSON) and the assumptions docs/cost.md writes down; nothing below calls the model's
own helpers to get an expected number.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import replace
from pathlib import Path

import pytest

from infra.config import ConfigError
from labelwatch.cost.assumptions import EXPLAINED, Assumptions
from labelwatch.cost.comparison import compare
from labelwatch.cost.examples import EXAMPLES
from labelwatch.cost.model import CUSTOM_LABELS, EXECUTION_LOGS, STEP_FUNCTIONS, Workload, estimate
from labelwatch.cost.parameters import stack_config
from labelwatch.cost.price_list import load_prices, parse_prices

ROOT = Path(__file__).resolve().parents[2]
PRICE_FILE = ROOT / "labelwatch" / "cost" / "prices" / "us-east-1.json"
RAW = json.loads(PRICE_FILE.read_text())
DAYS = 30.4375  # 365.25 / 12
GIB = 2**30


def p(name: str) -> float:
    """The price file's first-tier price of one unit."""
    entry = RAW["prices"][name]
    value = entry["tiers"][0]["value"] if "tiers" in entry else entry["value"]
    return value / entry["per"]


# Bytes the state machine logs per image at ALL, written out from statemachine/definition.py's happy
# path (docs/cost.md): event data per state, 350-byte envelopes, the batch's records and reports.
PLAIN_STATE_BYTES = (
    (1400 + 1800)  # ParseEvent
    + (1800 + 800 + 0 + 200 + 1800)  # ClaimImage
    + (1800 + 1100 + 0 + 3000 + 4800)  # DetectLabels
    + (4800 + 1200 + 0 + 300 + 4800)  # WriteResult
    + (4800 + 4800)  # EvaluateLabels
    + (4800 + 600 + 0 + 200 + 4800)  # CompleteClaim
    + (4800 + 200)  # Done
)
ALERT_STATE_BYTES = 4800 + 1200 + 0 + 200 + 4800  # PublishAlert


def all_level_bytes(alert_share: float, batch: float) -> float:
    events = 28 + 5 * alert_share
    return (
        PLAIN_STATE_BYTES
        + alert_share * ALERT_STATE_BYTES
        + events * 350
        + 2 * 2200
        + 6 * 300
        + 12 * 350 / batch
    )


def hand(
    n: int,
    *,
    executions_per_day: float,
    batch: float,
    model_hours: float,
    units: int,
    pipe_hours: float,
    traces_per_day: float,
) -> dict[str, float]:
    """Every line of a labelwatch estimate (alert share 0.1, 2 subscribers, default parameters)."""
    m = n * DAYS
    e = executions_per_day * DAYS
    runs = 1440 * DAYS  # the autopilot, once a minute
    digests = 1440 * DAYS  # flood control's digest function, once a minute
    applies = 0.1 * m  # ApplyCooldown, once per alerting image
    exec_gb = m * all_level_bytes(0.1, batch) / GIB
    fn_gb = (m * 1500 + runs * 600 + (digests + applies) * 400) / GIB
    logs_rate = p("logs_data_protection") + 0.2 * p("logs_storage")
    publishes = 0.1 * m
    lines = {
        "custom labels": model_hours * units * DAYS * p("custom_labels_inference_unit_hour"),
        "step functions": e * p("step_functions_express_requests")
        + e * 0.7 * 64 / 1024 / 3600 * p("step_functions_express_duration"),
        "detect": m * p("lambda_requests") + m * 0.4 * 1024 / 1024 * p("lambda_arm_duration"),
        "autopilot": runs * p("lambda_requests") + runs * 0.3 * 256 / 1024 * p("lambda_arm_duration"),
        "flood control": (digests + applies) * p("lambda_requests")
        + (digests * 0.2 + applies * 0.05) * 256 / 1024 * p("lambda_arm_duration"),
        "pipes": e * p("pipes_requests"),
        "sqs": (m + e + pipe_hours * 3600 * 5 / 20 * DAYS + e + runs) * p("sqs_standard_requests"),
        "dynamodb": (2 * m + runs + 2 * 0.1 * m) * p("dynamodb_on_demand_writes")
        + (runs + digests) * p("dynamodb_on_demand_reads")
        + n * 14 * 600 / GIB * (p("dynamodb_storage") + p("dynamodb_point_in_time_recovery")),
        "s3": 3 * m * p("s3_get_requests")
        + m * p("s3_put_requests")
        + m * 1200 / GIB * p("s3_standard_storage"),
        "sns": publishes * p("sns_publishes") + 2 * publishes * p("sns_email_deliveries"),
        "execution logs": exec_gb * (p("logs_vended_ingestion") + logs_rate),
        "function logs": fn_gb * (p("logs_standard_ingestion") + logs_rate),
        "xray": traces_per_day * DAYS * p("xray_traces_recorded"),
        "scheduler": (runs + digests) * p("scheduler_invocations"),
        "cloudwatch": 12 * p("cloudwatch_alarm_metrics")
        + p("cloudwatch_dashboards")
        + 10 * p("cloudwatch_custom_metrics"),
        "kms": 2 * p("kms_keys") + (3 * publishes + 6 * 12 * 24 * DAYS) * p("kms_requests"),
    }
    return lines


def hand_original(n: int, *, batches_per_day: float, units: int) -> float:
    m = n * DAYS
    b = batches_per_day * DAYS
    polls = 2 * 5 * 86400 / 20 * DAYS
    publishes = 0.1 * m
    log_gb = 2 * (b * 1000 + m * 500) / GIB
    return (
        24 * units * DAYS * p("custom_labels_inference_unit_hour")
        + b * p("lambda_requests")
        + m * 0.5 * 128 / 1024 * p("lambda_x86_duration")
        + b * p("lambda_requests")
        + m * 0.05 * 128 / 1024 * p("lambda_x86_duration")
        + (2 * m + 2 * b + polls + 2 * b) * p("sqs_standard_requests")
        + m * p("s3_get_requests")
        + m * p("s3_put_requests")
        + m * 1200 / GIB * p("s3_standard_storage")
        + publishes * p("sns_publishes")
        + 2 * publishes * p("sns_email_deliveries")
        + log_gb * (p("logs_standard_ingestion") + 0.2 * p("logs_storage"))
    )


# (a) 2,000 a day in 2 bursts of 1,000: 100 full batches a burst; a burst takes 1,000 / 5 = 200 s on one
# unit; a cycle is 20 start + 3 scheduler + 200/60 processing + 10 idle + 5 stop minutes.
A_CYCLE_MINUTES = 20 + 3 + 200 / 60 + 10 + 5
A = dict(executions_per_day=200, batch=10, units=1, traces_per_day=200)  # 0.5 executions/s: all traced
# (b) 50,000 a day steady: 0.5787 images/s x 2 s window = 1.157 images a batch; 0.5 executions/s.
B_BATCH = 50_000 / 86_400 * 2
B = dict(executions_per_day=50_000 / B_BATCH, batch=B_BATCH, units=1, traces_per_day=50_000 / B_BATCH)
# (c) 1,000,000 a day steady: 11.57 images/s, full batches of 10, 3 units (11.57 / 5 rounded up);
# 1.157 executions/s: X-Ray records 1 a second and 5 % of the rest.
C = dict(executions_per_day=100_000, batch=10, units=3, traces_per_day=86_400 + 0.05 * (100_000 - 86_400))

EXPECTED = {
    "a": {
        "on-demand": hand(
            2_000, model_hours=2 * A_CYCLE_MINUTES / 60, pipe_hours=2 * A_CYCLE_MINUTES / 60, **A
        ),
        "always-on": hand(2_000, model_hours=24, pipe_hours=24, **A),
        "original": hand_original(2_000, batches_per_day=200, units=1),
    },
    "b": {
        "on-demand": hand(50_000, model_hours=24, pipe_hours=24, **B),
        "always-on": hand(50_000, model_hours=24, pipe_hours=24, **B),
        "original": hand_original(50_000, batches_per_day=50_000, units=1),
    },
    "c": {
        "on-demand": hand(1_000_000, model_hours=24, pipe_hours=24, **C),
        "always-on": hand(1_000_000, model_hours=24, pipe_hours=24, **C),
        "original": hand_original(1_000_000, batches_per_day=1_000_000, units=3),
    },
}


@pytest.fixture(scope="module")
def prices():
    return load_prices()


@pytest.fixture(scope="module")
def config():
    return stack_config({})


@pytest.fixture(scope="module")
def comparisons(prices):
    return {
        example.key: compare(example.workload, stack_config(example.context({})), prices)
        for example in EXAMPLES
    }


def expected_total(key: str, design: str) -> float:
    value = EXPECTED[key][design]
    return sum(value.values()) if isinstance(value, dict) else value


@pytest.mark.parametrize("key", ["a", "b", "c"])
@pytest.mark.parametrize("design", ["on-demand", "always-on", "original"])
def test_the_three_workloads_totals_match_the_hand_calculation(comparisons, key, design):
    assert comparisons[key].estimate(design).total == pytest.approx(expected_total(key, design), rel=1e-9)


@pytest.mark.parametrize("key", ["a", "b", "c"])
@pytest.mark.parametrize("design", ["on-demand", "always-on"])
@pytest.mark.parametrize(
    "component, hand_line",
    [
        (CUSTOM_LABELS, "custom labels"),
        (STEP_FUNCTIONS, "step functions"),
        (f"{EXECUTION_LOGS} (ALL)", "execution logs"),
    ],
)
def test_custom_labels_step_functions_and_logs_lines_match(comparisons, key, design, component, hand_line):
    line = comparisons[key].estimate(design).line(component)
    assert line.monthly_usd == pytest.approx(EXPECTED[key][design][hand_line], rel=1e-9)


def test_the_headline_numbers(comparisons):
    """The model on demand runs 1.38 h a day for workload (a), 24 h otherwise; $4 x 730.5 h left on."""
    a = comparisons["a"].estimate("on-demand")
    assert a.model.hours_per_day == pytest.approx(1.3778, abs=1e-4)
    assert a.model.cycles_per_day == 2 and not a.model.never_stops
    assert comparisons["a"].estimate("always-on").line(CUSTOM_LABELS).monthly_usd == pytest.approx(2922.0)
    assert comparisons["c"].estimate("always-on").model.units == 3


def test_on_demand_never_costs_more_than_always_on(prices, config):
    workloads = [Workload(2_000, 2), Workload(200, 1), Workload(50_000), Workload(100), Workload(5_000, 24)]
    for workload in workloads:
        on_demand = estimate(workload, config, prices, design="on-demand").total
        assert on_demand <= estimate(workload, config, prices, design="always-on").total + 1e-9, workload


def test_a_steady_workload_costs_the_same_under_both(comparisons):
    assert comparisons["b"].estimate("on-demand").total == comparisons["b"].estimate("always-on").total


def test_images_further_apart_than_the_idle_time_each_start_the_model(prices, config):
    """10 images a day, 2.4 h apart: ten start-stop cycles of one image, not 24 hours."""
    run = estimate(Workload(10), config, prices, design="on-demand").model
    assert run.cycles_per_day == 10 and not run.never_stops
    assert run.hours_per_day == pytest.approx(10 * (20 + 3 + 1 / 5 / 60 + 10 + 5) / 60)


def test_bursts_too_close_together_keep_the_model_running(prices, config):
    run = estimate(Workload(4_800, 48), config, prices, design="on-demand").model
    assert run.never_stops and run.hours_per_day == 24


def test_execution_log_level_off_error_all(prices, config):
    workload = Workload(50_000)

    def logs(level: str) -> float:
        each = estimate(workload, replace(config, execution_log_level=level), prices, design="on-demand")
        return each.line(f"{EXECUTION_LOGS} ({level})").monthly_usd

    assert logs("OFF") == 0 < logs("FATAL") < logs("ERROR") < logs("ALL")


def test_the_comparison_shows_each_log_level(comparisons):
    by_level = comparisons["c"].execution_logs_by_level
    assert list(by_level) == ["ALL", "ERROR", "FATAL", "OFF"]
    assert by_level["OFF"] == 0 < by_level["ERROR"] < by_level["ALL"]
    assert comparisons["c"].total_by_level["OFF"] < comparisons["c"].total_by_level["ALL"]


@pytest.mark.parametrize("key", ["a", "b", "c"])
def test_per_1000_images_is_the_total_over_the_images(comparisons, key):
    for each in comparisons[key].estimates:
        images = comparisons[key].workload.images_per_day * DAYS
        assert each.per_1000_images == pytest.approx(each.total / images * 1000)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(images_per_day=0), "images_per_day 0 must be at least 1"),
        (dict(images_per_day=-5), "images_per_day -5 must be at least 1"),
        (dict(images_per_day=10, bursts_per_day=-1), "bursts_per_day -1"),
        (dict(images_per_day=10, bursts_per_day=11), "a burst has at least one image"),
        (dict(images_per_day=10, alert_share=1.5), "alert_share 1.5 must be between 0 and 1"),
        (dict(images_per_day=10, alert_share=-0.1), "alert_share -0.1"),
        (dict(images_per_day=10, subscribers=-2), "subscribers -2"),
        (dict(images_per_day=2.5), "images_per_day 2.5 is not a whole number"),
    ],
)
def test_bad_workloads_are_refused(arguments, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Workload(**arguments)


def test_unknown_designs_levels_and_parameters_are_refused(prices, config):
    with pytest.raises(ValueError, match="design 'cheap' is not one of"):
        estimate(Workload(10), config, prices, design="cheap")
    with pytest.raises(ValueError, match="must be between 0 and 24"):
        estimate(Workload(10), config, prices, design="manual", manual_hours_per_day=25)
    with pytest.raises(ConfigError, match="batchSiz"):
        stack_config({"batchSiz": 5})
    with pytest.raises(ConfigError, match="executionLogLevel"):
        stack_config({"executionLogLevel": "LOUD"})
    with pytest.raises(ConfigError, match="modelControl"):
        stack_config({"modelControl": "sometimes"})


def test_manual_is_not_estimated_unless_hours_are_given(prices, config):
    manual = estimate(Workload(2_000, 2), config, prices, design="manual")
    assert manual.line(CUSTOM_LABELS).monthly_usd is None and not manual.complete
    given = estimate(Workload(2_000, 2), config, prices, design="manual", manual_hours_per_day=8)
    assert given.line(CUSTOM_LABELS).monthly_usd == pytest.approx(
        8 * DAYS * p("custom_labels_inference_unit_hour")
    )


def test_a_rate_the_units_cannot_carry_is_said(prices, config):
    """1 M images a day is 11.6 images/s: one unit without auto-scaling cannot keep up."""
    each = estimate(Workload(1_000_000), config, prices, design="always-on")
    assert any("backlog grows" in note and "maxInferenceUnits to 3" in note for note in each.notes)
    scaled = estimate(Workload(1_000_000), replace(config, max_inference_units=4), prices, design="always-on")
    assert scaled.notes == () and scaled.model.units == 3


def test_every_cost_comes_from_the_price_file(config):
    """Doubling every price in the file doubles every line: no price hides in the code."""
    doubled = copy.deepcopy(RAW)
    for entry in doubled["prices"].values():
        if "value" in entry:
            entry["value"] *= 2
        for tier in entry.get("tiers", []):
            tier["value"] *= 2
    for key, example in (("a", EXAMPLES[0]), ("c", EXAMPLES[2])):
        cfg = stack_config(example.context({}))
        for design in ("on-demand", "original"):
            base = estimate(example.workload, cfg, parse_prices(RAW), design=design)
            twice = estimate(example.workload, cfg, parse_prices(doubled), design=design)
            assert twice.total == pytest.approx(2 * base.total), (key, design)


def test_tiers_are_applied_in_order():
    data = copy.deepcopy(RAW)
    tiered = parse_prices(data)["step_functions_express_duration"]
    assert tiered.cost(500) == pytest.approx(500 * 0.06)
    assert tiered.cost(2_000) == pytest.approx(1_000 * 0.06 + 1_000 * 0.03)
    assert tiered.cost(10_000) == pytest.approx(1_000 * 0.06 + 4_000 * 0.03 + 5_000 * 0.01642)


def test_the_price_file_is_dated_and_sourced():
    assert RAW["region"] == "us-east-1" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", RAW["as_of"])
    for name, entry in RAW["prices"].items():
        assert entry["unit"] and entry["per"] > 0, name
        assert ("value" in entry) != ("tiers" in entry), name
        assert entry["source"].startswith("https://aws.amazon.com/"), name
        assert entry["checked"] == RAW["as_of"], name
        assert isinstance(entry["confirmed"], bool), name
        assert entry["why"], f"{name}: say where the value was seen, or why it is not confirmed"


def test_the_price_file_is_package_data():
    """The installed package must carry its prices (pyproject's package-data)."""
    text = (ROOT / "pyproject.toml").read_text()
    assert '"cost/prices/*.json"' in text
    assert load_prices().as_of == RAW["as_of"]


def test_the_assumed_functions_are_the_stacks():
    for path, memory in (
        ("workflow.py", Assumptions().detect_memory_mb),
        ("autopilot.py", Assumptions().autopilot_memory_mb),
        ("flood_control.py", Assumptions().digest_memory_mb),
        ("flood_control.py", Assumptions().apply_cooldown_memory_mb),
    ):
        source = (ROOT / "infra" / path).read_text()
        assert f"memory_size={memory}," in source and "python_function(" in source, path
    # every function is built by infra/python_function.py, on Arm (the price the model uses)
    assert "ARCHITECTURE = lambda_.Architecture.ARM_64" in (ROOT / "infra" / "python_function.py").read_text()


def test_manual_deploys_no_autopilot(prices, config):
    manual = estimate(Workload(2_000, 2), config, prices, design="manual", manual_hours_per_day=1)
    lines = {line.component: line for line in manual.lines}
    assert "Lambda: autopilot" not in lines
    assert lines["EventBridge Scheduler"].basis.endswith("(1 a minute: digests)")  # flood control's only


def test_every_assumption_is_explained():
    assert set(EXPLAINED) == set(Assumptions().as_dict())


def test_the_month():
    assert DAYS == 365.25 / 12 and math.isclose(Workload(1).images_per_month, DAYS)
