"""Running the labelwatch command in the test's own process, as a wide terminal would show it."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelwatch.cli.app import run
from labelwatch.cli.console import console, err_console


def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh LABELWATCH_HOME, and consoles wide enough that asserted text is not wrapped."""
    monkeypatch.setenv("LABELWATCH_HOME", str(tmp_path / "home"))
    for output in (console, err_console):
        monkeypatch.setattr(output, "width", 250)
    return tmp_path / "home"


def invoke(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """The exit code and everything printed (stdout, then stderr)."""
    capsys.readouterr()
    code = run(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err
