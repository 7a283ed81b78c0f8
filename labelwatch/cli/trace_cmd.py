"""``labelwatch executions`` and ``labelwatch trace``: the workflow's path without a console.

Both read the state machine's execution log group (``ExecutionLogGroupName``), where Step Functions
writes an Express execution's events (the twin does too): on AWS no API gives that history.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from labelwatch.cli.analytics_cmd import FormatOption, check_format, render_rows
from labelwatch.cli.console import console
from labelwatch.cli.errors import BAD_INPUT, NO_STACK, USAGE, CliError

STATUSES = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "UNKNOWN")


def _log_group(target: Any) -> str:
    group = target.outputs.get("ExecutionLogGroupName")
    if not group:
        raise CliError(
            f"{target.description} has no ExecutionLogGroupName output: deploy this version of the stack",
            NO_STACK,
        )
    return group


def _execution_of_key(target: Any, key: str) -> str:
    """The execution that last recorded ``key``'s result, or that sent it to the failure DLQ."""
    from labelwatch.dlq import list_dead_letters
    from labelwatch.outcomes import ResultReader

    found: list[tuple[str, str]] = []
    for records in ResultReader.of(target.client, target.outputs).refresh().values():
        for record in records:
            if record.get("key") == key and record.get("execution"):
                found.append((str(record.get("detected_at", "")), record["execution"]))
    if not found:
        bucket = target.outputs.get("InputBucketName", "")
        for letter in list_dead_letters(target.client, target.outputs):
            if letter.image in (key, f"s3://{bucket}/{key}") and getattr(letter, "execution", None):
                found.append((letter.when, letter.execution))
    if not found:
        raise CliError(f"no result or failure names {key!r}: give the execution's ARN instead", BAD_INPUT)
    return max(found)[1]


def register(app: typer.Typer) -> None:
    @app.command(short_help="Recent executions: start, duration, status, images and outcomes.")
    def executions(
        ctx: typer.Context,
        image: Annotated[
            str | None, typer.Option(metavar="KEY", help="Only executions of this image")
        ] = None,
        status: Annotated[
            str | None, typer.Option(metavar="STATUS", help=f"Only this status: {', '.join(STATUSES)}")
        ] = None,
        since: Annotated[float, typer.Option(min=0.01, metavar="HOURS", help="How far back to look")] = 24.0,
        fmt: FormatOption = "table",
    ) -> None:
        """List the workflow's recent executions from its execution log group."""
        from labelwatch.trace import log_messages, parse_events, trace_execution

        check_format(fmt)
        if status is not None and status.upper() not in STATUSES:
            raise CliError(f"--status {status!r}: expected one of {', '.join(STATUSES)}", USAGE)
        target = ctx.obj.target()
        since_ms = int((time.time() - since * 3600) * 1000)
        messages = log_messages(target.client("logs"), _log_group(target), limit=100_000, startTime=since_ms)
        traces = [trace_execution(arn, events) for arn, events in parse_events(messages).items()]
        traces.sort(key=lambda trace: trace.started_ms or 0, reverse=True)
        rows = []
        for trace in traces:
            if status is not None and trace.status != status.upper():
                continue
            if image is not None and trace.image(image) is None:
                continue
            started = (
                time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(trace.started_ms / 1000))
                if trace.started_ms
                else "-"
            )
            outcomes = "; ".join(f"{i.key or f'#{i.index}'}: {i.outcome}" for i in trace.images)
            rows.append((started, trace.duration_ms, trace.status, len(trace.images), outcomes, trace.arn))
        if not rows and fmt == "table":
            console.print(f"no executions logged in the last {since:g} h ({target.description})")
            return
        render_rows(
            ["started (UTC)", "ms", "status", "images", "outcomes", "execution"],
            rows,
            fmt=fmt,
            title=f"executions ({target.description})",
        )

    @app.command(short_help="The path one image or execution took through the workflow.")
    def trace(
        ctx: typer.Context,
        which: Annotated[
            str, typer.Argument(metavar="KEY|EXECUTION", help="An image's key or an execution ARN")
        ],
        html: Annotated[
            Path | None,
            typer.Option(metavar="FILE", help="Also write the path on the workflow's graph as a page"),
        ] = None,
    ) -> None:
        """Each state an image entered, its duration, every failed try with its error, the Catch taken
        and the outcome (from the execution log group; an execution ARN shows its whole batch)."""
        from labelwatch.trace import (
            fetch_events,
            is_execution_arn,
            render_execution,
            render_image,
            trace_execution,
        )

        target = ctx.obj.target()
        group = _log_group(target)
        is_arn = is_execution_arn(which)
        if is_arn and html is not None:
            raise CliError("--html draws one image's path: give its KEY", USAGE)
        if html is not None and not html.parent.is_dir():
            raise CliError(f"--html {html}: no folder {html.parent}", BAD_INPUT)
        arn = which if is_arn else _execution_of_key(target, which)
        events = fetch_events(target.client("logs"), group, arn)
        if not events:
            raise CliError(f"no events of {arn} in {group} (the log level may be OFF)", BAD_INPUT)
        found = trace_execution(arn, events)
        if is_arn:
            lines = render_execution(found)
        else:
            image = found.image(which)
            if image is None:
                raise CliError(
                    f"{arn} logged no image {which!r} (no execution data at this log level)", BAD_INPUT
                )
            lines = render_image(found, image)
        for line in lines:
            console.print(line, soft_wrap=True, highlight=False, markup=False)
        if html is not None and not is_arn:
            from labelwatch.trace_html import render_trace_page

            machine = target.client("stepfunctions").describe_state_machine(
                stateMachineArn=target.outputs["StateMachineArn"]
            )
            page = render_trace_page(json.loads(machine["definition"]), found, image)
            html.write_text(page, encoding="utf-8")
            console.print(f"page: {html}", soft_wrap=True, highlight=False)
