"""``labelwatch check``: would the stack's alert rules ever fire with this model?

A label of interest that is not one of the model's labels (``leaf-smut`` for a model that says
``Leaf Smut``) makes every result ``alert = false`` without a word; this says so, before the
first missed outbreak does.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from labelwatch.cli.console import console, print_table, table
from labelwatch.cli.errors import BAD_INPUT, CliError


def custom_labels_model_labels(rekognition: Any, version_arn: str) -> list[str]:
    """The labels of a Custom Labels model: those of its project's training dataset.

    (DescribeProjects names the project's datasets; ListDatasetLabels lists a dataset's labels.)
    """
    project = version_arn.split(":project/", 1)[-1].split("/", 1)[0]
    projects = rekognition.describe_projects(ProjectNames=[project]).get("ProjectDescriptions", [])
    datasets = projects[0].get("Datasets", []) if projects else []
    train = [d["DatasetArn"] for d in datasets if d.get("DatasetType") == "TRAIN"]
    if not train:
        raise CliError(
            f"project {project!r} has no training dataset to read labels from",
            BAD_INPUT,
            hint="projects trained from a manifest without datasets cannot be checked this way",
        )
    labels: list[str] = []
    for page in rekognition.get_paginator("list_dataset_labels").paginate(DatasetArn=train[0]):
        labels += [item["LabelName"] for item in page.get("DatasetLabelDescriptions", [])]
    return labels


def register(app: typer.Typer) -> None:
    @app.command(short_help="Check the alert rules against the model's labels.")
    def check(ctx: typer.Context) -> None:
        """Check that every label of interest is a label the stack's model can return (exit 4 if not)."""
        from labelwatch.cli.local_cmd import local_model_labels
        from labelwatch.label_check import describe_mismatches, unmatched_rules

        target = ctx.obj.target()
        arn = target.outputs.get("ModelArn") or target.model_arn or ""
        rules: dict[str, float] = json.loads(target.output("LabelRules"))
        if target.is_local:
            model_labels = local_model_labels(target.home, arn)
            if model_labels is None:
                raise CliError(f"the stack's model {arn} is not in {target.home.models}", BAD_INPUT)
        else:
            model_labels = custom_labels_model_labels(target.client("rekognition"), arn)
        mismatches = unmatched_rules(list(rules), model_labels)
        missing = {m.rule_label for m in mismatches}
        rows = [
            (label, f">= {threshold:g} %", "no: the model never returns it" if label in missing else "yes")
            for label, threshold in rules.items()
        ]
        print_table(table(["label of interest", "confidence", "can match"], rows, title=f"rules of {arn}"))
        console.print(f"model labels: {', '.join(model_labels)}", highlight=False)
        if mismatches:
            raise CliError("; ".join(describe_mismatches(mismatches, model_labels)), BAD_INPUT)
        console.print("every label of interest is a label of the model")
