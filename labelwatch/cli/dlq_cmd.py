"""``labelwatch dlq list|redrive``: what the workflow could not finish, and sending it back."""

from __future__ import annotations

from typing import Annotated

import typer

from labelwatch.cli.analytics_cmd import FormatOption, check_format, render_rows
from labelwatch.cli.console import console
from labelwatch.cli.errors import BAD_INPUT, CliError

SHORT_ID = 8


def register(app: typer.Typer) -> None:
    dlq_app = typer.Typer(
        help="The dead-letter queues: list them, send images back through the workflow.",
        short_help="The dead-letter queues: list, redrive.",
        no_args_is_help=True,
    )
    app.add_typer(dlq_app, name="dlq")

    @dlq_app.command("list", short_help="Both dead-letter queues, left as they are.")
    def list_command(
        ctx: typer.Context,
        fmt: FormatOption = "table",
    ) -> None:
        """Show every message of the failure DLQ and the ingest DLQ (image, error, when, how often).

        Listing changes nothing: the messages stay where they are."""
        from labelwatch.dlq import list_dead_letters

        check_format(fmt)
        target = ctx.obj.target()
        letters = list_dead_letters(target.client, target.outputs)
        if not letters and fmt == "table":
            console.print(f"both dead-letter queues are empty ({target.description})")
            return
        columns = ["id", "queue", "image", "error", "when", "deliveries", "redrives", "cause"]
        rows = [
            (
                letter.id[:SHORT_ID] if fmt == "table" else letter.id,
                letter.queue,
                letter.image,
                letter.error,
                letter.when,
                letter.deliveries,
                letter.redrives,
                letter.cause,
            )
            for letter in letters
        ]
        render_rows(columns, rows, fmt=fmt, title=f"dead letters ({target.description})")

    @dlq_app.command("redrive", short_help="Send dead-lettered images back through the workflow.")
    def redrive_command(
        ctx: typer.Context,
        ids: Annotated[
            list[str] | None,
            typer.Argument(metavar="ID", help="Message ids (or their first characters)"),
        ] = None,
        all_: Annotated[bool, typer.Option("--all", help="Redrive every message of both DLQs")] = False,
    ) -> None:
        """Send dead-lettered images back through the workflow (a new delivery of their S3 event)."""
        from labelwatch.dlq import redrive

        if bool(ids) == all_:
            raise CliError("give message ids (see `labelwatch dlq list`) or --all", BAD_INPUT)
        target = ctx.obj.target()
        report = redrive(target.client, target.outputs, None if all_ else ids)
        for letter in report.sent:
            console.print(
                f"↻ {letter.id[:SHORT_ID]} {letter.image} ({letter.queue} DLQ, {letter.error})",
                highlight=False,
            )
        if report.claims_released:
            console.print(f"released {len(report.claims_released)} claim(s) left behind by a dead execution")
        if report.already_done:
            console.print(
                f"{len(report.already_done)} image(s) were processed already: the workflow will "
                "skip them as duplicates (no second alert)"
            )
        console.print(f"sent {len(report.sent)} image(s) back to the ingest queue")
        if report.unknown_ids:
            raise CliError("no single message matches: " + ", ".join(report.unknown_ids), BAD_INPUT)
