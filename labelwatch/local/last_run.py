"""What a stopped local stack leaves readable: its results, saved to disk when it stops.

The embedded AWS lives in memory, so ``labelwatch results`` / ``query`` / ``report`` after
``labelwatch demo`` (or after Ctrl-C on ``local up``) would have nothing to read. On stop the stack
copies its result objects to ``LABELWATCH_HOME/last-run/`` (replacing the previous run's copy);
those commands read that copy when no stack is running and say so. The alert e-mails are already
on disk (the outbox).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labelwatch.analytics.results_source import ResultObject, iter_result_objects
from labelwatch.local.home import Home

INFO_FILE = "run.json"
RESULTS_DIR = "results"


@dataclass(frozen=True)
class SavedRun:
    root: Path
    stopped: str  # ISO 8601 UTC
    endpoint: str
    outputs: dict[str, str]
    objects: int

    def result_objects(self) -> Iterator[ResultObject]:
        base = self.root / RESULTS_DIR
        for path in sorted(base.rglob("*.json")):
            yield ResultObject(key=path.relative_to(base).as_posix(), body=path.read_bytes())

    def describe(self) -> str:
        return f"the last local run (stopped {self.stopped}, saved in {self.root})"


def save(home: Home, client: Callable[[str], Any], outputs: dict[str, str], endpoint: str) -> SavedRun:
    """Copy every result object of the running stack to ``home.last_run`` (atomically replaced)."""
    target = home.last_run
    staging = target.with_name(target.name + ".saving")
    shutil.rmtree(staging, ignore_errors=True)
    count = 0
    for obj in iter_result_objects(client("s3"), outputs["ResultsBucketName"]):
        path = staging / RESULTS_DIR / obj.key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(obj.body)
        count += 1
    info = {
        "stopped": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "endpoint": endpoint,
        "outputs": outputs,
        "objects": count,
    }
    staging.mkdir(parents=True, exist_ok=True)
    (staging / INFO_FILE).write_text(json.dumps(info, indent=2))
    shutil.rmtree(target, ignore_errors=True)
    staging.replace(target)
    return load(home)  # type: ignore[return-value]


def load(home: Home) -> SavedRun | None:
    try:
        info = json.loads((home.last_run / INFO_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return SavedRun(
        root=home.last_run,
        stopped=info.get("stopped", "?"),
        endpoint=info.get("endpoint", ""),
        outputs=info.get("outputs", {}),
        objects=int(info.get("objects", 0)),
    )
