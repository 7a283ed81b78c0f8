"""``labelwatch cost``: the stack's monthly AWS cost for a workload, per component and per 1,000 images."""

from __future__ import annotations

import json
import math
from typing import Annotated

import typer

from labelwatch.cli.console import console, print_table, write_out
from labelwatch.cli.errors import USAGE, CliError
from labelwatch.cli.local_cmd import parameters_epilog, parse_context

FORMATS = ("table", "json", "csv")
HELP = (
    "Print the monthly AWS cost (us-east-1 list prices, dated) of the stack's configuration for a "
    "workload: per component, under modelControl on-demand and always-on and for the original "
    "two-Lambda, two-queue design, and per 1,000 images.\n\n"
    "Without --images-per-day it prints three example workloads: 2,000 images/day in 2 bursts, "
    "50,000/day steady, 1,000,000/day steady. Stack parameters come from cdk.json and -c; "
    "modelArn, notificationEmails and labelsOfInterest change no cost, so placeholders stand in "
    "when none are given. Free tiers are not applied; docs/cost.md lists every assumption."
)


def register(app: typer.Typer) -> None:
    @app.command("cost", help=HELP, epilog=parameters_epilog(), short_help="Monthly AWS cost for a workload.")
    def cost(
        images_per_day: Annotated[
            int | None,
            typer.Option(metavar="N", help="Images uploaded a day, 1 or more [the three examples]"),
        ] = None,
        bursts_per_day: Annotated[
            int | None, typer.Option(metavar="B", help="Bursts they come in a day; 0 = steady [0]")
        ] = None,
        alert_share: Annotated[
            float | None, typer.Option(metavar="F", help="Share of images that alert, 0 to 1 [0.1]")
        ] = None,
        subscribers: Annotated[
            int | None, typer.Option(metavar="S", help="Addresses each alert is e-mailed to [2]")
        ] = None,
        manual_hours_per_day: Annotated[
            float | None,
            typer.Option(
                metavar="H",
                help="Hours a day you run the model yourself, 0 to 24 (modelControl manual) [not estimated]",
            ),
        ] = None,
        context: Annotated[
            list[str] | None,
            typer.Option("--context", "-c", metavar="NAME=VALUE", help="Stack parameter (see below)"),
        ] = None,
        fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="table, json or csv")] = "table",
    ) -> None:
        from labelwatch.cost.assumptions import Assumptions
        from labelwatch.cost.price_list import load_prices

        if fmt not in FORMATS:
            raise CliError(f"--format {fmt!r}: use table, json or csv", USAGE)
        _check_range("--images-per-day", images_per_day, 1, None)
        _check_range("--bursts-per-day", bursts_per_day, 0, None)
        _check_range("--alert-share", alert_share, 0, 1)
        _check_range("--subscribers", subscribers, 0, None)
        _check_range("--manual-hours-per-day", manual_hours_per_day, 0, 24)
        given = {
            "--bursts-per-day": bursts_per_day,
            "--alert-share": alert_share,
            "--subscribers": subscribers,
        }
        if images_per_day is None and any(value is not None for value in given.values()):
            named = next(option for option, value in given.items() if value is not None)
            raise CliError(f"{named} describes a workload: give --images-per-day too", USAGE)
        overrides = _overrides(context or [])
        prices, assumptions = load_prices(), Assumptions()
        comparisons = _comparisons(
            images_per_day, bursts_per_day, alert_share, subscribers, manual_hours_per_day, overrides, prices
        )
        _print(comparisons, prices, assumptions, fmt)


def _check_range(option: str, value: float | None, low: float, high: float | None) -> None:
    """A usage error naming the option, its value and the rule (exit 2, one line)."""
    if value is None:
        return
    rule = f"between {low:g} and {high:g}" if high is not None else f"{low:g} or more"
    if not math.isfinite(value) or value < low or (high is not None and value > high):
        raise CliError(f"{option} {value:g}: must be {rule}", USAGE)


def _overrides(pairs: list[str]) -> dict[str, object]:
    """``-c`` pairs; a name that is no stack parameter is a bad command line here (exit 2)."""
    try:
        return parse_context(pairs)
    except CliError as error:
        raise CliError(str(error), USAGE, hint=error.hint) from None


def _config(overrides: dict[str, object]):
    from infra.config import ConfigError
    from labelwatch.cost.parameters import stack_config

    try:
        return stack_config(overrides)
    except ConfigError as error:
        raise CliError("-c: " + "; ".join(error.problems), USAGE) from None


def _comparisons(images_per_day, bursts_per_day, alert_share, subscribers, manual_hours, overrides, prices):
    from labelwatch.cost.comparison import compare
    from labelwatch.cost.examples import EXAMPLES
    from labelwatch.cost.model import Workload

    if images_per_day is None:
        return [
            compare(
                example.workload,
                _config(example.context(overrides)),
                prices,
                key=example.key,
                title=example.title,
                manual_hours_per_day=manual_hours,
            )
            for example in EXAMPLES
        ]
    try:
        workload = Workload(
            images_per_day,
            bursts_per_day=bursts_per_day or 0,
            alert_share=0.1 if alert_share is None else alert_share,
            subscribers=2 if subscribers is None else subscribers,
        )
    except ValueError as error:
        raise CliError(str(error).replace("_", "-"), USAGE) from None
    return [compare(workload, _config(overrides), prices, manual_hours_per_day=manual_hours)]


def _print(comparisons, prices, assumptions, fmt: str) -> None:
    from labelwatch.cost import report

    if fmt == "json":
        write_out(json.dumps(report.as_data(comparisons, prices, assumptions), indent=2) + "\n")
        return
    if fmt == "csv":
        write_out(report.as_csv(comparisons))
        return
    for comparison in comparisons:
        print_table(
            _table(report.columns(comparison), report.rows(comparison), report.title(comparison, prices))
        )
        for line in report.notes(comparison):
            console.print(line, markup=False, highlight=False)
        console.print()
    for line in report.footer(prices):
        console.print(line, markup=False, highlight=False)


def _table(columns: list[str], rows: list[list[str]], title: str):
    """Nothing folds: the component names and amounts are short, and print_table widens the
    console when a terminal is narrower than the table (the terminal wraps, nothing is cut)."""
    from rich.table import Table

    result = Table(title=title, title_justify="left")
    for index, column in enumerate(columns):
        width = max(len(cell) for cell in [column, *(row[index] for row in rows)])
        result.add_column(column, no_wrap=True, min_width=width, justify="right" if index else "left")
    for index, row in enumerate(rows):
        result.add_row(*row, end_section=index == len(rows) - 3)
    return result
