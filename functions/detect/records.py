"""Result records: NDJSON, one line per detected label (the Athena contract: README, "Result records")."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .event import iso_utc
from .keys import s3_uri
from .labels import Label


def build_records(
    *,
    bucket: str,
    key: str,
    version_id: str | None,
    image_format: str | None,
    labels: list[Label],
    is_alert: Callable[[Label], bool],
    threshold_for: Callable[[Label], float | None],
    status: str,
    reason: str | None,
    model: str,
    uploaded_at: datetime,
    detected_at: datetime,
    execution: str | None,
    width: int | None,
    height: int | None,
    normalised: str | None,
) -> list[dict[str, Any]]:
    """One record per label; an image without labels (or a rejected one) gets one with label null.

    ``version_id`` and ``image_format`` (as sniffed from the bytes; empty or None when the image was
    refused before) name the exact upload and its media type: what an image link serves.
    """
    common = {
        "image": s3_uri(bucket, key),
        "bucket": bucket,
        "key": key,
    }
    identity = {"version_id": version_id, "image_format": image_format or None}
    tail = {
        "status": status,
        "reason": reason,
        "model": model,
        "uploaded_at": iso_utc(uploaded_at),
        "detected_at": iso_utc(detected_at),
        "execution": execution,
        "width": width,
        "height": height,
    }

    def record(
        label: str | None, confidence: float | None, alert: bool, threshold: float | None, geometry: Any
    ) -> dict[str, Any]:
        """One line, its fields in the Glue table's order (infra/results_schema.py)."""
        return {
            **common,
            "label": label,
            "confidence": confidence,
            "alert": alert,
            "suppressed": False,  # flood control: the workflow's ApplyCooldown sets it (cooldown.py)
            "rule_threshold": threshold,
            **tail,
            "geometry": geometry,
            "normalised": normalised,
            **identity,
        }

    if not labels:
        return [record(None, None, False, None, None)]
    return [
        record(label.name, label.confidence, is_alert(label), threshold_for(label), label.geometry)
        for label in labels
    ]


def to_ndjson(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
