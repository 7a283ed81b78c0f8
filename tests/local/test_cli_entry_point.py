"""The installed ``labelwatch`` command, run as a person runs it: exit codes, one-line errors,
machine formats that survive a pipe, and what stays readable after the stack stops."""

from __future__ import annotations

import csv
import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from importlib.metadata import version
from pathlib import Path

import pytest

from .test_cli_local_lifecycle import interruptible

ENTRY_POINT = str(Path(sys.executable).with_name("labelwatch"))
LONG_KEY = "fields/north-field-7/drone-run-2026-12-01/" + "IMG_" + "0123456789" * 8 + ".jpg"
ARN = "arn:aws:rekognition:us-east-1:123456789012:project/plant-leaves/version/plant-leaves.v1/1764028800000"


def labelwatch(*args: str, home: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """Run the installed entry point with output to a pipe (not a terminal), as in a script."""
    environment = {**os.environ, "LABELWATCH_HOME": str(home), **env}
    environment.pop("COLUMNS", None)
    return subprocess.run(
        [ENTRY_POINT, *args], env=environment, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


def test_the_entry_point_is_installed():
    assert Path(ENTRY_POINT).is_file(), "make setup installs the labelwatch command into the venv"


@pytest.mark.parametrize(
    "args, message",
    [
        (["dmeo"], "No such command 'dmeo'. Did you mean 'demo'?"),
        (["upload"], "Missing argument 'PATH'"),
        (["results", "--limit", "abc"], "Invalid value for '--limit'"),
        (["local", "up", "--port", "99999"], "Invalid value for '--port'"),
        (["--bogus"], "No such option: --bogus"),
        (["query", "--format"], "Option '--format' requires an argument"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_usage_errors_are_one_line_with_exit_2(args, message, home):
    done = labelwatch(*args, home=home)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert message in lines[0] and "--help" in lines[0]


def test_no_arguments_prints_the_help_with_exit_2(home):
    done = labelwatch(home=home)
    assert done.returncode == 2
    assert "Usage: labelwatch" in done.stderr and "Traceback" not in done.stderr


def test_version(home):
    done = labelwatch("--version", home=home)
    assert done.returncode == 0
    assert done.stdout.strip() == f"labelwatch {version('labelwatch')}"


def test_an_unknown_profile_is_exit_3_with_a_message(home, tmp_path):
    config = tmp_path / "aws-config"
    config.write_text("[default]\nregion = us-east-1\n")
    done = labelwatch("--profile", "nosuch", "results", home=home, AWS_CONFIG_FILE=str(config))
    assert done.returncode == 3
    assert "nosuch" in done.stderr and "Traceback" not in done.stderr


def test_an_unknown_stack_parameter_names_the_closest_one(home):
    done = labelwatch("local", "up", "-c", "minconfidance=90", home=home)
    assert done.returncode == 4
    assert "-c minconfidance: not a stack parameter; did you mean 'minConfidence'?" in done.stderr
    assert not (home / "local-stack.json").exists(), "nothing was started"


def test_report_into_a_missing_folder_is_refused(home, tmp_path):
    done = labelwatch("report", "--output", str(tmp_path / "nope" / "r.html"), home=home)
    assert done.returncode == 4
    assert "does not exist" in done.stderr
    assert not (tmp_path / "nope").exists()


def _saved_run(home: Path) -> None:
    """What a stopped local stack leaves behind: its results (and an outbox with one alert)."""
    root = home / "last-run"
    records = [
        {
            "image": f"s3://input/{LONG_KEY}",
            "key": LONG_KEY,
            "label": "leaf-smut",
            "confidence": 91.5,
            "alert": True,
            "status": "ok",
            "reason": None,
            "model": ARN,
            "detected_at": "2026-12-01T10:00:00Z",
        },
        {
            "image": "s3://input/a, b.jpg",
            "key": 'a, "b".jpg',
            "label": None,
            "confidence": None,
            "alert": False,
            "status": "rejected",
            "reason": "not-an-image",
            "model": ARN,
            "detected_at": "2026-12-01T10:00:01Z",
        },
    ]
    for number, record in enumerate(records):
        path = root / "results" / "results" / "dt=2026-12-01" / f"image-{number}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record) + "\n")
    outputs = {"ResultsBucketName": "results", "GlueDatabase": "labelwatch", "InputBucketName": "input"}
    (root / "run.json").write_text(json.dumps({"stopped": "2026-12-01T10:05:00Z", "outputs": outputs}))


def test_results_and_queries_of_the_last_run_are_readable_offline_and_pipe_cleanly(home):
    _saved_run(home)
    done = labelwatch("results", "--format", "csv", home=home)
    assert done.returncode == 0, done.stderr
    assert "showing the last local run" in done.stderr, "it says what it shows"
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert {row["key"] for row in rows} == {LONG_KEY, 'a, "b".jpg'}, "csv is whole, quoted, unwrapped"

    done = labelwatch("query", "--named", "label_counts", "--format", "json", home=home)
    assert done.returncode == 0, done.stderr
    counts = {row["label"]: row["detections"] for row in json.loads(done.stdout)}
    assert counts["leaf-smut"] == 1

    done = labelwatch("results", home=home)  # a table, piped: the long key is never broken
    assert done.returncode == 0
    assert LONG_KEY in done.stdout


def test_the_outbox_is_readable_without_a_stack_and_alerts_follow_new_mail(home):
    from labelwatch.local.outbox import Outbox

    outbox = Outbox(directory=home / "outbox")
    outbox.deliver(topic_arn="arn:topic", recipient="a@example.com", subject="leaf-smut 91%", body="x")
    done = labelwatch("alerts", "--format", "json", home=home)
    assert done.returncode == 0, done.stderr
    assert [mail["subject"] for mail in json.loads(done.stdout)] == ["leaf-smut 91%"]

    environment = {**os.environ, "LABELWATCH_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    follower = subprocess.Popen(
        [ENTRY_POINT, "alerts", "--follow", "--format", "csv"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in follower.stdout], daemon=True).start()
    try:
        assert lines.get(timeout=60).startswith("date,to,subject")
        assert "leaf-smut 91%" in lines.get(timeout=60)
        outbox.deliver(topic_arn="arn:topic", recipient="b@example.com", subject="rust 88%", body="y")
        assert "rust 88%" in lines.get(timeout=60), "a new alert is printed as it arrives"
    finally:
        follower.send_signal(signal.SIGINT)
        try:
            code = follower.wait(timeout=30)
        finally:
            if follower.poll() is None:  # never leave it running, whatever the assertion says
                follower.kill()
                follower.wait()
    assert code == 130
    assert "Traceback" not in follower.stderr.read()


def test_help_fits_80_columns_without_python_types_or_cut_names(monkeypatch, capsys):
    from infra.config import CONTEXT_KEYS
    from labelwatch.cli.app import run

    monkeypatch.setenv("COLUMNS", "80")
    commands = [
        [],
        ["local", "up"],
        ["local", "status"],
        ["local", "down"],
        ["upload"],
        ["results"],
        ["alerts"],
        ["query"],
        ["report"],
        ["check"],
        ["demo"],
        ["dlq", "list"],
        ["dlq", "redrive"],
        ["model"],
        ["model", "status"],
        ["local"],
        ["dlq"],
    ]
    for command in commands:
        capsys.readouterr()
        assert run([*command, "--help"]) == 0
        text = capsys.readouterr().out
        for python_type in ("<list[", "<str>", "<int", "<float>", "<path>", "<bool>"):
            assert python_type not in text, f"{command}: {python_type}"
        listed = text.split("Commands:")[-1] if "Commands:" in text else ""
        assert not [line for line in listed.splitlines() if line.endswith(("...", "…"))], f"{command}: cut"
        assert max(len(line) for line in text.splitlines()) <= 80, command
        if command == ["local", "up"]:
            assert all(name in text for name in CONTEXT_KEYS), "-c parameters are listed"


def test_the_same_file_given_twice_is_uploaded_once(tmp_path):
    from labelwatch.uploads import plan_uploads

    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"x")
    uploads = plan_uploads([folder / "a.jpg", folder / "a.jpg", folder, folder], "field-7")
    assert sorted(u.key for u in uploads) == ["field-7/a.jpg", "field-7/photos/a.jpg"]


def test_a_folder_is_uploaded_recursively_without_its_hidden_files_and_folders(tmp_path):
    from labelwatch.uploads import plan_uploads

    folder = tmp_path / "field 7"
    for name in ["b.jpg", "a.jpg", "row 2/c.png", ".DS_Store", ".git/objects/x.jpg", "row 2/.cache/d.jpg"]:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(b"x")
    uploads = plan_uploads([folder])
    assert [u.key for u in uploads] == ["field 7/a.jpg", "field 7/b.jpg", "field 7/row 2/c.png"]


def test_a_batch_that_succeeded_with_a_failed_image_is_not_printed_as_succeeded():
    from labelwatch.cli.local_cmd import batch_line
    from labelwatch.local.pipe import BatchOutcome

    outcome = BatchOutcome("arn:x:exec", "SUCCEEDED", ["m1", "m2"], ["m1", "m2"], [])
    colour, text = batch_line(outcome, {"done": 1, "failed (failure DLQ)": 1})
    assert colour == "red" and "1 failed (failure DLQ)" in text and "succeeded" not in text


def test_rules_the_model_cannot_match_are_warned_about(capsys):
    from labelwatch.cli.local_cmd import warn_unmatched_rules

    assert warn_unmatched_rules(["leaf-smut"], ["Leaf Smut", "ok"], "local up") == 1
    err = capsys.readouterr().err
    assert "leaf-smut" in err and "Leaf Smut" in err and "never alert" in err


def test_check_reads_the_labels_of_a_deployed_model():
    import boto3
    from botocore.stub import Stubber

    from labelwatch.cli.check_cmd import custom_labels_model_labels

    client = boto3.client("rekognition", region_name="us-east-1")
    dataset = "arn:aws:rekognition:us-east-1:123456789012:project/plant-leaves/dataset/train/1764028800000"
    with Stubber(client) as stub:
        stub.add_response(
            "describe_projects",
            {"ProjectDescriptions": [{"Datasets": [{"DatasetArn": dataset, "DatasetType": "TRAIN"}]}]},
            {"ProjectNames": ["plant-leaves"]},
        )
        stub.add_response(
            "list_dataset_labels",
            {"DatasetLabelDescriptions": [{"LabelName": "Leaf Smut"}, {"LabelName": "ok"}]},
            {"DatasetArn": dataset},
        )
        assert custom_labels_model_labels(client, ARN) == ["Leaf Smut", "ok"]
