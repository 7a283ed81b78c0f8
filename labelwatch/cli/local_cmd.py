"""``labelwatch local up|status|down``: the embedded stack in the foreground, and from elsewhere."""

from __future__ import annotations

import difflib
import json
import os
import signal
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from labelwatch.cli.console import console, err_console, print_table, table, write_out
from labelwatch.cli.errors import BAD_INPUT, INCOMPLETE, NO_STACK, USAGE, CliError
from labelwatch.local.defaults import DEFAULT_MINUTE_SECONDS, DEFAULT_START_DELAY_SECONDS
from labelwatch.local.home import Home
from labelwatch.processes import process_alive

if TYPE_CHECKING:  # moto is imported only by commands that start a stack
    from labelwatch.local.outbox import Mail
    from labelwatch.local.pipe import BatchOutcome

DEFAULT_PORT = 4567


def parse_context(pairs: list[str]) -> dict[str, object]:
    """``key=value`` stack parameters, like ``cdk -c``; JSON values (numbers, lists) are decoded.

    Unknown names are errors (a typo would silently fall back to a default); CDK's own namespaced
    keys (``@aws-cdk/...``, ``aws:cdk:...``) pass through as they would with ``cdk synth -c``.
    """
    from infra.config import CONTEXT_KEYS

    context: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CliError(f"-c {pair!r}: expected name=value", BAD_INPUT)
        if key not in CONTEXT_KEYS and not key.startswith(("@", "aws:")):
            raise CliError(f"-c {key}: {_unknown_parameter(key, CONTEXT_KEYS)}", BAD_INPUT)
        try:
            context[key] = json.loads(value)
        except json.JSONDecodeError:
            context[key] = value
    return context


def _unknown_parameter(name: str, known: tuple[str, ...]) -> str:
    by_folded = {k.casefold(): k for k in known}
    close = difflib.get_close_matches(name.casefold(), list(by_folded), n=1, cutoff=0.6)
    if close:
        return f"not a stack parameter; did you mean {by_folded[close[0]]!r}?"
    return "not a stack parameter (see `labelwatch local up --help` for the list)"


def parameters_epilog() -> str:
    from infra.config import PARAMETER_HELP

    lines = ["Stack parameters for -c NAME=VALUE (defaults in cdk.json):", ""]
    lines += [f"  {name:<25} {text}" for name, text in PARAMETER_HELP.items()]
    return "\n\n".join(["\n".join(lines[:2])] + ["\b\n" + "\n".join(lines[2:])])


def start_local_stack(
    home: Home,
    *,
    port: int,
    model_arn: str | None,
    context: dict[str, object],
    on_mail=None,
    on_batch=None,
    pipe_concurrency: int = 2,
    strict: bool = True,
    template: dict[str, Any] | None = None,
    model_start_seconds: float = DEFAULT_START_DELAY_SECONDS,
    minute_seconds: float = DEFAULT_MINUTE_SECONDS,
):
    """Start the stack wired to the local model store; the default model version unless told.

    ``minute_seconds``: how long an autopilot minute lasts here (time compression, printed by
    ``show_stack``); 60 is real time.

    With ``template`` (a synthesized template, e.g. from ``npx aws-cdk synth``) that template runs
    as it is: no synth, so neither ``model_arn`` nor ``context`` apply; its model must be a version
    the local model store knows.
    """
    from infra.config import ConfigError, LabelwatchConfig
    from labelwatch.local.model_source import StoreModelSource
    from labelwatch.local.server import LocalStack, StackAlreadyRunning
    from labelwatch.local.template import cdk_context

    source = StoreModelSource(home.models)
    if template is not None:
        full_context: dict[str, object] = {}
        check_template_model(template, source.arns())
    else:
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
        strict=strict,
        template=template,
        model_start_seconds=model_start_seconds,
        time_scale=60.0 / minute_seconds,
    )
    try:
        return stack.start()
    except StackAlreadyRunning as error:
        raise CliError(str(error), BAD_INPUT, hint="stop it with `labelwatch local down`") from None
    except OSError as error:
        raise CliError(
            f"cannot listen on 127.0.0.1:{port}: {error.strerror or error}",
            BAD_INPUT,
            hint="another program uses that port: pick another with --port (0 = any free port)",
        ) from None


def load_template(path: str) -> dict[str, Any]:
    """A synthesized CloudFormation template (JSON) from ``path``, or a one-line error."""
    from pathlib import Path

    try:
        template = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise CliError(f"--template {path}: {error.strerror or error}", BAD_INPUT) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CliError(f"--template {path}: not a JSON template ({error})", BAD_INPUT) from None
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise CliError(f"--template {path}: a CloudFormation template needs a Resources object", BAD_INPUT)
    return template


def template_model_arns(template: dict[str, Any]) -> list[str]:
    """The model version ARNs the template's functions are configured with (MODEL_ARN)."""
    arns = []
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Lambda::Function":
            variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
            if isinstance(variables.get("MODEL_ARN"), str):
                arns.append(variables["MODEL_ARN"])
    return arns


def check_template_model(template: dict[str, Any], known: list[str]) -> None:
    """Refuse a template whose model the twin cannot answer for (it would only refuse every image)."""
    arns = template_model_arns(template)
    if not arns:
        raise CliError("--template: no function in the template has a MODEL_ARN", BAD_INPUT)
    unknown = [arn for arn in arns if arn not in known]
    if unknown:
        raise CliError(
            f"--template: its model {unknown[0]} is not a version this machine knows",
            BAD_INPUT,
            hint="synthesize with -c modelArn=<a version from `labelwatch model list`>, or train one",
        )


def start_stack_model(stack, *, timeout: float = 120.0) -> bool:
    """StartProjectVersion on the stack's model, as a user would before uploading, then wait (polling
    DescribeProjectVersions) until it is RUNNING; False if it is unknown or not RUNNING in time."""
    from botocore.exceptions import ClientError

    from labelwatch.cli.model_cmd import wait_for_status

    arn = stack.stack.detect_environment()["MODEL_ARN"]
    client = stack.client("rekognition")
    try:
        client.start_project_version(ProjectVersionArn=arn, MinInferenceUnits=1)  # answers STARTING
    except ClientError as error:
        # Already starting or running (a model's state outlives a stack, locally as on AWS): wait for it
        if error.response["Error"]["Code"] != "ResourceInUseException":
            return False
    try:
        return wait_for_status(client, arn, "RUNNING", timeout=timeout, interval=0.2) == "RUNNING"
    except ClientError:
        return False


def _now() -> str:
    return datetime.now().strftime("%H:%M:%S")


def print_mail(mail: Mail) -> None:
    """One line per alert e-mail, and the image's page (its labels, boxes, rule and photo), which
    opens while the stack runs: the link is printed whole, never wrapped or cut."""
    console.print(
        f"[dim]{_now()}[/] [bold magenta]✉ alert[/] to {escape(mail.recipient)}: {escape(mail.subject)}",
        highlight=False,
    )
    pages = [link for link in mail.links if link.endswith("?view")]
    if pages:
        console.print(f"         page: {pages[0]}", soft_wrap=True, highlight=False, markup=False)


def batch_line(outcome: BatchOutcome, images: dict[str, int] | None) -> tuple[str, str]:
    """(colour, text) for one batch: what became of its images, not only the execution's status."""
    kept = len(outcome.left_on_queue)
    if outcome.status != "SUCCEEDED":
        return (
            "red",
            f"batch of {len(outcome.message_ids)}: execution {outcome.status.lower()}, all left on the queue",
        )
    if images:
        parts = ", ".join(f"{count} {what}" for what, count in sorted(images.items()))
    else:
        parts = f"{len(outcome.deleted)} done" + (f", {kept} left for retry" if kept else "")
    failed = any(what.startswith("failed") for what in (images or {}))
    colour = "red" if failed else "yellow" if kept else "green"
    return colour, f"batch of {len(outcome.message_ids)}: {parts}"


def make_batch_printer(client):
    from labelwatch.local.execution_summary import image_outcomes

    def print_batch(outcome: BatchOutcome) -> None:
        try:
            images = dict(image_outcomes(client, outcome.execution_arn))
        except Exception:  # the history is a nicety; the batch line must still print
            images = None
        colour, text = batch_line(outcome, images)
        console.print(
            f"[dim]{_now()}[/] [{colour}]▶ {text}[/] [dim]{outcome.execution_arn.rsplit(':', 1)[1]}[/]",
            highlight=False,
        )

    return print_batch


def register(app: typer.Typer) -> None:
    local = typer.Typer(
        help="The embedded stack: AWS on this machine, no account needed.",
        short_help="The embedded stack: up, status, down.",
        no_args_is_help=True,
    )
    app.add_typer(local, name="local")

    @local.command("up", epilog=parameters_epilog(), short_help="Start the embedded stack (foreground).")
    def up(
        ctx: typer.Context,
        port: Annotated[
            int, typer.Option(min=0, max=65535, metavar="PORT", help="Port on 127.0.0.1 (0 = any free)")
        ] = DEFAULT_PORT,
        model: Annotated[
            str | None, typer.Option(metavar="ARN", help="Model version ARN [the default trained version]")
        ] = None,
        pipe_concurrency: Annotated[
            int, typer.Option(min=1, max=16, metavar="N", help="Batches the local Pipe runs at once")
        ] = 2,
        start_model: Annotated[
            bool | None,
            typer.Option(
                help="Start the model version (StartProjectVersion) if it is not running "
                "[with modelControl manual; otherwise the autopilot starts it when images wait]",
                show_default=False,
            ),
        ] = None,
        context: Annotated[
            list[str] | None,
            typer.Option("--context", "-c", metavar="NAME=VALUE", help="Stack parameter (see below)"),
        ] = None,
        template: Annotated[
            str | None,
            typer.Option(
                metavar="PATH",
                help="Run this synthesized template (e.g. cdk.out/Labelwatch.template.json) instead of "
                "synthesizing one; its model must be a local version",
            ),
        ] = None,
        permissive: Annotated[
            bool,
            typer.Option(
                "--permissive",
                help="Allow what AWS would refuse (IAM, KMS), logging each refusal; for experiments only",
            ),
        ] = False,
        model_start_seconds: Annotated[
            float,
            typer.Option(
                min=0,
                max=3600,
                metavar="SECONDS",
                help="How long a model version takes to start here (STARTING, then RUNNING); "
                "on AWS 10-30 minutes",
            ),
        ] = DEFAULT_START_DELAY_SECONDS,
        minute_seconds: Annotated[
            float,
            typer.Option(
                min=0.05,
                max=60,
                metavar="SECONDS",
                help="How long one minute of the model autopilot lasts here (time compression: its "
                "schedule, idle countdown and the model's meter); 60 is real time",
            ),
        ] = DEFAULT_MINUTE_SECONDS,
    ) -> None:
        """Start the embedded stack in the foreground and print its endpoint; Ctrl-C stops it.

        The stack is strict: every call its functions, state machine and Pipe make is checked against
        the template's IAM, resource and KMS key policies, and refused as AWS would refuse it.
        """
        settings = ctx.obj
        stopped = threading.Event()
        parsed = parse_context(context or [])
        if template is not None and (parsed or model):
            option = "-c" if parsed else "--model"
            raise CliError(
                f"{option} does not apply with --template: the template is already synthesized", USAGE
            )
        given = load_template(template) if template is not None else None
        printer: dict[str, Any] = {}
        doing = (
            "creating the template's resources…"
            if given
            else "synthesizing the CDK app and creating its resources…"
        )
        with console.status(doing):
            stack = start_local_stack(
                settings.home,
                port=port,
                model_arn=model,
                context=parsed,
                on_mail=print_mail,
                on_batch=lambda outcome: printer["batch"](outcome),
                pipe_concurrency=pipe_concurrency,
                strict=not permissive,
                template=given,
                model_start_seconds=model_start_seconds,
                minute_seconds=minute_seconds,
            )
            printer["batch"] = make_batch_printer(stack.client)
            manual = stack.outputs.get("ModelControl", "manual") == "manual"
            if start_model or (start_model is None and manual):  # else the autopilot starts it
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
            console.print(
                f"[bold]local stack stopped[/]; its results stay readable offline in {stack.home.last_run}",
                highlight=False,
            )

    @local.command("status", short_help="The running local stack: model, queue, DLQs.")
    def status(
        ctx: typer.Context,
        fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="table or json")] = "table",
    ) -> None:
        """Show the running local stack: endpoint, model and its state, images waiting and why, DLQs."""
        from labelwatch.cli.target import local_target

        if fmt not in ("table", "json"):
            raise CliError(f"--format {fmt!r}: use table or json", BAD_INPUT)
        report = stack_status(local_target(ctx.obj.home))
        if fmt == "json":
            write_out(json.dumps(report, indent=2) + "\n")
            return
        rows = [(name, _status_cell(value)) for name, value in report.items()]
        print_table(table(["", ""], rows, title="labelwatch local stack"))

    @local.command("down", short_help="Stop the local stack running in another terminal.")
    def down(
        ctx: typer.Context,
        timeout: Annotated[
            float, typer.Option(min=1, metavar="SECONDS", help="How long to wait for it to stop")
        ] = 60,
    ) -> None:
        """Stop the running `labelwatch local up` (as Ctrl-C would) and wait until it has stopped."""
        from labelwatch.cli.target import running_stack

        home = ctx.obj.home
        info = running_stack(home)
        if info is None:
            raise CliError(f"no local stack is running (looked in {home.stack_file})", NO_STACK)
        pid = int(info["pid"])
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while process_alive(pid) and home.read_stack() is not None:
            if time.monotonic() > deadline:
                raise CliError(f"the local stack (pid {pid}) did not stop within {timeout:g} s", INCOMPLETE)
            time.sleep(0.2)
        console.print(f"stopped the local stack at {info['endpoint']} (pid {pid})", highlight=False)


def _status_cell(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


def stack_status(target) -> dict[str, Any]:
    """What a person asks of a running stack, as plain data (``local status --format json``)."""
    from labelwatch.cli.model_cmd import describe_status

    sqs = target.client("sqs")

    def depth(url: str) -> dict[str, int]:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        names.append("ApproximateNumberOfMessagesDelayed")
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        visible, in_flight, delayed = (int(attributes.get(name, 0)) for name in names)
        return {"waiting": visible, "in flight": in_flight, "delayed": delayed}

    arn = target.model_arn or ""
    try:
        model_status = describe_status(target.client("rekognition"), arn) or "NOT FOUND"
    except Exception:  # an unknown version: say so rather than fail the whole status
        model_status = "NOT FOUND"
    queue = depth(target.output("IngestQueueUrl"))
    waiting = queue["waiting"] + queue["in flight"] + queue["delayed"]
    if not waiting:
        why = "nothing is waiting"
    elif model_status != "RUNNING" and target.outputs.get("ModelControl", "manual") != "manual":
        why = f"{waiting} image(s) wait for the model ({model_status}): the autopilot starts it"
    elif model_status != "RUNNING":
        why = f"{waiting} image(s) wait for the model ({model_status}): `labelwatch model start`"
    else:
        why = f"{waiting} image(s) being processed or waiting for a retry"
    outbox = target.home.outbox if target.home else None
    return {
        "endpoint": target.endpoint,
        "model": arn,
        "model status": model_status,
        "ingest queue": queue,
        "images waiting": why,
        "failure DLQ": depth(target.output("FailureDlqUrl"))["waiting"],
        "ingest DLQ": depth(target.output("IngestDlqUrl"))["waiting"],
        "alert e-mails": len(list(outbox.glob("*.eml"))) if outbox and outbox.is_dir() else 0,
    }


def show_stack(stack) -> None:
    from infra.config import LabelwatchConfig
    from labelwatch.local import custom_labels
    from labelwatch.local.template import cdk_context

    outputs = stack.outputs
    rows = [("endpoint", stack.endpoint)]
    rows += [
        (name, outputs.get(name, ""))
        for name in (
            "InputBucketName",
            "ResultsBucketName",
            "AlertsTopicArn",
            "StateMachineArn",
            "IngestQueueUrl",
            "FailureDlqUrl",
            "IngestDlqUrl",
            "GlueDatabase",
        )
    ]
    arn = stack.stack.detect_environment()["MODEL_ARN"]
    try:
        status = stack.emulator.models.status(arn)
    except Exception:  # moto's JsonRESTError: no such version
        status = "NOT FOUND: train one with `labelwatch model train DATASET` and restart"
    control = outputs.get("ModelControl", "manual")
    if status != custom_labels.RUNNING and not status.startswith("NOT FOUND"):
        status += (
            ": images wait on the queue until `labelwatch model start`"
            if control == "manual"
            else ": the autopilot starts it when images wait"
        )
    rows += [("model", arn), ("model status", status), ("modelControl", control)]
    if stack.scheduler is not None:
        rows.append(("autopilot", f"runs every minute; {stack.clock.describe()}"))
    rows += [("outbox", str(stack.home.outbox)), ("function logs", str(stack.home.logs))]
    print_table(table(["", ""], rows, title="labelwatch local stack"))

    config = (
        template_rules(stack.stack)
        if stack.template is not None
        else LabelwatchConfig.from_mapping(cdk_context(stack.context))
    )
    show_rules(config)
    warn_unmatched_rules(list(config.label_rules), local_model_labels(stack.home, arn), "local up")
    endpoint, bucket, region = stack.endpoint, outputs["InputBucketName"], stack.region
    console.print(
        "\nUse it from any shell (the AWS CLI, v1 or v2, takes --endpoint-url; boto3 and the AWS CLI v2 "
        "also read AWS_ENDPOINT_URL):\n"
        f"  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION={region}\n"
        f"  aws --endpoint-url {endpoint} s3 cp photo.jpg s3://{bucket}/\n"
        "  labelwatch upload PATH… --wait   labelwatch results   labelwatch alerts --follow   "
        "labelwatch local status\n"
        "\n[dim]Ctrl-C (or `labelwatch local down`) stops the stack; "
        "its results and the outbox stay on disk.[/]",
        highlight=False,
    )


def template_rules(embedded) -> Any:
    """What ``show_rules`` needs, read from a given template (no CDK context to build a config from):
    the ``LabelRules`` output and the alerts topic's e-mail subscriptions with their label filters."""
    from types import SimpleNamespace

    outputs = embedded.outputs
    subscribers = []
    for resource in embedded.provisioned.resources.values():
        properties = resource.properties
        if resource.type == "AWS::SNS::Subscription" and properties.get("TopicArn") == outputs.get(
            "AlertsTopicArn"
        ):
            labels = (properties.get("FilterPolicy") or {}).get("labels", [])
            subscribers.append(SimpleNamespace(email=properties.get("Endpoint", ""), labels=labels))
    return SimpleNamespace(label_rules=json.loads(outputs.get("LabelRules", "{}")), subscribers=subscribers)


def show_rules(config) -> None:
    """The rules, thresholds and recipients the stack runs with."""
    rows = []
    for label, threshold in config.label_rules.items():
        recipients = [s.email for s in config.subscribers if not s.labels or label in s.labels]
        rows.append((label, f">= {threshold:g} %", ", ".join(recipients) or "(nobody)"))
    print_table(table(["alert on label", "confidence", "e-mailed to"], rows, title="alert rules"))


def local_model_labels(home: Home, arn: str) -> list[str] | None:
    """The labels of a locally trained model version, or None if it is not in the store."""
    from labelwatch.model import ModelStore

    try:
        return list(ModelStore(home.models).get(arn).manifest.get("labels", []))
    except Exception:  # not a version of this store (its absence is reported as NOT FOUND)
        return None


def warn_unmatched_rules(rule_labels: list[str], model_labels: list[str] | None, where: str) -> int:
    """Print a warning per label of interest the model cannot produce; return how many."""
    if model_labels is None:
        return 0
    from labelwatch.label_check import describe_mismatches, unmatched_rules

    mismatches = unmatched_rules(rule_labels, model_labels)
    for line in describe_mismatches(mismatches, model_labels):
        err_console.print(f"[yellow]warning:[/] {escape(line)}: it can never alert", highlight=False)
    return len(mismatches)
