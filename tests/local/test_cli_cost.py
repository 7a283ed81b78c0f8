"""The installed ``labelwatch cost``, run as a person or a script runs it: its tables, its machine
formats on stdout, and one-line usage errors with exit 2."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ENTRY_POINT = str(Path(sys.executable).with_name("labelwatch"))
TITLES = (
    "(a) 2,000 images/day in 2 bursts",
    "(b) 50,000 images/day, steady",
    "(c) 1,000,000 images/day, steady",
)


def labelwatch(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "LABELWATCH_HOME": str(tmp_path / "home")}
    environment.pop("COLUMNS", None)
    return subprocess.run(
        [ENTRY_POINT, *args], env=environment, capture_output=True, text=True, timeout=60, check=False
    )


def test_it_prints_the_three_workloads_tables(tmp_path):
    done = labelwatch("cost", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for title in TITLES:
        assert title in out
    assert out.count("Per 1,000 images") == 3 and out.count("Total") == 3
    assert "on-demand*" in out and "always-on" in out and "original" in out
    assert "us-east-1" in out and "as of 2026-12-01" in out
    assert "…" not in out and "..." not in out, "nothing is cut"
    assert "$2,922.00" in out  # one unit left on for a month


def test_json_is_valid_on_stdout(tmp_path):
    done = labelwatch("cost", "--format", "json", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["region"] == "us-east-1" and data["prices_as_of"] == "2026-12-01"
    assert [w["key"] for w in data["workloads"]] == ["a", "b", "c"]
    designs = data["workloads"][0]["designs"]
    assert designs["on-demand"]["total_usd"] < designs["always-on"]["total_usd"]
    assert data["unconfirmed_prices"] and not done.stderr


def test_csv_parses(tmp_path):
    done = labelwatch(
        "cost", "--images-per-day", "2000", "--bursts-per-day", "2", "--format", "csv", tmp_path=tmp_path
    )
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert {row["design"] for row in rows} == {"on-demand", "always-on", "original"}
    totals = {row["design"]: float(row["monthly_usd"]) for row in rows if row["component"] == "Total"}
    assert totals["on-demand"] < totals["always-on"]


@pytest.mark.parametrize(
    "args, words",
    [
        (["--alert-share", "2"], ["--alert-share 2", "between 0 and 1"]),
        (["-c", "bogusParameter=1"], ["-c bogusParameter", "not a stack parameter"]),
        (["--images-per-day", "10", "--bursts-per-day", "-1"], ["--bursts-per-day -1", "0 or more"]),
    ],
    ids=["alert-share", "unknown -c name", "negative bursts"],
)
def test_bad_options_are_one_line_with_exit_2(args, words, tmp_path):
    done = labelwatch("cost", *args, tmp_path=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0]
