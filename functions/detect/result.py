"""The detection result: the one contract between the detect function and the workflow.

``Detection`` is what ``process_image`` returns; ``payload()`` is the Lambda's return value, the
state the workflow reads as ``$.detection.*`` (docs/contracts.md shows it; tests check that the
document, the exported definition and the handler's tests name exactly ``PAYLOAD_KEYS``).

The payload travels through Step Functions, whose states hold at most 256 KiB: over it the state
fails with ``States.DataLimitExceeded``, which no Catch of ``States.ALL`` takes, and with it the
whole batch. An object-detection model returns a label per box, and every result record repeats
the key (up to 1,024 bytes, which the Lambda runtime's JSON writes as up to 6 bytes per byte in
``\\u`` escapes). So labels are capped (``MAX_LABELS``, DetectCustomLabels' ``MaxResults``) and
``fit_to_budget`` keeps the payload within ``PAYLOAD_BUDGET`` bytes as serialized: beyond it the
lowest-confidence labels are left out of the records (``labelsOmitted`` counts them), those that
matched no rule first, then further boxes of an alerted label, never an alerted label's best one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .records import to_ndjson

# The workflow's iteration state also holds the upload event (the URL-encoded key several times):
# the payload keeps clear of the 256 KiB limit with room for it.
PAYLOAD_BUDGET = 200 * 1024


@dataclass(frozen=True)
class LabelSeen:
    name: str
    confidence: float


@dataclass(frozen=True)
class MatchSeen:
    name: str
    confidence: float
    threshold: float


@dataclass(frozen=True)
class AlertOut:
    """One label's alert: the workflow publishes one per label of interest that matched, unless
    flood control holds it back (``cooldown``: its window, None with ``alertCooldownMinutes`` 0)."""

    label: str  # the rule's label name as configured
    labels: str  # JSON array string of it: SNS's String.Array attribute, what filter policies name
    subject: str
    message: str
    cooldown: dict[str, Any] | None = None


def _key(name: str) -> dict[str, str]:
    return {"key": name}


@dataclass(frozen=True)
class Detection:
    """One image's outcome; field metadata ``key`` is the payload's (camelCase) name."""

    image_id: str = field(metadata=_key("imageId"))
    image: str = field(metadata=_key("image"))
    status: str = field(metadata=_key("status"))  # "ok" | "rejected"
    reason: str | None = field(metadata=_key("reason"))
    normalised: str | None = field(metadata=_key("normalised"))
    labels: tuple[LabelSeen, ...] = field(metadata=_key("labels"))
    matches: tuple[MatchSeen, ...] = field(metadata=_key("matches"))
    alert: bool = field(metadata=_key("alert"))
    alerts: tuple[AlertOut, ...] = field(metadata=_key("alerts"))  # one per matched label of interest
    result_key: str = field(metadata=_key("resultKey"))
    result_body: str = field(metadata=_key("resultBody"))  # NDJSON result records
    claim_expires_at: int = field(metadata=_key("claimExpiresAt"))
    labels_omitted: int = field(default=0, metadata=_key("labelsOmitted"))

    def payload(self) -> dict[str, Any]:
        """The Lambda's return value (docs/contracts.md, "DetectLabels: output")."""
        out: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, tuple):
                value = [vars(entry).copy() for entry in value]
            out[item.metadata["key"]] = value
        return out

    def payload_bytes(self) -> int:
        """Its size as the Lambda runtime serializes it (json.dumps: non-ASCII as \\u escapes)."""
        return len(json.dumps(self.payload()))


PAYLOAD_KEYS: tuple[str, ...] = tuple(item.metadata["key"] for item in fields(Detection))


def fit_to_budget(detection: Detection, records: list[dict[str, Any]]) -> Detection:
    """``detection`` within ``PAYLOAD_BUDGET``. Records leave the records and the labels until it
    fits, lowest confidence first: those of labels that matched no rule, then further boxes of an
    alerted label (its highest-confidence record stays: the alert names every alerted label).
    ``records`` are the result records its ``result_body`` was made from, highest confidence first.
    """
    excess = detection.payload_bytes() - PAYLOAD_BUDGET
    if excess <= 0:
        return detection
    first_of_label: dict[str, int] = {}
    for index, record in enumerate(records):
        if record.get("label"):
            first_of_label.setdefault(record["label"], index)
    lowest_first = range(len(records) - 1, -1, -1)
    order = [i for i in lowest_first if records[i].get("label") and not records[i]["alert"]] + [
        i for i in lowest_first if records[i]["alert"] and first_of_label[records[i]["label"]] != i
    ]
    dropped: set[int] = set()
    labels = list(detection.labels)
    for index in order:
        if excess <= 0:
            break
        record = records[index]
        excess -= len(json.dumps(to_ndjson([record]))) - 2  # its line as the payload holds it
        excess -= len(json.dumps(vars(LabelSeen(record["label"], record["confidence"])))) + 2
        labels = _without(labels, record["label"], record["confidence"])
        dropped.add(index)
    kept = [record for index, record in enumerate(records) if index not in dropped]
    return replace(
        detection,
        labels=tuple(labels),
        result_body=to_ndjson(kept),
        labels_omitted=detection.labels_omitted + len(dropped),
    )


def _without(labels: list[LabelSeen], name: str, confidence: float) -> list[LabelSeen]:
    for index in range(len(labels) - 1, -1, -1):
        if labels[index].name == name and labels[index].confidence == confidence:
            return labels[:index] + labels[index + 1 :]
    return labels
