"""``labelwatch local up``: the embedded stack in the foreground until Ctrl-C."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer
from rich.table import Table

from labelwatch.cli.console import console
from labelwatch.cli.errors import BAD_INPUT, CliError
from labelwatch.local.home import Home
from labelwatch.local.outbox import Mail
from labelwatch.local.pipe import BatchOutcome

DEFAULT_PORT = 4567


def parse_context(pairs: list[str]) -> dict[str, object]:
    """``key=value`` stack parameters, like ``cdk -c``; JSON values (numbers, lists) are decoded."""
    import json

    context: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--context {pair!r}: expected key=value", BAD_INPUT)
        try:
            context[key] = json.loads(value)
        except json.JSONDecodeError:
            context[key] = value
    return context


def start_local_stack(
    home: Home,
    *,
    port: int,
    model_arn: str | None,
    context: dict[str, object],
    on_mail=None,
    on_batch=None,
    pipe_concurrency: int = 2,
):
    """Start the stack wired to the local model store; the newest trained model unless told."""
    from infra.config import ConfigError, LabelwatchConfig
    from labelwatch.local.model_source import StoreModelSource
    from labelwatch.local.server import LocalStack
    from labelwatch.local.template import cdk_context

    source = StoreModelSource(home.models)
    arn = model_arn or source.newest_arn()
    full_context = {**context, **({"modelArn": arn} if arn else {})}
    try:
        LabelwatchConfig.from_mapping(cdk_context(full_context))
    except ConfigError as error:
        raise CliError(str(error), BAD_INPUT) from None
    stack = LocalStack(
        home,
        port=port,
        context=full_context,
        model_source=source,
        on_mail=on_mail,
        on_batch=on_batch,
        pipe_concurrency=pipe_concurrency,
    )
    try:
        return stack.start()
    except OSError as error:
        stack.stop()
        raise CliError(
            f"cannot listen on port {port}: {error.strerror or error}",
            BAD_INPUT,
            hint="pick another with --port (0 = any free port)",
        ) from None


def start_stack_model(stack) -> bool:
    """StartProjectVersion on the stack's model, as a user would before uploading; False if unknown."""
    from botocore.exceptions import ClientError

    arn = stack.stack.detect_environment()["MODEL_ARN"]
    try:
        stack.client("rekognition").start_project_version(ProjectVersionArn=arn, MinInferenceUnits=1)
    except ClientError:
        return False
    return True


def print_mail(mail: Mail) -> None:
    console.print(f"[bold magenta]✉ alert[/] to {mail.recipient}: {mail.subject}", highlight=False)


def print_batch(outcome: BatchOutcome) -> None:
    kept = len(outcome.left_on_queue)
    colour = "green" if outcome.status == "SUCCEEDED" and not kept else "yellow"
    tail = f", {kept} left on the queue for a retry" if kept else ""
    console.print(
        f"[{colour}]▶ batch of {len(outcome.message_ids)}: {outcome.status.lower()}{tail}[/] "
        f"[dim]{outcome.execution_arn.rsplit(':', 1)[1]}[/]",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    local = typer.Typer(
        help="The embedded stack: AWS on this machine, no account needed.", no_args_is_help=True
    )
    app.add_typer(local, name="local")

    @local.command("up")
    def up(
        ctx: typer.Context,
        port: Annotated[int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (0 = any free)")] = (
            DEFAULT_PORT
        ),
        model: Annotated[str | None, typer.Option(help="Model version ARN [newest trained]")] = None,
        pipe_concurrency: Annotated[
            int, typer.Option(min=1, max=16, help="Batches the local Pipe runs at once")
        ] = 2,
        start_model: Annotated[
            bool, typer.Option(help="Start the model version (StartProjectVersion) if it is not running")
        ] = True,
        context: Annotated[
            list[str] | None, typer.Option("--context", "-c", help="Stack parameter key=value (cdk.json)")
        ] = None,
    ) -> None:
        """Start the embedded stack in the foreground and print its endpoint; Ctrl-C stops it."""
        settings = ctx.obj
        stopped = threading.Event()
        with console.status("synthesizing the CDK app and creating its resources…"):
            stack = start_local_stack(
                settings.home,
                port=port,
                model_arn=model,
                context=parse_context(context or []),
                on_mail=print_mail,
                on_batch=print_batch,
                pipe_concurrency=pipe_concurrency,
            )
            if start_model:
                start_stack_model(stack)
        previous = signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        try:
            show_stack(stack)
            while not stopped.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            with console.status("stopping…"):
                stack.stop()
            console.print("[bold]local stack stopped[/]")


def show_stack(stack) -> None:
    from labelwatch.local import custom_labels

    outputs = stack.outputs
    table = Table(title="labelwatch local stack", show_header=False, title_justify="left")
    table.add_row("endpoint", f"[bold cyan]{stack.endpoint}[/]")
    for name in (
        "InputBucketName",
        "ResultsBucketName",
        "AlertsTopicArn",
        "StateMachineArn",
        "IngestQueueUrl",
        "FailureDlqUrl",
        "IngestDlqUrl",
        "GlueDatabase",
    ):
        table.add_row(name, outputs.get(name, ""))
    arn = stack.stack.detect_environment()["MODEL_ARN"]
    try:
        status = custom_labels.REGISTRY.status(arn)
    except Exception:  # moto's JsonRESTError: no such version
        status = "[red]NOT FOUND[/]: train one with `labelwatch model train DATASET` and restart"
    else:
        if status != custom_labels.RUNNING:
            status = f"[yellow]{status}[/]: images wait on the queue until `labelwatch model start`"
    table.add_row("model", f"{arn}\n{status}")
    table.add_row("outbox", str(stack.home.outbox))
    table.add_row("function logs", str(stack.home.logs))
    console.print(table)
    console.print(
        "\nUse it from any shell:\n"
        f"  export AWS_ENDPOINT_URL={stack.endpoint} AWS_ACCESS_KEY_ID=testing "
        f"AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION={stack.region}\n"
        f"  aws s3 cp photo.jpg s3://{outputs['InputBucketName']}/\n"
        "  labelwatch upload PATH…   labelwatch results   labelwatch alerts   labelwatch query …\n"
        "\n[dim]Ctrl-C stops the stack (its data lives in memory; the outbox stays on disk).[/]",
        highlight=False,
    )
