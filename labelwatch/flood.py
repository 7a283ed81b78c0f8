"""Flood control as the results show it: one alert per label per folder per window, the rest held back.

The soak and the tests read the result records with this, so "at most one e-mail per label per
folder per window, every other match recorded as suppressed" is checked the same way everywhere,
whenever a run happens to cross a window's boundary. The window is the detect function's
(``functions/detect/cooldown.py``): multiples of the cooldown since the epoch, on the upload time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

Window = tuple[str, str, int]  # (label, folder, window start in epoch seconds)


def folder_of(key: str) -> str:
    return key[: key.rfind("/") + 1]


def window_of(record: dict[str, Any], minutes: int) -> Window:
    uploaded = datetime.fromisoformat(str(record["uploaded_at"]).replace("Z", "+00:00")).timestamp()
    length = minutes * 60
    label = str(record["label"]).strip().casefold()
    return label, folder_of(str(record["key"])), int(uploaded) // length * length


def matched_by_window(records: Iterable[dict[str, Any]], minutes: int) -> dict[Window, list[dict[str, Any]]]:
    """The records that matched a rule (alerted or held back), by their flood-control window."""
    windows: dict[Window, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record.get("alert") or record.get("suppressed"):
            windows[window_of(record, minutes)].append(record)
    return dict(windows)


def upload_of(record: dict[str, Any]) -> tuple[str, str | None]:
    return str(record["image"]), record.get("version_id")


def flood_problems(records: Iterable[dict[str, Any]], minutes: int) -> list[str]:
    """What breaks "one alerted upload per window, the others suppressed" (empty when it holds)."""
    problems = []
    for window, matched in sorted(matched_by_window(records, minutes).items()):
        alerted = {upload_of(record) for record in matched if record.get("alert")}
        both = [record for record in matched if record.get("alert") and record.get("suppressed")]
        if len(alerted) != 1:
            problems.append(f"{window}: {len(alerted)} uploads alerted, expected exactly 1")
        if both:
            problems.append(f"{window}: {len(both)} records both alerted and suppressed")
    return problems
