"""``labelwatch results|alerts|query|report``: what was recorded and sent, on either target."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from labelwatch.cli.console import console
from labelwatch.cli.errors import BAD_INPUT, CliError
from labelwatch.cli.target import Target

FORMATS = ("table", "csv", "json")


def load_records(target: Target) -> list[dict[str, Any]]:
    from labelwatch.analytics.results_source import ResultFormatError, iter_result_objects, parse_records

    try:
        return parse_records(iter_result_objects(target.client("s3"), target.output("ResultsBucketName")))
    except ResultFormatError as error:
        raise CliError(str(error), BAD_INPUT) from None


def run_query(target: Target, sql: str):
    """DuckDB over the results locally; Athena in the stack's workgroup when deployed."""
    from labelwatch.analytics.query_types import QueryError
    from labelwatch.analytics.results_source import ResultFormatError

    try:
        if target.is_local:
            from labelwatch.analytics.local_query import LocalQueryEngine

            with LocalQueryEngine.from_s3(
                target.client("s3"),
                target.output("ResultsBucketName"),
                database=target.output("GlueDatabase"),
            ) as engine:
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
    columns: list[str], rows: list[tuple], *, fmt: str = "table", title: str | None = None
) -> None:
    if fmt == "json":
        console.print_json(json.dumps([dict(zip(columns, row, strict=True)) for row in rows], default=str))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        writer.writerows([[_cell(value) for value in row] for row in rows])
        console.print(buffer.getvalue(), end="", markup=False, highlight=False)
    else:
        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*[_cell(value) for value in row])
        console.print(table)


def latest_records(records: list[dict[str, Any]], limit: int, status: str | None) -> list[dict[str, Any]]:
    chosen = [record for record in records if status is None or record.get("status") == status]
    chosen.sort(
        key=lambda record: (record.get("detected_at") or "", record.get("confidence") or 0), reverse=True
    )
    return chosen[:limit]


def outbox_mails(outbox_dir: Path, limit: int) -> list[dict[str, str]]:
    from labelwatch.local.outbox import read_mail

    files = sorted(outbox_dir.glob("*.eml"), reverse=True)[:limit] if outbox_dir.is_dir() else []
    return [read_mail(path) for path in files]


def register(app: typer.Typer) -> None:
    @app.command()
    def results(
        ctx: typer.Context,
        limit: Annotated[int, typer.Option(min=1, help="How many (newest first)")] = 20,
        status: Annotated[str | None, typer.Option(help="Only 'ok' or 'rejected'")] = None,
        fmt: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
    ) -> None:
        """Show the newest result records (one per detected label; rejected images with the reason)."""
        _check_format(fmt)
        if status not in (None, "ok", "rejected"):
            raise CliError(f"--status {status!r}: use 'ok' or 'rejected'", BAD_INPUT)
        target = ctx.obj.target()
        rows = latest_records(load_records(target), limit, status)
        columns = ["detected_at", "key", "status", "label", "confidence", "alert", "reason"]
        render_rows(
            columns,
            [tuple(record.get(c) for c in columns) for record in rows],
            fmt=fmt,
            title=f"results ({target.description})",
        )

    @app.command()
    def alerts(
        ctx: typer.Context,
        limit: Annotated[int, typer.Option(min=1, help="How many (newest first)")] = 20,
        show: Annotated[bool, typer.Option(help="Print the newest alert e-mail in full")] = False,
    ) -> None:
        """Show the alerts sent: the outbox locally; on AWS the alerting results (SNS keeps no log)."""
        target = ctx.obj.target()
        if target.is_local:
            mails = outbox_mails(target.home.outbox, limit)
            render_rows(
                ["date", "to", "subject"],
                [(m["date"], m["to"], m["subject"]) for m in mails],
                title=f"alert e-mails in {target.home.outbox}",
            )
            if show and mails:
                console.print(mails[0]["body"], markup=False, highlight=False)
            return
        rows = [record for record in load_records(target) if record.get("alert")]
        rows = latest_records(rows, limit, None)
        columns = ["detected_at", "key", "label", "confidence"]
        render_rows(
            columns,
            [tuple(record.get(c) for c in columns) for record in rows],
            title=f"alerting results ({target.description})",
        )

    @app.command()
    def query(
        ctx: typer.Context,
        sql: Annotated[
            str | None, typer.Argument(help="SQL over the `results` table (Athena dialect)")
        ] = None,
        named: Annotated[str | None, typer.Option(help="Run one of the stack's named queries")] = None,
        list_named: Annotated[bool, typer.Option("--list", help="List the named queries")] = False,
        fmt: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
    ) -> None:
        """Run SQL over the results: DuckDB locally, Athena on a deployed stack."""
        from labelwatch.analytics.named_queries import UnknownNamedQuery, named_queries, named_query

        _check_format(fmt)
        if list_named:
            render_rows(["name", "description"], [(q.name, q.description) for q in named_queries().values()])
            return
        if bool(sql) == bool(named):
            raise CliError("give either SQL or --named NAME (see --list)", BAD_INPUT)
        if named:
            try:
                sql = named_query(named).sql
            except UnknownNamedQuery as error:
                raise CliError(str(error), BAD_INPUT) from None
        result = run_query(ctx.obj.target(), sql)
        render_rows(result.columns, result.rows, fmt=fmt)

    @app.command()
    def report(
        ctx: typer.Context,
        output: Annotated[
            Path | None, typer.Option(help="HTML file to write [LABELWATCH_HOME/reports/…]")
        ] = None,
    ) -> None:
        """Write a self-contained HTML dashboard (opens offline): label mix, alerts, confidences."""
        target = ctx.obj.target()
        path = write_dashboard(target, output or ctx.obj.home.reports / default_report_name())
        console.print(f"report: [bold]{path}[/]", highlight=False)


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

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        return target.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError:
        return None


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise CliError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}", BAD_INPUT)
