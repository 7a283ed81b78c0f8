"""Comparisons as rows for people (the CLI draws the table) and as JSON or CSV for machines."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from labelwatch.cost.assumptions import EXPLAINED, MONTH_DAYS, Assumptions
from labelwatch.cost.comparison import Comparison
from labelwatch.cost.execution_logs import LEVELS
from labelwatch.cost.model import Estimate
from labelwatch.cost.price_list import PriceList

NOT_PART = "—"  # the design has no such component
HEADINGS = {"on-demand": "on-demand", "always-on": "always-on", "manual": "manual", "original": "original"}
CONFIGURED = "*"


def money(value: float | None) -> str:
    if value is None:
        return "not estimated"
    if 0 < value < 0.005:
        return "< $0.01"
    return f"${value:,.2f}"


def title(comparison: Comparison, prices: PriceList) -> str:
    label = f"({comparison.key}) " if comparison.key else ""
    return f"{label}{comparison.title}: USD a month, {prices.region} prices as of {prices.as_of}"


def columns(comparison: Comparison) -> list[str]:
    heads = []
    for each in comparison.estimates:
        head = HEADINGS[each.design]
        heads.append(head + CONFIGURED if each.design == comparison.configured_mode else head)
    return ["component", *heads]


def components(estimates: Sequence[Estimate]) -> list[str]:
    """Every design's components in one order: each new one after the component it follows."""
    order: list[str] = []
    for each in estimates:
        previous = None
        for line in each.lines:
            if line.component not in order:
                at = order.index(previous) + 1 if previous in order else len(order)
                order.insert(at, line.component)
            previous = line.component
    return order


def rows(comparison: Comparison) -> list[list[str]]:
    body = []
    for component in components(comparison.estimates):
        cells = [component]
        for each in comparison.estimates:
            line = next((line for line in each.lines if line.component == component), None)
            cells.append(NOT_PART if line is None else money(line.monthly_usd))
        body.append(cells)
    body.append(["Total", *(_total(each) for each in comparison.estimates)])
    body.append(["Per 1,000 images", *(_per_1000(each) for each in comparison.estimates)])
    return body


def _total(each: Estimate) -> str:
    return money(each.total) + ("" if each.complete else " + the model")


def _per_1000(each: Estimate) -> str:
    return money(each.per_1000_images) + ("" if each.complete else " + the model")


def notes(comparison: Comparison) -> list[str]:
    """What the table alone does not say: model hours, the log level's effect, warnings."""
    runs = []
    for each in comparison.estimates:
        run = each.model
        if run.hours_per_day is None:
            runs.append(f"{HEADINGS[each.design]} as you run it")
            continue
        how = f"{run.hours_per_day:.2f} h/day on {run.units} unit(s)"
        if run.cycles_per_day and not run.never_stops:
            how += f", {run.cycles_per_day:,.0f} start-stop cycle(s) of {run.cycle_minutes:.1f} min"
        elif each.design == "on-demand":
            how += ", never stops"
        runs.append(f"{HEADINGS[each.design]} {how}")
    levels = ", ".join(f"{level} {money(comparison.execution_logs_by_level[level])}" for level in LEVELS)
    configured = comparison.configured_mode
    lines = [
        f"{CONFIGURED} the configured modelControl; original: the two-Lambda, two-queue design labelwatch "
        "replaced (model left running)",
        "model running: " + "; ".join(runs),
        f"executionLogLevel (state machine logs a month): {levels}; "
        f"configured {comparison.configured_log_level}; "
        f"{configured} total at OFF {money(comparison.total_by_level['OFF'])}",
    ]
    lines += [f"warning: {warning}" for warning in comparison.warnings]
    return lines


def footer(prices: PriceList) -> list[str]:
    unconfirmed = len(prices.unconfirmed)
    return [
        f"Prices: {prices.region} as of {prices.as_of} (labelwatch/cost/prices/{prices.region}.json); "
        f"{unconfirmed} of {len(prices.prices)} not confirmed on AWS's own page (see --format json). "
        f"Free tiers not applied. A month is {MONTH_DAYS} days. The model and its assumptions: docs/cost.md.",
    ]


def as_data(comparisons: Sequence[Comparison], prices: PriceList, assumptions: Assumptions) -> dict[str, Any]:
    return {
        "region": prices.region,
        "currency": prices.currency,
        "prices_as_of": prices.as_of,
        "month_days": MONTH_DAYS,
        "free_tiers_applied": False,
        "workloads": [_comparison_data(each) for each in comparisons],
        "assumptions": {
            name: {"value": value, "meaning": EXPLAINED[name]}
            for name, value in assumptions.as_dict().items()
        },
        "unconfirmed_prices": [
            {"name": price.name, "source": price.source, "why": price.why} for price in prices.unconfirmed
        ],
    }


def _comparison_data(comparison: Comparison) -> dict[str, Any]:
    workload = comparison.workload
    return {
        "key": comparison.key,
        "title": comparison.title,
        "workload": {
            "images_per_day": workload.images_per_day,
            "bursts_per_day": workload.bursts_per_day,
            "alert_share": workload.alert_share,
            "subscribers": workload.subscribers,
            "images_per_month": workload.images_per_month,
        },
        "configured_model_control": comparison.configured_mode,
        "configured_execution_log_level": comparison.configured_log_level,
        "designs": {each.design: _estimate_data(each) for each in comparison.estimates},
        "execution_logs_by_level": comparison.execution_logs_by_level,
        "total_by_level": comparison.total_by_level,
        "warnings": list(comparison.warnings),
    }


def _estimate_data(each: Estimate) -> dict[str, Any]:
    run = each.model
    return {
        "lines": [
            {"component": line.component, "monthly_usd": line.monthly_usd, "basis": line.basis}
            for line in each.lines
        ],
        "total_usd": each.total,
        "complete": each.complete,
        "per_1000_images_usd": each.per_1000_images,
        "model_hours_per_day": run.hours_per_day,
        "inference_units": run.units,
        "start_stop_cycles_per_day": run.cycles_per_day,
        "cycle_minutes": run.cycle_minutes,
        "never_stops": run.never_stops,
        "images_per_batch": each.images_per_batch,
    }


def as_csv(comparisons: Sequence[Comparison]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["workload", "design", "component", "monthly_usd", "basis"])
    for comparison in comparisons:
        name = comparison.key or comparison.title
        for each in comparison.estimates:
            for line in each.lines:
                usd = "" if line.monthly_usd is None else f"{line.monthly_usd:.6f}"
                writer.writerow([name, each.design, line.component, usd, line.basis])
            writer.writerow(
                [
                    name,
                    each.design,
                    "Total",
                    f"{each.total:.6f}",
                    "" if each.complete else "without the model",
                ]
            )
            writer.writerow([name, each.design, "Per 1,000 images", f"{each.per_1000_images:.6f}", ""])
    return out.getvalue()
