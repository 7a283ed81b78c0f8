"""Flood control's window for one alert: which DynamoDB item the workflow's CheckCooldown state claims.

At most one alert per label per folder per window (``alertCooldownMinutes``; docs/flood-control.md).
Windows are aligned to multiples of the cooldown since the epoch, on the image's *upload* time, so a
redelivery or a redrive of an upload lands in the same window as its first delivery (idempotent),
and the digest names whole windows ("between 10:00 and 11:00"). The folder is the key up to its
last ``/``; the item's key is a digest of the label and the folder (a folder can be 1 KB of UTF-8).

The digest of a window's suppressed matches is due once no execution can add to it any more: the
later of the window's end and this detection, plus an Express execution's 5 minutes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .event import iso_utc
from .rules import normalise_name

EXPRESS_LIMIT = timedelta(minutes=5)  # no execution that detected before then is still running after


def folder_of(key: str) -> str:
    """``field-7/leaf.jpg`` -> ``field-7/``; a top-level key -> ``""``."""
    return key[: key.rfind("/") + 1]


@dataclass(frozen=True)
class CooldownWindow:
    pk: str
    label: str
    folder: str
    bucket: str
    window_start: datetime
    window_end: datetime
    digest_due: datetime
    expires_at: int  # epoch seconds: the item's TTL

    def payload(self) -> dict[str, Any]:
        """What the workflow's CheckCooldown and RecordSuppressed states write (docs/contracts.md)."""
        return {
            "pk": self.pk,
            "label": self.label,
            "folder": self.folder,
            "bucket": self.bucket,
            "windowStart": iso_utc(self.window_start),
            "windowEnd": iso_utc(self.window_end),
            "digestDue": iso_utc(self.digest_due),
            "expiresAt": self.expires_at,
        }


def cooldown_window(
    *,
    label: str,
    bucket: str,
    key: str,
    uploaded_at: datetime,
    detected_at: datetime,
    minutes: int,
    retention_days: int,
) -> CooldownWindow:
    """The window of ``minutes`` holding ``uploaded_at`` for this label in this key's folder."""
    if minutes < 1:
        raise ValueError(f"a cooldown window lasts at least 1 minute, got {minutes}")
    length = minutes * 60
    start_epoch = int(uploaded_at.timestamp()) // length * length
    start = datetime.fromtimestamp(start_epoch, UTC)
    end = start + timedelta(seconds=length)
    folder = folder_of(key)
    scope = hashlib.sha256(f"{normalise_name(label)}\n{folder}".encode()).hexdigest()[:40]
    return CooldownWindow(
        pk=f"window#{scope}#{iso_utc(start)}",
        label=label,
        folder=folder,
        bucket=bucket,
        window_start=start,
        window_end=end,
        digest_due=max(end, detected_at.astimezone(UTC)) + EXPRESS_LIMIT,
        expires_at=int((end + timedelta(days=retention_days)).timestamp()),
    )
