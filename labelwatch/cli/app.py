"""The ``labelwatch`` command: one entry point for the local stack and a deployed one.

Each command is a thin layer: parse options, find the target, call plain functions in
``labelwatch`` (uploads, outcomes, analytics, model, demo), render with rich.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
import typer.core
from rich.markup import escape

from labelwatch.cli import (
    analytics_cmd,
    check_cmd,
    cost_cmd,
    dlq_cmd,
    local_cmd,
    model_cmd,
    trace_cmd,
    upload_cmd,
)
from labelwatch.cli.console import err_console
from labelwatch.cli.errors import USAGE, CliError, from_aws_error
from labelwatch.cli.target import Target, resolve_target
from labelwatch.local.home import Home

# Typer prints a Python type next to every argument in help (``PATH <list[Path]>``); the metavar
# and the help text say what to pass, so the type is left out (options show only their metavar).
typer.core.TyperArgument.display_type_rich = lambda self, ctx: None

app = typer.Typer(
    name="labelwatch",
    help="Turn a Rekognition Custom Labels model into e-mail alerts and SQL-queryable results.\n\n"
    "Without --profile/--region the commands use the local stack started by `labelwatch local up`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: option names are never cut at 80 columns
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"labelwatch {version('labelwatch')}")
        raise typer.Exit()


@dataclass
class Settings:
    home: Home
    profile: str | None
    region: str | None
    stack_name: str

    def target(self, *, offline_ok: bool = False) -> Target:
        """The stack to talk to; ``offline_ok``: a command that only reads results may use the saved
        results of the last local run when no stack is running."""
        return resolve_target(
            self.home,
            profile=self.profile,
            region=self.region,
            stack_name=self.stack_name,
            offline_ok=offline_ok,
        )


@app.callback()
def _global(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Where models, the outbox and reports live [env LABELWATCH_HOME; ./.labelwatch]",
        ),
    ] = None,
    profile: Annotated[
        str | None, typer.Option(metavar="NAME", help="AWS profile: use the deployed stack")
    ] = None,
    region: Annotated[
        str | None, typer.Option(metavar="NAME", help="AWS region of the deployed stack")
    ] = None,
    stack_name: Annotated[str, typer.Option(metavar="NAME", help="CloudFormation stack name")] = "Labelwatch",
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit")
    ] = False,
) -> None:
    ctx.obj = Settings(Home.resolve(home), profile, region, stack_name)


local_cmd.register(app)
model_cmd.register(app)
upload_cmd.register(app)
analytics_cmd.register(app)
dlq_cmd.register(app)
check_cmd.register(app)
cost_cmd.register(app)
trace_cmd.register(app)


@app.command(short_help="The whole system on this machine, end to end.")
def demo(
    ctx: typer.Context,
    images: Annotated[int, typer.Option(min=1, max=2000, metavar="N", help="Incoming images to upload")] = 60,
    per_label: Annotated[
        int, typer.Option(min=3, max=500, metavar="N", help="Training images per label")
    ] = 30,
    size: Annotated[int, typer.Option(min=64, max=1024, metavar="PIXELS", help="Image size")] = 256,
    seed: Annotated[
        int, typer.Option(metavar="N", help="Seed of the generated data (same seed, same images)")
    ] = 7,
    timeout: Annotated[
        float, typer.Option(metavar="SECONDS", help="How long to wait for every image's outcome")
    ] = 600,
    keep_up: Annotated[
        bool, typer.Option(help="Keep the stack up at the end, so the alerts' links open (Ctrl-C stops)")
    ] = False,
) -> None:
    """Generate leaf photos, train a model, run the stack, upload, and show what happened."""
    from labelwatch.cli.demo_cmd import run_demo

    settings: Settings = ctx.obj
    run_demo(
        settings.home,
        images=images,
        per_label=per_label,
        size=size,
        seed=seed,
        timeout=timeout,
        keep_up=keep_up,
    )


def run(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code. Known errors print one line, never a traceback."""
    try:
        result = app(args=argv, prog_name="labelwatch", standalone_mode=False)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        return 130
    except typer.Exit as done:
        return done.exit_code
    except typer.TyperException as error:  # typer's own click (vendored since typer 0.29)
        return _usage_error(error)
    except CliError as error:
        return _cli_error(error)
    except Exception as error:
        mapped = from_aws_error(error)
        if mapped is None:
            raise
        return _cli_error(mapped)
    return result if isinstance(result, int) else 0


def _usage_error(error: typer.TyperException) -> int:
    """Usage errors: one line naming the problem and where help is; exit 2 (click's convention)."""
    context = getattr(error, "ctx", None)
    if type(error).__name__ == "NoArgsIsHelpError" and context is not None:
        err_console.print(context.get_help(), markup=False, highlight=False)
        return USAGE
    where = f" (see `{context.command_path if context is not None else 'labelwatch'} --help`)"
    message = " ".join(error.format_message().split())
    err_console.print(f"labelwatch: {message}{where}", markup=False, highlight=False)
    return getattr(error, "exit_code", USAGE) or USAGE


def _cli_error(error: CliError) -> int:
    err_console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False)
    if error.hint:
        err_console.print(f"[dim]{escape(error.hint)}[/]", highlight=False)
    return error.code


def main() -> None:
    sys.exit(run() or 0)


if __name__ == "__main__":  # pragma: no cover
    main()
