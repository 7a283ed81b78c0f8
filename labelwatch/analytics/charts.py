"""Small hand-written SVG charts for the HTML report (no plotting library, no script, no fonts).

Every text that reaches the SVG is escaped here; callers pass plain strings.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

PALETTE = (
    "#2f6f9f", "#e07b39", "#3f9b63", "#c44e52", "#8c6bb1", "#b8a03a", "#4aa3a8", "#d98bb3", "#7f7f7f",
)  # fmt: skip
MUTED = "#c9d3dc"
AXIS = "#8a96a3"
GRID = "#e6ebf0"
TEXT = "#33414e"
CHAR_WIDTH = 6.6  # average width of a 12 px system-ui character, for layout


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    color: str


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def nice_ticks(maximum: float, count: int = 5) -> list[float]:
    """0 and round steps (1, 2, 5 × 10^k) up to at least ``maximum``."""
    if maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(step, 1.0)  # counts: whole numbers
    top = math.ceil(maximum / step) * step
    return [i * step for i in range(round(top / step) + 1)]


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg(width: float, height: float, label: str, body: list[str]) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" '
        f'role="img" aria-label="{escape(label)}">' + "".join(body) + "</svg>"
    )


def _legend(series: Sequence[Series], x: float, y: float, width: float) -> list[str]:
    parts, cursor_x, cursor_y = [], x, y
    for item in series:
        text = _truncate(item.name, 28)
        item_width = 18 + len(text) * CHAR_WIDTH + 16
        if cursor_x + item_width > x + width and cursor_x > x:
            cursor_x, cursor_y = x, cursor_y + 18
        parts.append(
            f'<rect x="{cursor_x:.1f}" y="{cursor_y - 9:.1f}" width="11" height="11" rx="2" '
            f'fill="{item.color}"/><text x="{cursor_x + 16:.1f}" y="{cursor_y:.1f}" class="legend">'
            f"<title>{escape(item.name)}</title>"
            f"{escape(text)}</text>"
        )
        cursor_x += item_width
    return parts


def legend_height(series: Sequence[Series], width: float) -> float:
    rows, cursor = 1, 0.0
    for item in series:
        item_width = 18 + len(_truncate(item.name, 28)) * CHAR_WIDTH + 16
        if cursor + item_width > width and cursor > 0:
            rows, cursor = rows + 1, 0.0
        cursor += item_width
    return rows * 18 + 8


def hbar_chart(
    items: Sequence[tuple[str, float]],
    *,
    label: str,
    color: str = PALETTE[0],
    width: float = 560,
    bar_height: float = 22,
    value_format: Callable[[float], str] = _fmt,
) -> str:
    """Horizontal bars, one per (name, value), in the given order."""
    names = [_truncate(name, 30) for name, _ in items]
    left = min(max((max((len(n) for n in names), default=4)) * CHAR_WIDTH + 14, 70), 220)
    right, top, bottom = 48, 8, 24
    plot_width = width - left - right
    height = top + bottom + bar_height * max(len(items), 1)
    ticks = nice_ticks(max((value for _, value in items), default=0))
    scale = plot_width / ticks[-1]
    body = []
    for tick in ticks:
        x = left + tick * scale
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - bottom}" stroke="{GRID}"/>')
        body.append(
            f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" class="tick">'
            f"{_fmt(tick)}</text>"
        )
    for index, ((name, value), short) in enumerate(zip(items, names, strict=True)):
        y = top + index * bar_height
        bar = max(value * scale, 0)
        body.append(
            f"<g><title>{escape(name)}: {escape(value_format(value))}</title>"
            f'<text x="{left - 8:.1f}" y="{y + bar_height / 2 + 4:.1f}" text-anchor="end">'
            f"{escape(short)}</text>"
            f'<rect x="{left:.1f}" y="{y + 3:.1f}" width="{bar:.1f}" height="{bar_height - 6:.1f}" '
            f'rx="2" fill="{color}"/>'
            f'<text x="{left + bar + 5:.1f}" y="{y + bar_height / 2 + 4:.1f}" class="value">'
            f"{escape(value_format(value))}</text></g>"
        )
    body.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="{AXIS}"/>')
    return _svg(width, height, label, body)


def column_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    label: str,
    mode: str = "stacked",
    tick_labels: Sequence[str] | None = None,
    tooltips: Sequence[str] | None = None,
    width: float = 760,
    plot_height: float = 200,
    max_tick_labels: int = 12,
) -> str:
    """Vertical columns per category. ``stacked``: series on top of each other; ``overlay``: every
    series from zero, later ones narrower and in front (e.g. alerts within images)."""
    if mode not in ("stacked", "overlay"):
        raise ValueError(f"mode must be stacked or overlay, not {mode!r}")
    tick_labels = list(tick_labels if tick_labels is not None else categories)
    left, right, bottom = 44, 12, 26
    top = legend_height(series, width - left - right) + 14
    height = top + plot_height + bottom
    plot_width = width - left - right
    if mode == "stacked":
        maximum = max((sum(s.values[i] for s in series) for i in range(len(categories))), default=0)
    else:
        maximum = max((max(s.values, default=0) for s in series), default=0)
    ticks = nice_ticks(maximum)
    scale = plot_height / ticks[-1]
    base = top + plot_height
    slot = plot_width / max(len(categories), 1)
    body = _legend(series, left, 14, plot_width)
    for tick in ticks:
        y = base - tick * scale
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{_fmt(tick)}</text>'
        )
    every = max(1, math.ceil(len(categories) / max_tick_labels))
    for index, _category in enumerate(categories):
        x0 = left + index * slot
        parts = []
        stacked_height = 0.0
        for depth, item in enumerate(series):
            value = item.values[index]
            if mode == "stacked":
                bar_width = slot * 0.72
                bar_height = value * scale
                y = base - stacked_height - bar_height
                stacked_height += bar_height
            else:
                bar_width = slot * (0.8 - 0.35 * depth / max(len(series) - 1, 1))
                bar_height = value * scale
                y = base - bar_height
            if bar_height > 0:
                parts.append(
                    f'<rect x="{x0 + (slot - bar_width) / 2:.1f}" y="{y:.1f}" width="{bar_width:.1f}" '
                    f'height="{bar_height:.1f}" fill="{item.color}"/>'
                )
        tip = tooltips[index] if tooltips is not None else tick_labels[index]
        # a full-height transparent hit area, so the tooltip shows over empty columns too
        parts.append(
            f'<rect x="{x0:.1f}" y="{top}" width="{slot:.1f}" height="{plot_height}" fill="transparent"/>'
        )
        body.append(f"<g><title>{escape(tip)}</title>{''.join(parts)}</g>")
        if index % every == 0:
            body.append(
                f'<text x="{x0 + slot / 2:.1f}" y="{base + 17}" text-anchor="middle" class="tick">'
                f"{escape(tick_labels[index])}</text>"
            )
    body.append(f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="{AXIS}"/>')
    return _svg(width, height, label, body)
