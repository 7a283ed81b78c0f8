"""One self-contained HTML report over result records: opens offline, in any browser, years later.

No scripts, no external fonts, styles or images: inline CSS, hand-written SVG charts and thumbnails
as ``data:`` URIs. A Content-Security-Policy forbids the page any network access. Counting rules are
in ``summary.py`` (the label mix counts each image under its most confident label).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from .charts import MUTED, PALETTE, Series, column_chart, hbar_chart
from .summary import Summary, summarize
from .thumbnails import MAX_SIZE, thumbnail_data_uri

MAX_HISTOGRAM_SERIES = 6  # labels shown separately in the confidence histogram; the rest is "other"
ALERT_COLOR = "#c44e52"

_CSS = """
:root { --ink: #22303c; --muted: #64748b; --line: #e2e8f0; --card: #ffffff; --bg: #f4f6f9;
        --accent: #2f6f9f; --alert: #c44e52; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background: #1f3447; color: #fff; padding: 28px 40px 24px; }
header h1 { margin: 0 0 4px; font-size: 24px; font-weight: 600; letter-spacing: .2px; }
header p { margin: 2px 0; color: #c5d3e0; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 40px 40px; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 14px;
        margin-bottom: 22px; }
.kpi { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 18px; }
.kpi .value { font-size: 30px; font-weight: 650; font-variant-numeric: tabular-nums; }
.kpi .name { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .6px; }
.kpi .note { color: var(--muted); font-size: 12px; }
.kpi.alert .value { color: var(--alert); }
.kpi.rejected .value { color: #b8860b; }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
               padding: 18px 22px; margin-bottom: 20px; break-inside: avoid; }
section.card h2 { margin: 0 0 4px; font-size: 17px; font-weight: 600; }
p.hint { margin: 0 0 14px; color: var(--muted); font-size: 13px; }
.grid2 { display: grid; grid-template-columns: 1.4fr 1fr; gap: 20px; }
@media (max-width: 900px) {
  .grid2 { grid-template-columns: 1fr; }
  main, header { padding-left: 18px; padding-right: 18px; }
}
svg.chart { display: block; max-width: 100%; height: auto; }
svg.chart text { font-size: 12px; fill: #33414e; }
svg.chart text.tick { fill: #6b7785; font-size: 11px; }
svg.chart text.value { fill: #4a5663; font-size: 11px; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th { text-align: left; font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase;
     letter-spacing: .4px; border-bottom: 2px solid var(--line); padding: 6px 8px; }
td { border-bottom: 1px solid var(--line); padding: 6px 8px; vertical-align: middle; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.path { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px;
          word-break: break-all; color: #475569; }
td.time { white-space: nowrap; font-variant-numeric: tabular-nums; }
.tag { display: inline-block; padding: 1px 8px; border-radius: 999px; background: #fdecec; color: #9b2c2c;
       font-weight: 600; font-size: 12px; }
.thumb { display: block; width: 96px; height: 72px; object-fit: cover; border-radius: 6px;
         border: 1px solid var(--line); }
.thumb.placeholder { display: flex; align-items: center; justify-content: center; background: #eef2f6;
                     color: #94a3b8; font-size: 11px; text-align: center; }
.empty { background: var(--card); border: 1px dashed #cbd5e1; border-radius: 10px; padding: 40px;
         text-align: center; color: var(--muted); font-size: 16px; }
.quiet { color: var(--muted); }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 0 0 30px; }
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _time(value: str) -> str:
    """``2026-11-25T10:00:00Z`` -> ``2026-11-25 10:00:00`` (UTC); anything else as it is."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.strftime("%Y-%m-%d %H:%M:%S")


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def _confidence(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}%"


def _kpis(summary: Summary) -> str:
    cards = [
        ("", "Images processed", summary.images, f"{summary.records:,} result records"),
        ("", "OK", summary.ok, f"{_pct(summary.ok, summary.images)} of images"),
        ("rejected", "Rejected", summary.rejected, f"{_pct(summary.rejected, summary.images)} of images"),
        ("alert", "Alerts sent", summary.alerts_sent,
         f"{_pct(summary.alerts_sent, summary.ok)} of OK images"),
        ("", "Labels seen", len(summary.labels_seen), ", ".join(summary.labels_seen[:4])
         + (" …" if len(summary.labels_seen) > 4 else "")),
    ]  # fmt: skip
    return (
        '<section class="kpis">'
        + "".join(
            f'<div class="kpi {cls}"><div class="name">{_e(name)}</div><div class="value">{value:,}</div>'
            f'<div class="note">{_e(note)}</div></div>'
            for cls, name, value, note in cards
        )
        + "</section>"
    )


def _label_mix(summary: Summary) -> str:
    top = [(stat.label, stat.top_label_images) for stat in summary.labels if stat.top_label_images]
    chart = (
        hbar_chart(top, label="OK images by their most confident label", width=520)
        if top
        else '<p class="quiet">No OK images yet.</p>'
    )
    rows = "".join(
        f"<tr><td>{_e(stat.label)}</td><td class='num'>{stat.top_label_images:,}</td>"
        f"<td class='num'>{stat.detections:,}</td><td class='num'>{stat.alerts:,}</td>"
        f"<td class='num'>{_confidence(stat.avg_confidence)}</td>"
        f"<td class='num'>{_confidence(stat.max_confidence)}</td></tr>"
        for stat in summary.labels
    )
    table = (
        "<table><thead><tr><th>Label</th><th class='num'>Images (top)</th><th class='num'>Detections</th>"
        "<th class='num'>Alerts</th><th class='num'>Avg conf.</th><th class='num'>Max conf.</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
    return (
        '<section class="card"><h2>Label mix</h2><p class="hint">Each OK image counts once, under its most '
        "confident label (<em>(none)</em>: the model found nothing). The table also counts every detection "
        "(one per label, and per box for object-detection models) as the <code>label_counts</code> "
        f'query does.</p><div class="grid2"><div>{chart}</div><div>{table}</div></div></section>'
    )


def _rejections(summary: Summary) -> str:
    if not summary.rejected_reasons:
        body = '<p class="quiet">No image was rejected.</p>'
    else:
        body = hbar_chart(
            summary.rejected_reasons, label="Rejected images by reason", color="#b8860b", width=520
        )
    return (
        '<section class="card"><h2>Rejected images</h2><p class="hint">Uploads the pipeline could not '
        f"classify, by reason code (e.g. unsupported format, too large, missing object).</p>{body}</section>"
    )


def _per_day(summary: Summary) -> str:
    days = summary.days
    if not days:
        return ""
    chart = column_chart(
        [day.day for day in days],
        [
            Series("Images processed", [day.images for day in days], MUTED),
            Series("Alerts sent", [day.alerts for day in days], ALERT_COLOR),
        ],
        label="Images processed and alerts sent per day",
        mode="overlay",
        tick_labels=[day.day[5:] if len(day.day) == 10 else day.day for day in days],
        tooltips=[f"{day.day}: {day.images:,} images, {day.alerts:,} alerts" for day in days],
    )
    span = f"Days shown: {days[0].day} to {days[-1].day}." if days else ""
    return (
        '<section class="card"><h2>Alerts per day</h2><p class="hint">By the <code>dt</code> partition '
        f"(UTC day); one alert per image however many labels matched. {_e(span)}</p>{chart}</section>"
    )


def _confidence_histogram(summary: Summary) -> str:
    by_label = list(summary.confidence_by_label.items())
    if not by_label:
        return ""
    shown = by_label[:MAX_HISTOGRAM_SERIES]
    rest = by_label[MAX_HISTOGRAM_SERIES:]
    series = [Series(label, counts, PALETTE[i % len(PALETTE)]) for i, (label, counts) in enumerate(shown)]
    if rest:
        other = [sum(counts[i] for _, counts in rest) for i in range(len(summary.confidence_bins))]
        series.append(Series(f"other labels ({len(rest)})", other, "#a0aab4"))
    tooltips = [
        f"{bin_}%: " + ", ".join(f"{s.name} {s.values[i]:,}" for s in series if s.values[i])
        for i, bin_ in enumerate(summary.confidence_bins)
    ]
    chart = column_chart(
        summary.confidence_bins,
        series,
        label="Detections by confidence, stacked by label",
        mode="stacked",
        tick_labels=[f"{label}%" for label in summary.confidence_bins],
        tooltips=tooltips,
    )
    return (
        '<section class="card"><h2>Confidence distribution</h2><p class="hint">Detections of OK images in '
        f"bins of 10 points, stacked by label.</p>{chart}</section>"
    )


def _latest_alerts(summary: Summary, thumbnails: Callable[[str], bytes | None]) -> str:
    if not summary.latest_alerts:
        return (
            '<section class="card"><h2>Latest alerts</h2>'
            '<p class="quiet">No alert has been sent yet.</p></section>'
        )
    cache: dict[str, str | None] = {}
    rows = []
    for alert in summary.latest_alerts:
        if alert.image not in cache:
            cache[alert.image] = thumbnail_data_uri(thumbnails(alert.image), MAX_SIZE)
        uri = cache[alert.image]
        thumb = (
            f'<img class="thumb" src="{uri}" alt="{_e(alert.image)}">'
            if uri
            else '<div class="thumb placeholder">no preview</div>'
        )
        rows.append(
            f"<tr><td>{thumb}</td><td class='time'>{_e(_time(alert.uploaded_at))}</td>"
            f"<td><span class='tag'>{_e(alert.label)}</span></td>"
            f"<td class='num'>{_confidence(alert.confidence)}</td>"
            f"<td class='path'>{_e(alert.image)}</td></tr>"
        )
    return (
        f'<section class="card"><h2>Latest alerts</h2><p class="hint">The {len(rows)} most recent alerting '
        "detections, newest first (upload time, UTC).</p><table><thead><tr><th>Image</th><th>Uploaded</th>"
        "<th>Label</th><th class='num'>Confidence</th><th>Path</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def build_report(
    records: list[dict[str, Any]],
    *,
    thumbnails: Callable[[str], bytes | None],
    title: str,
    generated_at: datetime,
    stack_description: str = "",
) -> str:
    """The HTML document. ``thumbnails(image_uri)`` returns the image's bytes, or None when it is gone
    (it is called once per image of the latest-alerts table)."""
    summary = summarize(records)
    when = generated_at.astimezone(UTC) if generated_at.tzinfo else generated_at
    subtitle = [f"Generated {when:%Y-%m-%d %H:%M} UTC"]
    if summary.first_day:
        subtitle.append(f"results from {summary.first_day} to {summary.last_day}")
    header = f"<header><h1>{_e(title)}</h1>"
    if stack_description:
        header += f"<p>{_e(stack_description)}</p>"
    header += f"<p>{_e(' · '.join(subtitle))}</p></header>"

    if not records:
        content = (
            _kpis(summary)
            + '<div class="empty">No results yet: upload an image and run the report again.</div>'
        )
    else:
        content = (
            _kpis(summary)
            + _label_mix(summary)
            + _per_day(summary)
            + _confidence_histogram(summary)
            + _latest_alerts(summary, thumbnails)
            + _rejections(summary)
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        "style-src 'unsafe-inline'\">"
        f'<meta name="generator" content="labelwatch"><title>{_e(title)}</title><style>{_CSS}</style></head>'
        f"<body>{header}<main>{content}</main><footer>labelwatch report · self-contained, no network needed"
        "</footer></body></html>\n"
    )


def write_report(path: str | Path, html: str) -> Path:
    """Write the document (UTF-8), creating the folder; returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")
    return target
