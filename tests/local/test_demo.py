"""``labelwatch demo`` end to end, small: it must account for every image and leave nothing running."""

from __future__ import annotations

import email
import email.policy
import re
import threading

import pytest

from labelwatch.cli import demo_cmd
from labelwatch.cli.app import run
from labelwatch.cli.console import console
from labelwatch.local.home import Home

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("local-stack")]


def test_demo_runs_everything_and_leaves_nothing_running(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LABELWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(console, "width", 250)
    threads_before = {thread.ident for thread in threading.enumerate()}

    clicked: list[tuple[int, str, int]] = []

    def click_the_first_alert_then_ctrl_c() -> None:
        (mail, *_rest) = sorted(Home.resolve(tmp_path / "home").outbox.glob("*.eml"))
        body = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default).get_content()
        photo = re.search(r"^(http://\S+/i/\S+)$", body, flags=re.MULTILINE).group(1)
        clicked.append(demo_cmd.opened(photo))

    monkeypatch.setattr(demo_cmd, "wait_until_interrupted", click_the_first_alert_then_ctrl_c)
    argv = ["demo", "--images", "9", "--per-label", "6", "--size", "128", "--seed", "3", "--keep-up"]
    code = run(argv)

    out = capsys.readouterr().out
    assert code == 0, out
    assert "outcomes: 9 ok" in out, "every uploaded image has exactly one outcome"
    accuracy = re.search(r"model accuracy on the incoming photos: (\d+)/(\d+)", out)
    assert accuracy and accuracy.group(2) == "9"
    assert "label_counts" in out and "detections" in out
    # one alert's links, opened by the demo while its stack ran: the photo and its page
    assert re.search(r"one alert's links \(checked: the photo opens as image/jpeg \([\d,]+ bytes\)", out)
    photo = re.search(r"photo: (http://\S+/i/[A-Za-z0-9_-]{54})$", out, flags=re.MULTILINE)
    assert photo and len(photo.group(1)) <= 200 and f"page:  {photo.group(1)}?view" in out
    # --keep-up: a link from the outbox opens while the stack stays up, until Ctrl-C
    assert "The stack keeps serving at http://127.0.0.1:" in out
    assert [(status, kind) for status, kind, _ in clicked] == [(200, "image/jpeg")]
    home = Home.resolve(tmp_path / "home")
    report = home.reports / "demo-report.html"
    assert report.is_file() and "<svg" in report.read_text()
    assert home.read_stack() is None
    leftover = [t for t in threading.enumerate() if t.ident not in threads_before and t.is_alive()]
    assert not [t.name for t in leftover if not t.daemon or t.name.startswith("local-pipe")]
