"""``labelwatch model train|start|stop|status``: the local Custom Labels stand-in (or a real one).

``train`` works on this machine only (it is what Custom Labels' training does in the cloud).
``start``/``stop``/``status`` call the Custom Labels API (StartProjectVersion, …) on the target:
the embedded endpoint, or Rekognition itself with --profile.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import UTC
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from labelwatch.cli.console import console, progress
from labelwatch.cli.errors import BAD_INPUT, NO_STACK, USAGE, CliError

FORMATS = ("table", "csv", "json")


def print_arn(arn: str, *, style: str = "bold") -> None:
    """An ARN alone on its line, never cut or wrapped by rich (the terminal may fold it visually)."""
    console.print(Text(arn, style=style), soft_wrap=True, highlight=False)


def render_evaluation(
    evaluation: Any, *, title: str, calibration: Any = None, caveats: tuple[str, ...] = ()
) -> Table:
    """Per-label F1, precision, recall and assumed threshold, as the Custom Labels console shows; the
    caption adds the calibration and any caveat about the size of the test split."""
    table = Table(title=title, title_justify="left", caption_justify="left")
    table.add_column("Label", overflow="fold")  # a label is copied into rules: never cut it short
    for column in ("F1 score", "Precision", "Recall", "Assumed threshold", "Test images"):
        table.add_column(column, justify="right")
    for metrics in evaluation.labels:
        table.add_row(
            escape(metrics.label),
            f"{metrics.f1:.3f}",
            f"{metrics.precision:.3f}",
            f"{metrics.recall:.3f}",
            f"{metrics.assumed_threshold:.1f}",
            str(metrics.support),
        )
    table.add_section()
    table.add_row(
        "[bold]average[/]",
        f"[bold]{evaluation.macro_f1:.3f}[/]",
        f"{evaluation.macro_precision:.3f}",
        f"{evaluation.macro_recall:.3f}",
        "",
        str(evaluation.test_images),
    )
    caption = [f"accuracy on the held-out test images: {evaluation.accuracy:.1%}"]
    if calibration is not None and calibration.limited_by == "too few test images":
        caption.append(
            f"confidences not calibrated: too few test images (expected calibration error "
            f"{calibration.ece_before:.1%})"
        )
    elif calibration is not None:
        capped = ""
        if calibration.limited_by == "held-out accuracy":
            right = round(evaluation.accuracy * evaluation.test_images)
            capped = (
                f" (capped: {right} of {evaluation.test_images} test images right support an average "
                f"confidence of at most {calibration.mean_confidence_cap:.1%})"
            )
        caption.append(
            f"confidences calibrated on them: temperature {calibration.temperature:.3f}{capped}, "
            f"expected calibration error {calibration.ece_before:.1%} -> {calibration.ece_after:.1%}"
        )
    caption += [f"[yellow]caveat: {escape(caveat)}[/]" for caveat in caveats]
    table.caption = "\n".join(caption)
    return table


def render_training(result: Any) -> Table:
    """The evaluation table of a training result, with its calibration and caveats."""
    return render_evaluation(
        result.evaluation,
        title=f"Evaluation of {result.version_name}",
        calibration=result.calibration,
        caveats=result.quality.caveats,
    )


def train_model(
    home_models: Path,
    dataset: Path,
    *,
    project: str,
    test_fraction: float,
    seed: int,
    force: bool = False,
):
    """Train with a progress bar; errors in the dataset or names become exit code 4."""
    from labelwatch.model import DatasetError, ModelStore, ModelStoreError, train

    with progress(transient=True) as bar:
        task = bar.add_task("image features", total=None)

        def on_progress(stage: str, done: int, total: int) -> None:
            if stage == "features":
                bar.update(task, completed=done, total=total)
            else:
                bar.update(task, description="fitting the classifier")

        try:
            return train(
                dataset,
                ModelStore(home_models),
                project=project,
                test_fraction=test_fraction,
                seed=seed,
                progress=on_progress,
                force=force,
            )
        except (DatasetError, ModelStoreError) as error:
            raise CliError(str(error), BAD_INPUT) from None


def check_arn(arn: str) -> str:
    """A Custom Labels project version ARN, or exit 4 naming the form it must have."""
    from infra.config import MODEL_ARN_PATTERN

    if not MODEL_ARN_PATTERN.match(arn):
        raise CliError(
            f"{arn!r} is not a model version ARN; expected arn:aws:rekognition:<region>:<account>:"
            "project/<project>/version/<version>/<13-digit timestamp>",
            BAD_INPUT,
            hint="`labelwatch model status` lists the trained versions with their ARNs",
        )
    return arn


RUNNING_STATUS = "RUNNING"
STOPPED_STATUS = "STOPPED"
# A Custom Labels start takes 10-30 minutes on AWS; --wait gives it a generous hour.
START_TIMEOUT_SECONDS = 3600.0
POLL_SECONDS = 1.0


def describe_status(client: Any, arn: str, project_arn: str | None = None) -> str | None:
    """The version's status from DescribeProjectVersions (None if it is not listed); ``project_arn``
    is looked up (``project_arn_of``) unless given."""
    response = client.describe_project_versions(
        ProjectArn=project_arn or project_arn_of(client, arn), VersionNames=[arn.split("/")[3]]
    )
    for item in response.get("ProjectVersionDescriptions", []):
        if item.get("ProjectVersionArn") == arn:
            return item.get("Status")
    return None


def wait_for_status(
    client: Any,
    arn: str,
    wanted: str,
    *,
    timeout: float = START_TIMEOUT_SECONDS,
    interval: float = POLL_SECONDS,
    on_change: Any = None,
) -> str | None:
    """Poll DescribeProjectVersions until the version is ``wanted`` or ``timeout`` seconds pass; the
    last status seen. ``on_change(status)`` is called whenever it changes. A FAILED version ends it."""
    import time

    deadline = time.monotonic() + timeout
    seen = None
    project_arn = project_arn_of(client, arn)  # once: a project's ARN does not change
    while True:
        status = describe_status(client, arn, project_arn)
        if status != seen and on_change is not None:
            on_change(status)
        seen = status
        if status == wanted or status == "FAILED" or time.monotonic() >= deadline:
            return status
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


def _print_status(arn: str, status: str) -> None:
    console.print(f"{arn}: {status}", highlight=False, markup=False, soft_wrap=True)


def _wait_and_report(client: Any, arn: str, wanted: str, timeout: float) -> None:
    console.print(f"waiting up to {timeout:g} s for {wanted} ...", highlight=False)
    last = _call(
        "DescribeProjectVersions",
        lambda: wait_for_status(
            client,
            arn,
            wanted,
            timeout=timeout,
            on_change=lambda status: console.print(f"status: {status}", highlight=False, markup=False),
        ),
    )
    if last != wanted:
        raise CliError(
            f"{arn} is {last or 'not listed'} after {timeout:g} s, not {wanted}",
            1,
            hint="`labelwatch model status` shows its status; wait longer with --timeout",
        )


def _default_arn(ctx: typer.Context, arn: str | None) -> tuple[str, Any]:
    if arn is not None:
        check_arn(arn)
    target = ctx.obj.target()
    chosen = arn or target.model_arn
    if not chosen:
        raise CliError("which model version? pass its ARN", BAD_INPUT)
    return chosen, target


def _call(action: str, call) -> dict:
    from botocore.exceptions import ClientError, ParamValidationError

    try:
        return call()
    except ParamValidationError as error:
        report = " ".join(str(error.kwargs.get("report", error)).split())
        raise CliError(f"{action}: invalid parameter: {report}", BAD_INPUT) from None
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        raise CliError(
            f"{action}: {code}: {error.response.get('Error', {}).get('Message', '')}",
            NO_STACK if code == "ResourceNotFoundException" else 1,
        ) from None


def project_arn_of(client: Any, version_arn: str) -> str:
    """The ARN of the version's project, from DescribeProjects: ``…:project/<p>/<ms>`` carries the
    project's own creation time, which a version's ARN does not tell (it has the version's)."""
    from botocore.exceptions import ClientError

    name = version_arn.partition(":project/")[2].split("/")[0]
    projects = client.describe_projects(ProjectNames=[name]).get("ProjectDescriptions", [])
    for project in projects:
        if project.get("ProjectArn", "").split(":project/")[-1].split("/")[0] == name:
            return project["ProjectArn"]
    raise ClientError(
        {"Error": {"Code": "ResourceNotFoundException", "Message": f"no project {name!r}"}},
        "DescribeProjects",
    )


def warn_unmatched_rules(model_labels: tuple[str, ...]) -> None:
    """A yellow warning per label of interest in cdk.json that is not a label of the model."""
    from infra.config import ConfigError
    from labelwatch.label_check import describe_mismatches, rule_labels_from_context, unmatched_rules
    from labelwatch.local.template import cdk_context

    try:
        rules = rule_labels_from_context(cdk_context())
    except ConfigError as error:
        console.print(f"[dim]cannot check the stack's labels of interest: {escape(str(error))}[/]")
        return
    lines = describe_mismatches(unmatched_rules(rules, model_labels), model_labels)
    for line in lines:
        console.print(f"[yellow]warning: {escape(line)}: its rule can never alert[/]", highlight=False)
    if lines:
        console.print(
            "[dim]the labels of interest are the stack's, from cdk.json; `-c labelsOfInterest=...` "
            "at `labelwatch local up` may change them[/]",
            highlight=False,
        )


def report_default(store: Any, result: Any) -> None:
    """Say which version the next ``local up`` uses and why; exit 4 if the gate refused this one."""
    quality = result.quality
    chosen = store.default_version()
    if not quality.default:
        console.print(
            "[red]this version is stored but is not the default model[/]: "
            + escape("; ".join(quality.refusals)),
            highlight=False,
        )
    if chosen is not None and chosen.arn == result.arn:
        why = "the newest trained version that passed the quality gate"
        if quality.forced:
            why = f"made the default with --force despite: {'; '.join(quality.refusals)}"
        console.print(f"[green]the next `labelwatch local up` uses this version[/] ({escape(why)})")
        console.print("[dim]start it on a running stack with `labelwatch model start`[/]", highlight=False)
    elif chosen is not None:
        console.print(
            f"the next `labelwatch local up` uses {escape(chosen.version_name)}, the newest version "
            "that passed the quality gate:",
            highlight=False,
        )
        print_arn(chosen.arn, style="")
    else:
        console.print(
            "no stored version passed the quality gate: the next `labelwatch local up` has no trained "
            "model of its own (it falls back to the modelArn of cdk.json)",
            highlight=False,
        )
    if not quality.default:
        raise CliError(
            f"model version {result.version_name} was not made the default: {'; '.join(quality.refusals)}",
            BAD_INPUT,
            hint="fix the dataset (each label needs its own, different-looking images), pass --force to "
            "make it the default anyway, or run it once with `labelwatch local up --model ARN`",
        )


def _live_statuses(ctx: typer.Context, versions: list) -> tuple[dict[str, str], str | None] | None:
    """Status per ARN from the running local stack (DescribeProjectVersions) and the ARN of its model;
    None when no local stack is running: then nothing is running."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        target = ctx.obj.target()
    except CliError:
        return None
    statuses: dict[str, str] = {}
    client = target.client("rekognition")
    for version_arn in {info.arn.split("/version/")[0]: info.arn for info in versions}.values():
        try:
            response = client.describe_project_versions(ProjectArn=project_arn_of(client, version_arn))
        except (BotoCoreError, ClientError):
            return None
        for item in response.get("ProjectVersionDescriptions", []):
            statuses[item["ProjectVersionArn"]] = item["Status"]
    return statuses, target.model_arn


def _role(info: Any, *, stack_arn: str | None, default_arn: str | None) -> str:
    from labelwatch.model import Quality

    roles = []
    if info.arn == stack_arn:
        roles.append("the running stack's model")
    if info.arn == default_arn:
        roles.append("the next `local up` uses it")
    quality = Quality.from_manifest(info.manifest)
    if not quality.default:
        roles.append(f"not the default: {'; '.join(quality.refusals)}")
    elif quality.forced:
        roles.append("default by --force")
    return "; ".join(roles)


def version_rows(ctx: typer.Context, store: Any, versions: list) -> list[dict[str, Any]]:
    """One row per version, newest first: its status (from the running stack, else STOPPED or what
    the store says) and what it is used for."""
    live = _live_statuses(ctx, versions)
    statuses, stack_arn = live if live is not None else ({}, None)
    default = store.default_version()
    rows = []
    for info in reversed(versions):
        evaluation = info.manifest.get("evaluation", {})
        rows.append(
            {
                "version": info.version_name,
                "status": statuses.get(info.arn) or store.status(info.arn),
                "created": info.created.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                "macro_f1": round(float(evaluation.get("macro_f1", 0.0)), 3),
                "labels": list(info.manifest.get("labels", [])),
                "use": _role(info, stack_arn=stack_arn, default_arn=default.arn if default else None),
                "arn": info.arn,
            }
        )
    return rows


def write_csv(rows: list[dict[str, Any]]) -> None:
    """Rows as CSV on stdout, the first row's keys as the header (``arn`` alone when there is none)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["arn"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    sys.stdout.write(out.getvalue())


def print_version_rows(rows: list[dict[str, Any]], *, fmt: str, title: str) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if fmt == "csv":
        write_csv([{**row, "labels": "; ".join(row["labels"])} for row in rows])
        return
    table = Table(title=title, title_justify="left")
    for column in ("Version", "Status", "Created", "F1", "Labels", "Use"):
        # A status is one word: as wide as the longest, so it is neither cut nor folded.
        width = max(len(row["status"]) for row in rows) if column == "Status" else None
        table.add_column(column, overflow="fold", min_width=width)
    for row in rows:
        table.add_row(
            escape(row["version"]),
            row["status"],
            row["created"],
            f"{row['macro_f1']:.3f}",
            escape(", ".join(row["labels"])),
            escape(row["use"]),
        )
    console.print(table)
    console.print("ARNs, in the same order:", highlight=False)
    for row in rows:
        print_arn(row["arn"], style="")


def register(app: typer.Typer) -> None:
    model = typer.Typer(
        help="The Custom Labels model: train locally, start, stop, status.",
        short_help="The model: train, start, stop, status.",
        no_args_is_help=True,
    )
    app.add_typer(model, name="model")

    @model.command("train", short_help="Train a version on a folder-per-label dataset.")
    def train_command(
        ctx: typer.Context,
        dataset: Annotated[
            Path, typer.Argument(metavar="DATASET", help="Folder with one sub-folder of images per label")
        ],
        project: Annotated[
            str, typer.Option(metavar="NAME", help="Custom Labels project name")
        ] = "plant-leaves",
        test_fraction: Annotated[
            float, typer.Option(min=0.05, max=0.5, metavar="SHARE", help="Held-out share")
        ] = 0.2,
        seed: Annotated[int, typer.Option(metavar="N", help="Seed of the train/test split")] = 0,
        force: Annotated[
            bool,
            typer.Option("--force", help="Make it the default model even if the quality gate refuses it"),
        ] = False,
    ) -> None:
        """Train a model version on a folder-per-label dataset and print its evaluation.

        A version the quality gate refuses (one label for every test image; with at least 5 test
        images per label, also an average F1 under 0.5 or no better than always answering the
        commonest label) is stored but not used by `labelwatch local up` unless --force (exit 4)."""
        from labelwatch.model import ModelStore

        result = train_model(
            ctx.obj.home.models, dataset, project=project, test_fraction=test_fraction, seed=seed, force=force
        )
        console.print(render_training(result))
        console.print(
            f"trained on {result.train_images} images, tested on {result.test_images} "
            f"({result.feature_seconds:.1f} s features, {result.fit_seconds:.2f} s fitting)\n"
            "model version ARN:",
            highlight=False,
        )
        print_arn(result.arn)
        warn_unmatched_rules(result.labels)
        report_default(ModelStore(ctx.obj.home.models), result)

    @model.command("start", short_help="Start a model version (StartProjectVersion).")
    def start_command(
        ctx: typer.Context,
        arn: Annotated[
            str | None, typer.Argument(metavar="ARN", help="Model version ARN [the stack's model]")
        ] = None,
        wait: Annotated[
            bool, typer.Option("--wait", help="Wait until it is RUNNING (polls DescribeProjectVersions)")
        ] = False,
        timeout: Annotated[
            float, typer.Option(min=1, metavar="SECONDS", help="How long --wait waits")
        ] = START_TIMEOUT_SECONDS,
    ) -> None:
        """Start the model version (StartProjectVersion). It answers STARTING and DetectCustomLabels
        once it is RUNNING: minutes later on AWS (10-30), seconds on the local stack."""
        chosen, target = _default_arn(ctx, arn)
        client = target.client("rekognition")
        response = _call(
            "StartProjectVersion",
            lambda: client.start_project_version(ProjectVersionArn=chosen, MinInferenceUnits=1),
        )
        _print_status(chosen, response.get("Status", "?"))
        if wait:
            _wait_and_report(client, chosen, RUNNING_STATUS, timeout)
        else:
            console.print(
                "[dim]it answers DetectCustomLabels once RUNNING: `labelwatch model status` shows when "
                "(or start it with --wait)[/]",
                highlight=False,
            )

    @model.command("stop", short_help="Stop a model version; images wait on the queue.")
    def stop_command(
        ctx: typer.Context,
        arn: Annotated[
            str | None, typer.Argument(metavar="ARN", help="Model version ARN [the stack's model]")
        ] = None,
        wait: Annotated[bool, typer.Option("--wait", help="Wait until it is STOPPED")] = False,
        timeout: Annotated[
            float, typer.Option(min=1, metavar="SECONDS", help="How long --wait waits")
        ] = START_TIMEOUT_SECONDS,
    ) -> None:
        """Stop the model version (it answers STOPPING); images wait on the queue until it runs again."""
        chosen, target = _default_arn(ctx, arn)
        client = target.client("rekognition")
        response = _call(
            "StopProjectVersion",
            lambda: client.stop_project_version(ProjectVersionArn=chosen),
        )
        _print_status(chosen, response.get("Status", "?"))
        if wait:
            _wait_and_report(client, chosen, STOPPED_STATUS, timeout)

    @model.command("status", short_help="Model versions, their status and which is used.")
    def status_command(
        ctx: typer.Context,
        arn: Annotated[
            str | None, typer.Argument(metavar="ARN", help="Only this model version [every local one]")
        ] = None,
        fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="table, csv or json")] = "table",
    ) -> None:
        """List model versions: status, F1, and which one the running stack (or the next `local up`)
        uses. Locally, a version runs only inside a running `local up`; with --profile, pass the ARN."""
        if fmt not in FORMATS:
            raise CliError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}", BAD_INPUT)
        if arn is not None:
            check_arn(arn)
        if ctx.obj.profile or ctx.obj.region:
            if not arn:
                raise CliError("with --profile, pass the model version ARN", BAD_INPUT)
            rekognition = ctx.obj.target().client("rekognition")
            version_name = arn.split("/")[3]
            response = _call(
                "DescribeProjectVersions",
                lambda: rekognition.describe_project_versions(
                    ProjectArn=project_arn_of(rekognition, arn), VersionNames=[version_name]
                ),
            )
            for item in response.get("ProjectVersionDescriptions", []):
                console.print(
                    f"{item['ProjectVersionArn']}: {item['Status']}",
                    highlight=False,
                    markup=False,
                    soft_wrap=True,
                )
            return
        from labelwatch.model import ModelStore

        store = ModelStore(ctx.obj.home.models)
        versions = store.versions()
        if arn is not None:
            versions = [info for info in versions if info.arn == arn]
            if not versions:
                raise CliError(
                    f"no model version {arn} in {store.root}",
                    BAD_INPUT,
                    hint="`labelwatch model status` lists the trained versions",
                )
        if not versions:
            if fmt != "table":
                print_version_rows([], fmt=fmt, title="")
                return
            console.print(
                f"no model trained yet in {store.root}; run `labelwatch model train DATASET`", highlight=False
            )
            return
        print_version_rows(
            version_rows(ctx, store, versions), fmt=fmt, title=f"model versions in {store.root}"
        )
        if fmt == "table":
            _print_stack_model(ctx, quiet=True)

    @model.command(
        "autopilot", short_help="The stack's model: modelControl, status, Pipe, backlog, next stop."
    )
    def autopilot_command(
        ctx: typer.Context,
        fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="table or json")] = "table",
    ) -> None:
        """What runs the stack's model and what it does now: modelControl, the model's status, the Pipe's
        state, the ingest queue's backlog, the autopilot's last decision and when the model next stops."""
        if fmt not in ("table", "json"):
            raise CliError(f"--format {fmt!r}: use table or json", BAD_INPUT)
        _print_stack_model(ctx, quiet=False, as_json=fmt == "json")

    @model.command("usage", short_help="The local model's metered inference-unit time.")
    def usage_command(
        ctx: typer.Context,
        fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="table, csv or json")] = "table",
    ) -> None:
        """Inference-unit time the local stand-in metered, from each start call until STOPPED, in the
        local stack's time (compressed when it ran with `local up --minute-seconds`; said so)."""
        from labelwatch.cli.autopilot_view import usage_rows

        if fmt not in FORMATS:
            raise CliError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}", BAD_INPUT)
        if ctx.obj.profile or ctx.obj.region:
            raise CliError(
                "model usage is the local stand-in's meter; on AWS, Cost Explorer shows Rekognition's "
                "inference hours",
                USAGE,
            )
        usage = ctx.obj.home.read_usage()
        if usage is None:
            raise CliError(
                f"no local model usage in {ctx.obj.home.root}",
                NO_STACK,
                hint="start one with `labelwatch local up`",
            )
        rows = usage_rows(usage)
        if fmt == "json":
            sys.stdout.write(
                json.dumps({"compression": usage["compression"], "versions": rows}, indent=2) + "\n"
            )
            return
        if fmt == "csv":
            write_csv(rows)
            return
        state = "running" if usage.get("running") else "stopped"
        table = Table(
            title=f"metered model time ({usage['compression']}; the local stack is {state})",
            title_justify="left",
        )
        for column in ("Version", "Status", "Inference-unit hours", "Real seconds"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(
                escape(row["version"]),
                row["status"],
                f"{row['inference_unit_hours']:.4f}",
                f"{row['real_seconds']:.1f}",
            )
        console.print(table)
        console.print("ARNs, in the same order:", highlight=False)
        for row in rows:
            print_arn(row["arn"], style="")

    def _print_stack_model(ctx: typer.Context, *, quiet: bool, as_json: bool = False) -> None:
        """The stack's model view; with ``quiet`` nothing when no stack is reachable."""
        from labelwatch.cli.autopilot_view import stack_model_view

        try:
            target = ctx.obj.target()
        except CliError:
            if quiet:
                return
            raise
        info = ctx.obj.home.read_stack() if target.kind == "local" else None
        view = _call(
            "the stack's model",
            lambda: stack_model_view(
                target, describe_status=describe_status, compression=(info or {}).get("timeCompression")
            ),
        )
        if as_json:
            sys.stdout.write(json.dumps(view, indent=2) + "\n")
            return
        table = Table(
            title=f"the stack's model ({target.description})", title_justify="left", show_header=False
        )
        table.add_column("", no_wrap=True)
        table.add_column("", overflow="fold")
        for name, value in view.items():
            if name == "model":
                continue  # printed whole below: an ARN is never cut
            text = ", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
            table.add_row(name, escape(text))
        console.print(table)
        if view.get("model"):
            console.print("model:", highlight=False)
            print_arn(view["model"], style="")
