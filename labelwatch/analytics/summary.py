"""The numbers a report shows, computed from result records (plain Python, no SQL engine).

Counting rules (the same as the named queries):

- An *image* is one upload: the records sharing ``image`` and ``uploaded_at`` (one result object).
- *Alerts sent* counts images with at least one ``alert`` record: one e-mail per image, however
  many labels matched (``alerts_per_day.sql``).
- *Detections* count records of ``ok`` images (one per label and box; ``label_counts.sql``).
- The label mix chart counts each ``ok`` image once, under its *top label* (its most confident
  one; ``(none)`` when the model returned nothing): that is what a person sees when they open the
  photo, and it is not inflated by object-detection models returning a label once per box.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

NONE_LABEL = "(none)"
NO_REASON = "(no reason given)"
CONFIDENCE_BIN = 10  # histogram bin width, percent


@dataclass(frozen=True)
class LabelStats:
    label: str
    detections: int
    alerts: int
    avg_confidence: float | None
    max_confidence: float | None
    top_label_images: int  # ok images whose most confident label this is


@dataclass(frozen=True)
class AlertRow:
    uploaded_at: str
    label: str
    confidence: float | None
    image: str


@dataclass(frozen=True)
class DayStats:
    day: str
    images: int
    alerts: int


@dataclass
class Summary:
    records: int = 0
    images: int = 0
    ok: int = 0
    rejected: int = 0
    alerts_sent: int = 0
    labels_seen: list[str] = field(default_factory=list)
    labels: list[LabelStats] = field(default_factory=list)  # by top_label_images, detections, name
    rejected_reasons: list[tuple[str, int]] = field(default_factory=list)  # most frequent first
    days: list[DayStats] = field(default_factory=list)  # every day from the first to the last dt
    confidence_bins: list[str] = field(default_factory=list)  # "0–10", ...
    confidence_by_label: dict[str, list[int]] = field(default_factory=dict)  # label -> count per bin
    latest_alerts: list[AlertRow] = field(default_factory=list)
    first_day: str | None = None
    last_day: str | None = None


def _confidence(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _label(value: Any) -> str | None:
    return None if value is None else str(value)


def _when(value: Any) -> datetime:
    """For sorting: an ISO-8601 time, unparsable ones first."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return datetime.min
    return parsed if parsed.tzinfo is None else parsed.astimezone(UTC).replace(tzinfo=None)


def _day_range(days: list[str], limit: int) -> list[str]:
    """Every day between the first and the last (the last ``limit`` of them)."""
    try:
        first, last = date.fromisoformat(min(days)), date.fromisoformat(max(days))
    except ValueError:
        return sorted(set(days))[-limit:]
    count = min((last - first).days + 1, limit)
    return [(last - timedelta(days=offset)).isoformat() for offset in reversed(range(count))]


def summarize(records: list[dict[str, Any]], *, latest: int = 20, max_days: int = 92) -> Summary:
    summary = Summary(records=len(records))
    if not records:
        return summary

    uploads: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        uploads[(str(record.get("image")), str(record.get("uploaded_at")))].append(record)

    top_labels: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    images_per_day: Counter[str] = Counter()
    alerts_per_day: Counter[str] = Counter()
    for group in uploads.values():
        first = group[0]
        day = str(first.get("dt") or "")
        images_per_day[day] += 1
        if any(record.get("alert") is True for record in group):
            summary.alerts_sent += 1
            alerts_per_day[day] += 1
        if first.get("status") == "rejected":
            summary.rejected += 1
            reasons[str(first.get("reason") or NO_REASON)] += 1
            continue
        if first.get("status") == "ok":
            summary.ok += 1
            labelled = [
                (_confidence(record.get("confidence")) or 0.0, _label(record.get("label")))
                for record in group
                if record.get("label") is not None
            ]
            # most confident first; ties by name
            top = min(labelled, key=lambda item: (-item[0], item[1]))[1] if labelled else NONE_LABEL
            top_labels[top] += 1
    summary.images = len(uploads)

    ok_records = [record for record in records if record.get("status") == "ok"]
    detections: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in ok_records:
        detections[_label(record.get("label")) or NONE_LABEL].append(record)
    stats = []
    for label, group in detections.items():
        confidences = [
            c for c in (_confidence(record.get("confidence")) for record in group) if c is not None
        ]
        stats.append(
            LabelStats(
                label=label,
                detections=len(group),
                alerts=sum(1 for record in group if record.get("alert") is True),
                avg_confidence=sum(confidences) / len(confidences) if confidences else None,
                max_confidence=max(confidences) if confidences else None,
                top_label_images=top_labels.get(label, 0),
            )
        )
    summary.labels = sorted(stats, key=lambda s: (-s.top_label_images, -s.detections, s.label))
    summary.labels_seen = sorted(label for label in detections if label != NONE_LABEL)
    summary.rejected_reasons = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))

    days = [day for day in images_per_day if day]
    if days:
        summary.first_day, summary.last_day = min(days), max(days)
        summary.days = [
            DayStats(day=day, images=images_per_day.get(day, 0), alerts=alerts_per_day.get(day, 0))
            for day in _day_range(days, max_days)
        ]

    bins = 100 // CONFIDENCE_BIN
    summary.confidence_bins = [f"{i * CONFIDENCE_BIN}–{(i + 1) * CONFIDENCE_BIN}" for i in range(bins)]
    for stat in sorted(stats, key=lambda s: (-s.detections, s.label)):
        counts = [0] * bins
        for record in detections[stat.label]:
            confidence = _confidence(record.get("confidence"))
            if confidence is not None:
                counts[min(max(int(confidence // CONFIDENCE_BIN), 0), bins - 1)] += 1
        if any(counts):
            summary.confidence_by_label[stat.label] = counts

    alerting = [record for record in records if record.get("alert") is True]
    alerting.sort(
        key=lambda record: (_when(record.get("uploaded_at")), _confidence(record.get("confidence")) or 0.0),
        reverse=True,
    )
    summary.latest_alerts = [
        AlertRow(
            uploaded_at=str(record.get("uploaded_at") or ""),
            label=_label(record.get("label")) or NONE_LABEL,
            confidence=_confidence(record.get("confidence")),
            image=str(record.get("image") or ""),
        )
        for record in alerting[:latest]
    ]
    return summary
