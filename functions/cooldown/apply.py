"""Apply flood control's decisions to one image's detection (the workflow's ApplyCooldown state).

CheckCooldowns decides, per label of interest that matched, whether this image holds its window's
one alert or is held back (DynamoDB conditional updates, visible in the graph). This turns those
decisions into what the rest of the workflow writes and sends: the result records of a held-back
label say ``alert = false, suppressed = true``, and only the alerts not held back stay to be
published. Everything else of the detection passes through unchanged.

It is a function and not a Pass state because ASL cannot rewrite lines of NDJSON; the result stays
one object per image, written once, before any alert goes out (statemachine/definition.py).
"""

from __future__ import annotations

import json
from typing import Any

from detect.rules import normalise_name


def held_back(decisions: list[dict[str, Any]]) -> set[str]:
    """The (normalised) labels whose alert the cooldown held back."""
    labels: set[str] = set()
    for decision in decisions:
        if not isinstance(decision, dict) or not isinstance(decision.get("label"), str):
            raise ValueError(
                f"a cooldown decision must be {{'label': str, 'suppressed': bool}}, got {decision!r}"
            )
        if decision.get("suppressed") is True:
            labels.add(normalise_name(decision["label"]))
    return labels


def suppress_records(result_body: str, labels: set[str]) -> str:
    """The NDJSON result records with each alerted record of ``labels`` marked suppressed instead."""
    if not labels:
        return result_body
    lines = []
    for line in result_body.splitlines():
        record = json.loads(line)
        name = record.get("label")
        if record.get("alert") and isinstance(name, str) and normalise_name(name) in labels:
            record["alert"] = False
            record["suppressed"] = True
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    return "".join(lines)


def apply_cooldown(detection: dict[str, Any], decisions: list[dict[str, Any]]) -> dict[str, Any]:
    """``detection`` (DetectLabels' output) after the cooldown's ``decisions``: the same contract,
    with ``resultBody`` rewritten, ``alerts`` keeping only those to publish and ``alert`` saying
    whether any is left."""
    if not isinstance(detection, dict) or not isinstance(detection.get("resultBody"), str):
        raise ValueError("the detection must be DetectLabels' output, with its resultBody")
    labels = held_back(decisions)
    alerts = [
        alert for alert in detection.get("alerts") or [] if normalise_name(alert["label"]) not in labels
    ]
    body = suppress_records(detection["resultBody"], labels)
    return {**detection, "resultBody": body, "alerts": alerts, "alert": bool(alerts)}
