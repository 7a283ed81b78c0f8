"""``labelwatch trace --html``: one image's path drawn on the workflow's graph, in one page.

The graph is drawn from the state machine's definition (what DescribeStateMachine answers): each
state a box, ranked by its distance from ``StartAt``, an arrow per transition (``Next``,
``Default``, ``Choices``, ``Catch``); the Map's item states inside the Map's box. The states the
image entered are filled, the transitions it took are drawn bold, and each state links to its
input, output and failed tries below (plain anchors: the page runs no script and loads nothing).
Everything a key, label or payload contributes is escaped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from html import escape
from typing import Any

from labelwatch.trace import ExecutionTrace, ImageTrace, StateVisit

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 170, 34, 24, 26, 20
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _targets(state: dict[str, Any]) -> list[tuple[str, str]]:
    """(next state, how) of each transition out of ``state``."""
    out = []
    if state.get("Next"):
        out.append((state["Next"], "next"))
    for choice in state.get("Choices", []):
        if choice.get("Next"):
            out.append((choice["Next"], "choice"))
    if state.get("Default"):
        out.append((state["Default"], "default"))
    for catch in state.get("Catch", []):
        if catch.get("Next"):
            out.append((catch["Next"], "catch"))
    return out


def _ranks(states: dict[str, dict[str, Any]], start: str) -> dict[str, int]:
    """Each state's rank: its longest distance from ``start`` along transitions that do not loop."""
    rank = {start: 0}
    order = [start]
    for name in order:  # breadth first: ranks only grow along forward edges
        for target, _ in _targets(states.get(name, {})):
            if target in states and target not in rank:
                rank[target] = rank[name] + 1
                order.append(target)
    for name in states:
        rank.setdefault(name, max(rank.values(), default=0) + 1)
    return rank


class _Layout:
    """Boxes of one level of states (and, inside a Map's box, its items' level)."""

    def __init__(self, definition: dict[str, Any]) -> None:
        self.states: dict[str, dict[str, Any]] = definition.get("States", {})
        self.ranks = _ranks(self.states, definition.get("StartAt", ""))
        self.rows: dict[int, list[str]] = {}
        for name, rank in sorted(self.ranks.items(), key=lambda item: (item[1], item[0])):
            self.rows.setdefault(rank, []).append(name)
        self.inner: dict[str, _Layout] = {}
        for name, state in self.states.items():
            processor = state.get("ItemProcessor") or state.get("Iterator")
            if state.get("Type") == "Map" and processor:
                self.inner[name] = _Layout(processor)
        self.boxes: dict[str, tuple[float, float, float, float]] = {}
        self.width, self.height = self._place(0.0, 0.0)

    def size_of(self, name: str) -> tuple[float, float]:
        if name in self.inner:
            return self.inner[name].width + 2 * PAD, self.inner[name].height + BOX_H + PAD
        return BOX_W, BOX_H

    def _place(self, x0: float, y0: float) -> tuple[float, float]:
        y = y0
        width = 0.0
        for rank in sorted(self.rows):
            sizes = [self.size_of(name) for name in self.rows[rank]]
            row_w = sum(w for w, _ in sizes) + GAP_X * (len(sizes) - 1)
            width = max(width, row_w)
            y += max(h for _, h in sizes) + GAP_Y
        y = y0
        for rank in sorted(self.rows):
            sizes = [self.size_of(name) for name in self.rows[rank]]
            row_w = sum(w for w, _ in sizes) + GAP_X * (len(sizes) - 1)
            x = x0 + (width - row_w) / 2
            for name, (w, h) in zip(self.rows[rank], sizes, strict=True):
                self.boxes[name] = (x, y, w, h)
                if name in self.inner:
                    self.inner[name].shift(x + PAD, y + BOX_H)
                x += w + GAP_X
            y += max(h for _, h in sizes) + GAP_Y
        return width, y - y0 - GAP_Y

    def shift(self, dx: float, dy: float) -> None:
        self.boxes = {name: (x + dx, y + dy, w, h) for name, (x, y, w, h) in self.boxes.items()}
        for inner in self.inner.values():
            inner.shift(dx, dy)


def _svg(layout: _Layout, visited: set[str], taken: set[tuple[str, str]], parts: list[str]) -> None:
    for name, state in layout.states.items():
        x, y, w, h = layout.boxes[name]
        for target, how in _targets(state):
            if target not in layout.boxes:
                continue
            tx, ty, tw, _th = layout.boxes[target]
            x1, y1 = x + w / 2, y + (BOX_H if name not in layout.inner else h)
            x2, y2 = tx + tw / 2, ty
            bold = (name, target) in taken
            dash = ' stroke-dasharray="4 3"' if how == "catch" else ""
            colour = "#1b6b3a" if bold else "#9aa0a6"
            width = 3 if bold else 1.2
            parts.append(
                f'<path d="M{x1:.0f},{y1:.0f} C{x1:.0f},{(y1 + y2) / 2:.0f} {x2:.0f},{(y1 + y2) / 2:.0f} '
                f'{x2:.0f},{y2:.0f}" fill="none" stroke="{colour}" stroke-width="{width}"{dash} '
                'marker-end="url(#arrow)"/>'
            )
    for name, state in layout.states.items():
        x, y, w, h = layout.boxes[name]
        fill = ("#f1f8f3" if name in layout.inner else "#d7f0de") if name in visited else "#ffffff"
        stroke = "#1b6b3a" if name in visited else "#9aa0a6"
        label = escape(name)
        parts.append(
            f'<a href="#state-{escape(name, quote=True)}"><rect x="{x:.0f}" y="{y:.0f}" width="{w:.0f}" '
            f'height="{h:.0f}" rx="6" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'
            f"<title>{label} ({escape(state.get('Type', ''))})</title>"
            f'<text x="{x + (w / 2 if name not in layout.inner else 10):.0f}" y="{y + 21:.0f}" '
            f'text-anchor="{"middle" if name not in layout.inner else "start"}">{label}</text></a>'
        )
        if name in layout.inner:
            _svg(layout.inner[name], visited, taken, parts)


def _taken(visits: Iterable[StateVisit]) -> set[tuple[str, str]]:
    names = [visit.name for visit in visits]
    return set(zip(names, names[1:], strict=False))


def _pretty(text: str | None) -> str:
    if text is None:
        return "(not logged)"
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def render_trace_page(definition: dict[str, Any], trace: ExecutionTrace, image: ImageTrace) -> str:
    """The page: the graph with ``image``'s path, then each state it entered with its data."""
    path = [*trace.visits[:1], *image.visits, *trace.visits[1:]]  # the Map state, the item, after it
    layout = _Layout(definition)
    parts: list[str] = []
    _svg(layout, {visit.name for visit in path}, _taken(image.visits) | _taken(trace.visits), parts)
    width, height = layout.width + 2 * PAD, layout.height + 2 * PAD
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="{-PAD} {-PAD} {width:.0f} {height:.0f}" role="img" aria-label="workflow graph">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
        'markerHeight="8" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#5f6368"/>'
        "</marker></defs>" + "".join(parts) + "</svg>"
    )
    rows = []
    for visit in path:
        tries = "".join(
            f"<li>try {number} failed: <b>{escape(attempt.error)}</b>: {escape(attempt.cause)}</li>"
            for number, attempt in enumerate(visit.failures, 1)
        )
        caught = f"<p>Catch took <b>{escape(visit.caught)}</b> to the next state.</p>" if visit.caught else ""
        duration = "-" if visit.duration_ms is None else f"{visit.duration_ms} ms"
        rows.append(
            f'<section id="state-{escape(visit.name, quote=True)}"><h3>{escape(visit.name)} '
            f"<small>{duration}</small></h3>{'<ul>' + tries + '</ul>' if tries else ''}{caught}"
            f"<details><summary>input</summary><pre>{escape(_pretty(visit.input))}</pre></details>"
            f"<details><summary>output</summary><pre>{escape(_pretty(visit.output))}</pre></details>"
            "</section>"
        )
    key = image.key if image.key is not None else f"#{image.index}"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>labelwatch trace: {escape(key)}</title><style>"
        "body{font:14px system-ui,sans-serif;margin:24px;color:#202124}"
        "svg text{font:13px system-ui,sans-serif}"
        "pre{background:#f6f8fa;padding:8px;overflow:auto;max-height:320px}"
        "section{border-top:1px solid #dadce0;padding:6px 0}h3 small{color:#5f6368;font-weight:normal}"
        "</style></head><body>"
        f"<h1>{escape(key)}</h1><p>outcome <b>{escape(image.outcome)}</b> · execution "
        f"<code>{escape(trace.arn)}</code> · {escape(trace.status)}</p>"
        f"{svg}<h2>States entered</h2>{''.join(rows)}</body></html>"
    )
