"""The labelwatch command without a stack: help, exit codes, clear errors, model training output."""

from __future__ import annotations

import pytest

from labelwatch.cli.errors import BAD_INPUT, NO_STACK
from labelwatch.demo.leaves import generate_dataset
from tests.local.cli_in_process import cli_home, invoke

COMMANDS = [
    [],
    ["local"],
    ["local", "up"],
    ["upload"],
    ["results"],
    ["alerts"],
    ["query"],
    ["report"],
    ["model"],
    ["model", "train"],
    ["model", "start"],
    ["model", "stop"],
    ["model", "status"],
    ["dlq"],
    ["dlq", "list"],
    ["dlq", "redrive"],
    ["demo"],
    ["executions"],
    ["trace"],
]


@pytest.fixture
def home(tmp_path, monkeypatch):
    return cli_home(tmp_path, monkeypatch)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "labelwatch")
def test_every_command_has_help(command, capsys, home):
    code, out = invoke(capsys, *command, "--help")
    assert code == 0
    assert "Usage:" in out


@pytest.mark.parametrize(
    "command",
    [
        ["results"],
        ["upload", "."],
        ["report"],
        ["model", "stop"],
        ["dlq", "list"],
        ["local", "status"],
        ["executions"],
        ["trace", "leaf.jpg"],
    ],
)
def test_commands_that_need_a_stack_say_how_to_start_one(command, capsys, home):
    code, out = invoke(capsys, *command)
    assert code == NO_STACK
    assert "no local stack is running" in out
    assert "labelwatch local up" in out


def test_upload_of_a_missing_path_names_it_and_uploads_nothing(capsys, home, tmp_path):
    code, out = invoke(capsys, "upload", str(tmp_path / "nope.jpg"))
    assert code == BAD_INPUT
    assert "nope.jpg: no such file or folder" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query"], "give either SQL or --named NAME"),
        (["query", "SELECT 1", "--named", "label_counts"], "give either SQL or --named NAME"),
        (
            ["query", "--named", "nope"],
            "no named query 'nope'; known: alerts_per_day, label_counts, recent_alerts",
        ),
        (["results", "--format", "xml"], "--format 'xml': use one of table, csv, json"),
        (["results", "--status", "fine"], "--status 'fine': use 'ok' or 'rejected'"),
        (["dlq", "redrive"], "give message ids (see `labelwatch dlq list`) or --all"),
        (["dlq", "redrive", "abc", "--all"], "give message ids (see `labelwatch dlq list`) or --all"),
    ],
)
def test_bad_options_are_explained(args, message, capsys, home):
    code, out = invoke(capsys, *args)
    assert code == BAD_INPUT
    assert message in " ".join(out.split())


def test_named_queries_are_listed(capsys, home):
    code, out = invoke(capsys, "query", "--list")
    assert code == 0
    for name in ("alerts_per_day", "label_counts", "recent_alerts"):
        assert name in out


def test_local_up_rejects_an_invalid_parameter_before_starting_anything(capsys, home):
    code, out = invoke(capsys, "local", "up", "--port", "0", "-c", "minConfidence=200")
    assert code == BAD_INPUT
    assert "minConfidence" in out and "200" in out


def test_model_train_on_a_bad_dataset_names_the_folder_and_the_rule(capsys, home, tmp_path):
    dataset = tmp_path / "one-label"
    generate_dataset(dataset, 3, 1, "JPEG", size=96)
    for folder in list(dataset.iterdir())[1:]:
        for file in folder.iterdir():
            file.unlink()
        folder.rmdir()
    code, out = invoke(capsys, "model", "train", str(dataset))
    assert code == BAD_INPUT
    assert str(dataset) in out
    assert "label" in out


def test_model_train_prints_the_evaluation_and_lists_the_version(capsys, home, tmp_path):
    dataset = tmp_path / "leaves"
    generate_dataset(dataset, 8, 2, "JPEG", size=128)
    code, out = invoke(capsys, "model", "train", str(dataset), "--project", "my-farm")
    assert code == 0, out
    for column in ("F1 score", "Precision", "Recall", "Assumed threshold"):
        assert column in out
    for label in ("healthy", "leaf-smut", "bacterial-leaf-blight"):
        assert label in out
    assert "accuracy on the held-out test images" in out
    assert "arn:aws:rekognition:us-east-1:123456789012:project/my-farm/version/my-farm." in out

    code, out = invoke(capsys, "model", "status")
    assert code == 0
    assert "TRAINING_COMPLETED" in out and "my-farm" in out
