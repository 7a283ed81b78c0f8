"""``labelwatch local up`` in its own process, used by the AWS CLI and the other commands, then Ctrl-C.

This is what a user does with two terminals: one runs the stack, the other uploads and asks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from urllib.parse import urlparse

import pytest

from labelwatch.cli.app import run
from labelwatch.local.home import Home

from .test_cli_local_lifecycle import start_local_up
from .test_embedded_server import aws_cli

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local-up")]


@pytest.fixture(scope="module")
def running(trained_home, tmp_path_factory):
    """`labelwatch local up --port 0` in a child process, with the session's trained model."""
    home = Home.resolve(tmp_path_factory.mktemp("cli-home"))
    shutil.copytree(trained_home.home.models, home.models)
    process, info = start_local_up(home)
    yield process, home, info
    if process.poll() is None:
        process.kill()
        process.wait()


def cli(monkeypatch, capsys, home: Home, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("LABELWATCH_HOME", str(home.root))
    capsys.readouterr()
    code = run(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def cli_json(monkeypatch, capsys, home: Home, *args: str):
    code, out = cli(monkeypatch, capsys, home, *args, "--format", "json")
    assert code == 0, out
    return json.loads(out)


def test_every_command_works_against_the_running_local_stack(
    running, trained_home, monkeypatch, capsys, tmp_path
):
    process, home, info = running
    incoming = trained_home.incoming
    folder = tmp_path / "upload"
    folder.mkdir()
    for path, _label in incoming[:3]:
        shutil.copy(path, folder / path.name)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    bucket = info["outputs"]["InputBucketName"]
    subprocess.run(
        [aws_cli(), "s3", "cp", "--recursive", "--only-show-errors", str(folder), f"s3://{bucket}/aws-cli/"]
        + ["--endpoint-url", info["endpoint"]],
        check=True,
        env=env,
        timeout=120,
    )
    code, out = cli(
        monkeypatch, capsys, home, "upload", *[str(path) for path, _ in incoming[3:]], "--prefix", "cli"
    )
    assert code == 0, out
    assert "uploaded 3 file(s)" in out

    deadline = time.monotonic() + 120

    def uploaded_keys() -> set[str]:
        rows = cli_json(monkeypatch, capsys, home, "results", "--limit", "500")
        return {row["key"] for row in rows if row["key"].split("/")[0] in ("aws-cli", "cli")}

    while len(uploaded_keys()) < 6:
        assert time.monotonic() < deadline, "not every upload got a result"
        time.sleep(0.5)
    every_row = cli_json(monkeypatch, capsys, home, "results", "--limit", "500")
    rows = [row for row in every_row if row["key"].split("/")[0] in ("aws-cli", "cli")]
    assert {row["key"].split("/")[0] for row in rows} == {"aws-cli", "cli"}
    assert all(row["status"] == "ok" for row in rows)

    label_counts = cli_json(monkeypatch, capsys, home, "query", "--named", "label_counts")
    detected = sum(int(row["detections"]) for row in label_counts)
    assert detected == len(every_row), "the named query counts every result line"
    sql = "SELECT count(DISTINCT key) AS n FROM labelwatch.results WHERE regexp_like(key, '^(aws-)?cli/')"
    (images,) = cli_json(monkeypatch, capsys, home, "query", sql)
    assert images["n"] == 6

    alerting = {row["key"] for row in rows if row["alert"]}
    code, out = cli(monkeypatch, capsys, home, "alerts", "--limit", "50")
    assert code == 0, out
    assert len(list(home.outbox.glob("*.eml"))) >= len(alerting)

    report = tmp_path / "report.html"
    code, out = cli(monkeypatch, capsys, home, "report", "--output", str(report))
    assert code == 0, out
    html = report.read_text()
    assert "<svg" in html and "leaf" in html
    if alerting:
        assert "data:image/jpeg;base64," in html, "latest alerts show thumbnails"
        # local up prints each alert's page link whole; it opens while the stack runs
        printed = (home.root / "local-up.out").read_text()
        page = re.search(r"^ +page: (http://\S+\?view)$", printed, flags=re.MULTILINE)
        assert page, printed[-2000:]
        with urllib.request.urlopen(page.group(1), timeout=30) as response:
            assert response.status == 200 and response.headers["Content-Type"].startswith("text/html")

    code, out = cli(monkeypatch, capsys, home, "dlq", "list")
    assert code == 0 and "both dead-letter queues are empty" in out, out

    # the execution log group, as on AWS: one image's path, and the executions that had it
    key = rows[0]["key"]
    page = tmp_path / "trace.html"
    code, out = cli(monkeypatch, capsys, home, "trace", key, "--html", str(page))
    assert code == 0, out
    assert f"image:     {key}" in out and "outcome:   Done" in out
    assert 'id="state-DetectLabels"' in page.read_text() and "<svg" in page.read_text()
    assert re.search(r"^  DetectLabels +\d+ ms", out, flags=re.MULTILINE), out
    listed = cli_json(monkeypatch, capsys, home, "executions", "--image", key)
    assert len(listed) == 1 and listed[0]["status"] == "SUCCEEDED" and f"{key}: Done" in listed[0]["outcomes"]
    code, out = cli(monkeypatch, capsys, home, "trace", listed[0]["execution"])
    assert code == 0 and f"  {key}: Done" in out, out

    code, out = cli(monkeypatch, capsys, home, "model", "stop", "--wait")
    assert code == 0 and "STOPPING" in out and "STOPPED" in out, out  # as on AWS, a stop takes a while
    code, out = cli(monkeypatch, capsys, home, "model", "status")
    assert "STOPPED" in out, out
    code, out = cli(monkeypatch, capsys, home, "model", "start", "--wait")
    assert code == 0 and "RUNNING" in out, out


def test_ctrl_c_stops_the_stack_cleanly(running, trained_home, monkeypatch, capsys):
    process, home, info = running
    path, _label = trained_home.incoming[0]
    code, out = cli(monkeypatch, capsys, home, "upload", str(path), "--prefix", "before-ctrl-c")
    assert code == 0, out
    deadline = time.monotonic() + 120
    while not any(
        row["key"].startswith("before-ctrl-c/")
        for row in cli_json(monkeypatch, capsys, home, "results", "--limit", "500")
    ):
        assert time.monotonic() < deadline, "the upload got no result"
        time.sleep(0.5)

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    output = (home.root / "local-up.out").read_text()
    assert "local stack stopped" in output
    assert info["endpoint"] in output, "the endpoint is printed for other programs"
    assert "image processed" not in output, "handler logs go to the function log file"
    assert any("image processed" in path.read_text() for path in home.logs.glob("*.log"))
    assert home.read_stack() is None, "the stack file is removed"
    endpoint = urlparse(info["endpoint"])
    with pytest.raises(OSError):
        socket.create_connection((endpoint.hostname, endpoint.port), timeout=1).close()
