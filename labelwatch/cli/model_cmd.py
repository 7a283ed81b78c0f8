"""``labelwatch model train|start|stop|status``: the local Custom Labels stand-in (or a real one).

``train`` works on this machine only (it is what Custom Labels' training does in the cloud).
``start``/``stop``/``status`` call the Custom Labels API (StartProjectVersion, …) on the target:
the embedded endpoint, or Rekognition itself with --profile.
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from labelwatch.cli.console import console, progress
from labelwatch.cli.errors import BAD_INPUT, NO_STACK, CliError


def render_evaluation(evaluation: Any, *, title: str) -> Table:
    """Per-label F1, precision, recall and assumed threshold, as the Custom Labels console shows."""
    table = Table(title=title, title_justify="left")
    for column in ("Label", "F1 score", "Precision", "Recall", "Assumed threshold", "Test images"):
        table.add_column(column, justify="left" if column == "Label" else "right")
    for metrics in evaluation.labels:
        table.add_row(
            metrics.label,
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
    table.caption = f"accuracy on the held-out test images: {evaluation.accuracy:.1%}"
    return table


def train_model(home_models: Path, dataset: Path, *, project: str, test_fraction: float, seed: int):
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
            )
        except (DatasetError, ModelStoreError) as error:
            raise CliError(str(error), BAD_INPUT) from None


def _default_arn(ctx: typer.Context, arn: str | None) -> tuple[str, Any]:
    target = ctx.obj.target()
    chosen = arn or target.model_arn
    if not chosen:
        raise CliError("which model version? pass its ARN", BAD_INPUT)
    return chosen, target


def _call(action: str, call) -> dict:
    from botocore.exceptions import ClientError

    try:
        return call()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        raise CliError(
            f"{action}: {code}: {error.response.get('Error', {}).get('Message', '')}",
            NO_STACK if code == "ResourceNotFoundException" else 1,
        ) from None


def project_arn_of(version_arn: str) -> str:
    """arn:…:project/<p>/version/<v>/<ms> -> arn:…:project/<p>/<ms> (the form the API takes)."""
    head, _, rest = version_arn.partition(":project/")
    parts = rest.split("/")
    return f"{head}:project/{parts[0]}/{parts[-1]}"


def register(app: typer.Typer) -> None:
    model = typer.Typer(
        help="The Custom Labels model: train locally, start, stop, status.", no_args_is_help=True
    )
    app.add_typer(model, name="model")

    @model.command("train")
    def train_command(
        ctx: typer.Context,
        dataset: Annotated[Path, typer.Argument(help="Folder with one sub-folder of images per label")],
        project: Annotated[str, typer.Option(help="Custom Labels project name")] = "plant-leaves",
        test_fraction: Annotated[float, typer.Option(min=0.05, max=0.5, help="Held-out share")] = 0.2,
        seed: Annotated[int, typer.Option(help="Seed of the train/test split")] = 0,
    ) -> None:
        """Train a model version on a folder-per-label dataset and print its evaluation."""
        result = train_model(
            ctx.obj.home.models, dataset, project=project, test_fraction=test_fraction, seed=seed
        )
        console.print(render_evaluation(result.evaluation, title=f"Evaluation of {result.version_name}"))
        console.print(
            f"trained on {result.train_images} images, tested on {result.test_images} "
            f"({result.feature_seconds:.1f} s features, {result.fit_seconds:.2f} s fitting)\n"
            f"model version ARN: [bold]{result.arn}[/]\n"
            "[dim]the next `labelwatch local up` uses it; start it with `labelwatch model start`[/]",
            highlight=False,
        )

    @model.command("start")
    def start_command(
        ctx: typer.Context,
        arn: Annotated[str | None, typer.Argument(help="Model version ARN [the stack's model]")] = None,
    ) -> None:
        """Start the model version (StartProjectVersion); it answers DetectCustomLabels once RUNNING."""
        chosen, target = _default_arn(ctx, arn)
        response = _call(
            "StartProjectVersion",
            lambda: target.client("rekognition").start_project_version(
                ProjectVersionArn=chosen, MinInferenceUnits=1
            ),
        )
        console.print(f"{chosen}: {response.get('Status')}", highlight=False)

    @model.command("stop")
    def stop_command(
        ctx: typer.Context,
        arn: Annotated[str | None, typer.Argument(help="Model version ARN [the stack's model]")] = None,
    ) -> None:
        """Stop the model version; images wait on the queue until it runs again."""
        chosen, target = _default_arn(ctx, arn)
        response = _call(
            "StopProjectVersion",
            lambda: target.client("rekognition").stop_project_version(ProjectVersionArn=chosen),
        )
        console.print(f"{chosen}: {response.get('Status')}", highlight=False)

    @model.command("status")
    def status_command(
        ctx: typer.Context,
        arn: Annotated[str | None, typer.Argument(help="With --profile: the model version ARN")] = None,
    ) -> None:
        """List model versions and their status (local store; with --profile, one deployed version)."""
        if ctx.obj.profile or ctx.obj.region:
            if not arn:
                raise CliError("with --profile, pass the model version ARN", BAD_INPUT)
            target = ctx.obj.target()
            version_name = arn.split("/")[3] if arn.count("/") >= 4 else arn
            response = _call(
                "DescribeProjectVersions",
                lambda: target.client("rekognition").describe_project_versions(
                    ProjectArn=project_arn_of(arn), VersionNames=[version_name]
                ),
            )
            for item in response.get("ProjectVersionDescriptions", []):
                console.print(f"{item['ProjectVersionArn']}: {item['Status']}", highlight=False)
            return
        from labelwatch.model import ModelStore

        store = ModelStore(ctx.obj.home.models)
        versions = store.versions()
        if not versions:
            console.print(f"no model trained yet in {store.root}; run `labelwatch model train DATASET`")
            return
        table = Table(title=f"model versions in {store.root}", title_justify="left")
        for column in ("Version", "Status", "Created", "F1", "Labels", "ARN"):
            table.add_column(column, overflow="fold")
        for info in reversed(versions):
            evaluation = info.manifest.get("evaluation", {})
            table.add_row(
                info.version_name,
                store.status(info.arn),
                info.created.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                f"{evaluation.get('macro_f1', 0):.3f}",
                ", ".join(info.manifest.get("labels", [])),
                info.arn,
            )
        console.print(table)
