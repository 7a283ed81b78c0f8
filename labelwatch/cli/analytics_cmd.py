"""``labelwatch results|alerts|query|report``: what was recorded and sent, on either target.

With no stack running these read what the last local run left on disk (its saved results and the
outbox) and say so, so the hints a demo prints keep working after it ends.
"""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from labelwatch.cli.console import console, print_table, table, write_out
from labelwatch.cli.errors import BAD_INPUT, CliError
from labelwatch.cli.target import Target

FORMATS = ("table", "csv", "json")
FOLLOW_POLL_SECONDS = 0.5


def load_records(target: Target) -> list[dict[str, Any]]:
    from labelwatch.analytics.results_source import ResultFormatError, parse_records

    try:
        return parse_records(target.result_objects())
    except ResultFormatError as error:
        raise CliError(str(error), BAD_INPUT) from None


def run_query(target: Target, sql: str):
    """DuckDB over the results locally (or the saved run); Athena in the stack's workgroup when deployed."""
    from labelwatch.analytics.query_types import QueryError
    from labelwatch.analytics.results_source import ResultFormatError

    try:
        if target.is_local:
            from labelwatch.analytics.local_query import LocalQueryEngine

            with LocalQueryEngine(target.result_objects(), database=target.output("GlueDatabase")) as engine:
                return engine.run(sql)
        from labelwatch.analytics.athena_query import run_athena_query

        return run_athena_query(
            sql,
            target.client("athena"),
            workgroup=target.output("AthenaWorkgroup"),
            database=target.output("GlueDatabase"),
        )
    except QueryError as error:
        raise CliError(f"query failed: {error.message}", BAD_INPUT) from None
    except ResultFormatError as error:
        raise CliError(f"a result object cannot be read: {error}", BAD_INPUT) from None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def render_rows(
    columns: list[str],
    rows: list[tuple],
    *,
    fmt: str = "table",
    title: str | None = None,
    header: bool = True,
) -> None:
    """csv and json unstyled to stdout (whole values, exact types in json); a table for people.
    ``header=False``: csv rows only (more rows of a csv already begun, as when following)."""
    if fmt == "json":
        records = [dict(zip(columns, row, strict=True)) for row in rows]
        write_out(json.dumps(records, indent=2, default=str, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if header:
            writer.writerow(columns)
        writer.writerows([[_cell(value) for value in row] for row in rows])
        write_out(buffer.getvalue())
    else:
        print_table(table(columns, [[_cell(value) for value in row] for row in rows], title=title))


def latest_records(
    records: list[dict[str, Any]], limit: int | None, status: str | None
) -> list[dict[str, Any]]:
    """Newest first; ``limit`` None keeps them all."""
    chosen = [record for record in records if status is None or record.get("status") == status]
    chosen.sort(
        key=lambda record: (record.get("detected_at") or "", record.get("confidence") or 0), reverse=True
    )
    return chosen[:limit]


def outbox_mails(outbox_dir: Path, limit: int | None = None) -> list[dict[str, str]]:
    """The newest alert e-mails of the outbox first (all when ``limit`` is None)."""
    from labelwatch.local.outbox import read_mail

    files = sorted(outbox_dir.glob("*.eml"), reverse=True) if outbox_dir.is_dir() else []
    return [read_mail(path) for path in files[:limit]]


MAIL_COLUMNS = ["date", "to", "subject", "file"]
ALERT_COLUMNS = ["detected_at", "key", "label", "confidence", "image"]


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise CliError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}", BAD_INPUT)


FormatOption = Annotated[str, typer.Option("--format", metavar="FORMAT", help="table, csv or json")]
LimitOption = Annotated[int, typer.Option(min=1, metavar="N", help="How many (newest first)")]


def register(app: typer.Typer) -> None:
    @app.command(short_help="The newest result records, one per detected label.")
    def results(
        ctx: typer.Context,
        limit: LimitOption = 20,
        status: Annotated[str | None, typer.Option(metavar="STATUS", help="Only 'ok' or 'rejected'")] = None,
        fmt: FormatOption = "table",
    ) -> None:
        """Show the newest result records (one per detected label; rejected images with the reason)."""
        check_format(fmt)
        if status not in (None, "ok", "rejected"):
            raise CliError(f"--status {status!r}: use 'ok' or 'rejected'", BAD_INPUT)
        target = ctx.obj.target(offline_ok=True)
        rows = latest_records(load_records(target), limit, status)
        columns = ["detected_at", "key", "status", "label", "confidence", "alert", "reason"]
        render_rows(
            columns,
            [tuple(record.get(c) for c in columns) for record in rows],
            fmt=fmt,
            title=f"results ({target.description})",
        )

    @app.command(short_help="The alerts sent (the outbox locally).")
    def alerts(
        ctx: typer.Context,
        limit: LimitOption = 20,
        show: Annotated[bool, typer.Option(help="Print the newest alert e-mail in full")] = False,
        follow: Annotated[
            bool, typer.Option(help="Keep printing new alerts as they come (Ctrl-C stops)")
        ] = False,
        fmt: FormatOption = "table",
    ) -> None:
        """Show the alerts sent: the outbox locally (kept after the stack stops); on AWS the alerting
        results (SNS keeps no log of what it sent)."""
        check_format(fmt)
        settings = ctx.obj
        if not (settings.profile or settings.region):
            _local_alerts(settings.home.outbox, limit=limit, show=show, follow=follow, fmt=fmt)
            return
        _deployed_alerts(settings.target(), limit=limit, follow=follow, fmt=fmt)

    @app.command(short_help="SQL over the results (Athena's dialect).")
    def query(
        ctx: typer.Context,
        sql: Annotated[
            str | None, typer.Argument(metavar="SQL", help="SQL over the `results` table (Athena dialect)")
        ] = None,
        named: Annotated[
            str | None, typer.Option(metavar="NAME", help="Run one of the stack's named queries")
        ] = None,
        list_named: Annotated[bool, typer.Option("--list", help="List the named queries")] = False,
        fmt: FormatOption = "table",
    ) -> None:
        """Run SQL over the results: DuckDB locally, Athena on a deployed stack."""
        from labelwatch.analytics.named_queries import UnknownNamedQuery, named_queries, named_query

        check_format(fmt)
        if list_named:
            render_rows(
                ["name", "description"], [(q.name, q.description) for q in named_queries().values()], fmt=fmt
            )
            return
        if bool(sql) == bool(named):
            raise CliError("give either SQL or --named NAME (see --list)", BAD_INPUT)
        if named:
            try:
                sql = named_query(named).sql
            except UnknownNamedQuery as error:
                raise CliError(str(error), BAD_INPUT) from None
        result = run_query(ctx.obj.target(offline_ok=True), sql)
        render_rows(result.columns, result.rows, fmt=fmt)

    @app.command(short_help="A self-contained HTML dashboard of the results.")
    def report(
        ctx: typer.Context,
        output: Annotated[
            Path | None, typer.Option(metavar="FILE", help="HTML file to write [LABELWATCH_HOME/reports/…]")
        ] = None,
    ) -> None:
        """Write a self-contained HTML dashboard (opens offline): label mix, alerts, confidences."""
        if output is not None and not output.parent.is_dir():
            raise CliError(f"--output {output}: the folder {output.parent} does not exist", BAD_INPUT)
        if output is not None and output.is_dir():
            raise CliError(f"--output {output}: is a folder; give a file name", BAD_INPUT)
        target = ctx.obj.target(offline_ok=True)
        path = write_dashboard(target, output or ctx.obj.home.reports / default_report_name())
        console.print(f"report: [bold]{path}[/]", highlight=False)


def _deployed_alerts(target: Target, *, limit: int, follow: bool, fmt: str) -> None:
    """SNS keeps no record of what it sent: the results that raised an alert stand for them."""

    def alerting() -> list[tuple]:
        rows = latest_records([r for r in load_records(target) if r.get("alert")], None, None)
        return [tuple(record.get(c) for c in ALERT_COLUMNS) for record in rows]

    rows = alerting()
    render_rows(ALERT_COLUMNS, rows[:limit], fmt=fmt, title=f"alerting results ({target.description})")
    seen = set(rows)
    while follow:
        time.sleep(FOLLOW_POLL_SECONDS * 20)  # every listing of the results bucket is a billed request
        fresh = [row for row in reversed(alerting()) if row not in seen]
        seen.update(fresh)
        if fresh:
            render_rows(ALERT_COLUMNS, fresh, fmt=fmt)


def _local_alerts(outbox: Path, *, limit: int, show: bool, follow: bool, fmt: str) -> None:
    """The outbox on disk: it outlives the stack, so no running stack is needed."""
    every = outbox_mails(outbox)  # one listing: what follows is exactly what this one did not show
    mails = every[:limit]
    if not mails and not follow and fmt == "table":
        console.print(f"no alert e-mails in {outbox}", highlight=False)
        return
    if mails or not follow:
        shown = list(reversed(mails)) if follow else mails  # following reads oldest to newest
        _render_mails(shown, fmt=fmt, title=None if fmt != "table" else f"alert e-mails in {outbox}")
    if show and mails and not follow:
        console.print(mails[0]["body"], markup=False, highlight=False)
    if not follow:
        return
    seen = {mail["file"] for mail in every}
    if fmt == "table":
        console.print(f"[dim]following {outbox}; Ctrl-C stops[/]", highlight=False)
    while True:
        time.sleep(FOLLOW_POLL_SECONDS)
        fresh = [m for m in reversed(outbox_mails(outbox)) if m["file"] not in seen]
        for mail in fresh:
            seen.add(mail["file"])
            _render_mails([mail], fmt=fmt, title=None, header=False)
            if show:
                console.print(mail["body"], markup=False, highlight=False)


def _render_mails(mails: list[dict[str, str]], *, fmt: str, title: str | None, header: bool = True) -> None:
    """The first listing (``header``) as a whole; each mail after it as one more line of the format."""
    if fmt == "json":
        if header:
            write_out(json.dumps(mails, indent=2, ensure_ascii=False) + "\n")
        else:  # one object per line when following
            for mail in mails:
                write_out(json.dumps(mail, ensure_ascii=False) + "\n")
    elif fmt == "csv" or header:
        rows = [tuple(mail[column] for column in MAIL_COLUMNS) for mail in mails]
        render_rows(MAIL_COLUMNS, rows, fmt=fmt, title=title, header=header)
    else:
        for mail in mails:
            console.print(
                f"✉ {mail['date']}  to {mail['to']}: {mail['subject']}  {mail['file']}", highlight=False
            )


def default_report_name() -> str:
    return f"labelwatch-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.html"


def write_dashboard(target: Target, path: Path) -> Path:
    from labelwatch.analytics.report import build_report, write_report

    html = build_report(
        load_records(target),
        thumbnails=lambda uri: image_bytes(target, uri),
        title="labelwatch report",
        generated_at=datetime.now(UTC),
        stack_description=target.description,
    )
    write_report(path, html)
    return path


def image_bytes(target: Target, uri: str) -> bytes | None:
    """The uploaded image behind an ``s3://bucket/key`` URI, or None if it cannot be read."""
    from botocore.exceptions import ClientError

    if target.is_offline:
        return None  # the saved run keeps results, not the uploaded images
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        return target.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError:
        return None
