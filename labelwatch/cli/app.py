"""The ``labelwatch`` command: one entry point for the local stack and a deployed one.

Each command is a thin layer: parse options, find the target, call plain functions in
``labelwatch`` (uploads, outcomes, analytics, model, demo), render with rich.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import click
import typer

from labelwatch.cli import analytics_cmd, dlq_cmd, local_cmd, model_cmd, upload_cmd
from labelwatch.cli.console import err_console
from labelwatch.cli.errors import CliError
from labelwatch.cli.target import Target, resolve_target
from labelwatch.local.home import Home

app = typer.Typer(
    name="labelwatch",
    help="Turn a Rekognition Custom Labels model into e-mail alerts and SQL-queryable results.\n\n"
    "Without --profile/--region the commands use the local stack started by `labelwatch local up`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@dataclass
class Settings:
    home: Home
    profile: str | None
    region: str | None
    stack_name: str

    def target(self) -> Target:
        return resolve_target(self.home, profile=self.profile, region=self.region, stack_name=self.stack_name)


@app.callback()
def _global(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(help="Where models, the outbox and reports live [env LABELWATCH_HOME; ./.labelwatch]"),
    ] = None,
    profile: Annotated[str | None, typer.Option(help="AWS profile: use the deployed stack")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region of the deployed stack")] = None,
    stack_name: Annotated[str, typer.Option(help="CloudFormation stack name")] = "Labelwatch",
) -> None:
    ctx.obj = Settings(Home.resolve(home), profile, region, stack_name)


local_cmd.register(app)
model_cmd.register(app)
upload_cmd.register(app)
analytics_cmd.register(app)
dlq_cmd.register(app)


@app.command()
def demo(
    ctx: typer.Context,
    images: Annotated[int, typer.Option(min=1, max=2000, help="Incoming images to upload")] = 60,
    per_label: Annotated[int, typer.Option(min=3, max=500, help="Training images per label")] = 30,
    size: Annotated[int, typer.Option(min=64, max=1024, help="Image size in pixels")] = 256,
    seed: Annotated[int, typer.Option(help="Seed of the generated data (same seed, same images)")] = 7,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every image's outcome")] = 600,
) -> None:
    """Generate leaf photos, train a model, run the stack, upload, and show what happened."""
    from labelwatch.cli.demo_cmd import run_demo

    settings: Settings = ctx.obj
    run_demo(settings.home, images=images, per_label=per_label, size=size, seed=seed, timeout=timeout)


def run(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (errors printed, no traceback for known ones)."""
    try:
        result = app(args=argv, prog_name="labelwatch", standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("aborted")
        return 130
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except CliError as error:
        err_console.print(f"[bold red]error:[/] {error}", highlight=False)
        if error.hint:
            err_console.print(f"[dim]{error.hint}[/]", highlight=False)
        return error.code
    except KeyboardInterrupt:
        return 130
    return result if isinstance(result, int) else 0


def main() -> None:
    sys.exit(run() or 0)


if __name__ == "__main__":  # pragma: no cover
    main()
