"""Tables a person reads and copies from: an ARN is never cut, and the labels beside it stay whole."""

from __future__ import annotations

import io

from rich.console import Console

from labelwatch.cli.console import print_table, table

ARN = (
    "arn:aws:rekognition:us-east-1:123456789012:project/plant-leaves"
    "/version/plant-leaves.2026-12-01T15.15.59/1796138159404"
)


def rendered(rows, width: int = 80) -> str:
    out = Console(file=io.StringIO(), width=width, color_system=None)
    print_table(table(["", ""], rows, title="labelwatch local stack"), out=out)
    return out.file.getvalue()


def test_labels_stay_whole_beside_an_arn_wider_than_the_terminal():
    text = rendered([("endpoint", "http://127.0.0.1:4567"), ("ResultsBucketName", "bucket"), ("model", ARN)])
    assert ARN in text, "the ARN is on one line, uncut"
    for label in ("endpoint", "ResultsBucketName", "model"):
        assert label in text, f"{label!r} is readable"
