"""``labelwatch demo`` end to end, small: it must account for every image and leave nothing running."""

from __future__ import annotations

import re
import threading

import pytest

from labelwatch.cli.app import run
from labelwatch.cli.console import console
from labelwatch.local.home import Home

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local-stack")]


def test_demo_runs_everything_and_leaves_nothing_running(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LABELWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(console, "width", 250)
    threads_before = {thread.ident for thread in threading.enumerate()}

    code = run(["demo", "--images", "9", "--per-label", "6", "--size", "128", "--seed", "3"])

    out = capsys.readouterr().out
    assert code == 0, out
    assert "outcomes: 9 ok" in out, "every uploaded image has exactly one outcome"
    accuracy = re.search(r"model accuracy on the incoming photos: (\d+)/(\d+)", out)
    assert accuracy and accuracy.group(2) == "9"
    assert "label_counts" in out and "detections" in out
    home = Home.resolve(tmp_path / "home")
    report = home.reports / "demo-report.html"
    assert report.is_file() and "<svg" in report.read_text()
    assert home.read_stack() is None
    leftover = [t for t in threading.enumerate() if t.ident not in threads_before and t.is_alive()]
    assert not [t.name for t in leftover if not t.daemon or t.name.startswith("local-pipe")]
