"""``labelwatch local up|status|down`` through the installed entry point, with a second terminal's
commands: one stack per home, a busy port fails at once, status tells why images wait, listing
the DLQs changes nothing, ``upload --wait`` waits for outcomes, ``down`` stops it and keeps results."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from labelwatch.local.home import Home

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local-up")]

ENTRY_POINT = str(Path(sys.executable).with_name("labelwatch"))
STARTUP_SECONDS = 180  # generous: a first synth for a new model takes ~10 s; machines vary


def labelwatch(home: Home, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    environment = {**os.environ, "LABELWATCH_HOME": str(home.root)}
    return subprocess.run(
        [ENTRY_POINT, *args], env=environment, capture_output=True, text=True, timeout=timeout, check=False
    )


def interruptible() -> None:
    """In the child: Ctrl-C (SIGINT) acts as in a terminal's foreground process. A shell that runs
    the suite in the background starts it with SIGINT ignored, and children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_local_up(home: Home, *options: str) -> tuple[subprocess.Popen, dict]:
    """`local up` with the model run by hand (modelControl manual: started at once, never stopped by
    an autopilot), so a test's uploads meet a running model; test_cli_autopilot runs on-demand."""
    process = launch_local_up(home, "-c", "modelControl=manual", *options)
    return process, wait_until_ready(process, home)


def launch_local_up(home: Home, *options: str) -> subprocess.Popen:
    environment = {**os.environ, "LABELWATCH_HOME": str(home.root), "PYTHONUNBUFFERED": "1"}
    log = (home.root / "local-up.out").open("w")
    return subprocess.Popen(
        # time compressed: the model starts in 0.5 s, not local up's default 3 s
        [ENTRY_POINT, "local", "up", "--port", "0", "--model-start-seconds", "0.5", *options],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=interruptible,
    )


def wait_for_stack_file(process: subprocess.Popen, home: Home) -> dict:
    """The stack file of ``process`` once it has written it (the stack is up)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while (info := home.read_stack()) is None or info.get("pid") != process.pid:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("local up did not start:\n" + (home.root / "local-up.out").read_text())
        time.sleep(0.2)
    return info


def wait_until_ready(process: subprocess.Popen, home: Home) -> dict:
    """The stack file of ``process`` once its model is RUNNING (what a user waits for)."""
    info = wait_for_stack_file(process, home)
    # local up starts the model after announcing itself; like a user, wait until it is RUNNING
    # (an image sent while it is STARTING waits on the queue for the visibility timeout, 6 min)
    from labelwatch.cli.model_cmd import wait_for_status
    from labelwatch.local.endpoint import endpoint_clients

    rekognition = endpoint_clients(info["endpoint"], info["region"])("rekognition")
    running = wait_for_status(rekognition, info["modelArn"], "RUNNING", timeout=STARTUP_SECONDS, interval=0.1)
    if running != "RUNNING":
        process.kill()
        pytest.fail("the model of local up never ran:\n" + (home.root / "local-up.out").read_text())
    return info


def trained_copy(trained_home, tmp_path_factory) -> Home:
    home = Home.resolve(tmp_path_factory.mktemp("lifecycle-home"))
    shutil.copytree(trained_home.home.models, home.models)
    return home


def test_a_session_with_local_up_status_and_down(trained_home, tmp_path_factory, tmp_path):
    """One `local up` (starting one costs seconds), used the way a second terminal would."""
    home = trained_copy(trained_home, tmp_path_factory)
    process, info = start_local_up(home)
    try:
        refuse_a_second_stack_on_the_same_home(process, home, info)
        refuse_a_busy_port(info, tmp_path)
        upload_wait_status_check_and_dlq_list(home, info, trained_home)
        stop_with_local_down_and_read_the_results_offline(process, home, info, trained_home)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def refuse_a_second_stack_on_the_same_home(process, home: Home, info: dict) -> None:
    port = urlparse(info["endpoint"]).port
    done = labelwatch(home, "local", "up", "--port", "0")
    assert done.returncode == 4, done.stderr
    assert f"already running on {home.root}: at :{port}, pid {process.pid}" in done.stderr
    assert home.read_stack() == info, "the running stack's file is untouched"
    assert process.poll() is None


def refuse_a_busy_port(info: dict, tmp_path: Path) -> None:
    port = urlparse(info["endpoint"]).port
    done = labelwatch(Home.resolve(tmp_path / "other"), "local", "up", "--port", str(port), timeout=120)
    assert done.returncode == 4, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "--port" in done.stderr
    assert "Traceback" not in done.stderr


def upload_wait_status_check_and_dlq_list(home: Home, info: dict, trained_home) -> None:
    paths = [str(path) for path, _label in trained_home.incoming[:2]]
    done = labelwatch(home, "upload", *paths, paths[0], "--prefix", "field-7", "--wait", "--timeout", "150")
    assert done.returncode == 0, done.stdout + done.stderr
    bucket = info["outputs"]["InputBucketName"]
    assert "uploaded 2 file(s)" in done.stdout, "the same path twice is uploaded once"
    assert f"s3://{bucket}/field-7/" in done.stdout, "the real destination"
    assert "outcomes: 2 ok" in done.stdout

    status = labelwatch(home, "local", "status", "--format", "json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["endpoint"] == info["endpoint"]
    assert report["model"] == trained_home.arn and report["model status"] == "RUNNING"
    assert report["failure DLQ"] == 0 and report["ingest DLQ"] == 0

    check = labelwatch(home, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "every label of interest is a label of the model" in check.stdout

    bad = labelwatch(home, "model", "start", "notanarn")
    assert bad.returncode == 4 and "Traceback" not in bad.stderr, bad.stderr

    import boto3

    sqs = boto3.client(
        "sqs",
        endpoint_url=info["endpoint"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    event = {"detail": {"bucket": {"name": bucket}, "object": {"key": "lost.jpg", "sequencer": "01"}}}
    sqs.send_message(QueueUrl=info["outputs"]["IngestDlqUrl"], MessageBody=json.dumps(event))
    first = labelwatch(home, "dlq", "list", "--format", "json")
    second = labelwatch(home, "dlq", "list", "--format", "json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == json.loads(second.stdout), "listing changes nothing it lists"
    (letter,) = json.loads(first.stdout)
    assert letter["image"] == f"s3://{bucket}/lost.jpg" and letter["deliveries"] == 12


def stop_with_local_down_and_read_the_results_offline(process, home: Home, info: dict, trained_home) -> None:
    done = labelwatch(home, "local", "down")
    assert done.returncode == 0, done.stderr
    assert f"stopped the local stack at {info['endpoint']}" in done.stdout
    assert process.wait(timeout=60) == 0
    assert home.read_stack() is None
    assert labelwatch(home, "local", "down").returncode == 3, "nothing left to stop"
    results = labelwatch(home, "results", "--format", "json")
    assert results.returncode == 0 and "showing the last local run" in results.stderr
    keys = {row["key"] for row in json.loads(results.stdout)}
    assert keys == {f"field-7/{path.name}" for path, _label in trained_home.incoming[:2]}
