"""The image view page behind a link (``/i/<token>?view``): the photo, every label, the boxes, why it
alerted, when, and where to look further (the execution, the query that returns this image's rows).

One self-contained HTML page: the photo downscaled and inlined as a JPEG ``data:`` URI, boxes drawn as
SVG over it, no script, no request to anywhere (its Content-Security-Policy allows none). Everything
an uploader or a model contributes (the key, label names) is escaped; nothing of it reaches an
attribute unquoted or a URL.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

VIEW_MAX_SIDE = 640  # px: enough to judge a leaf, small enough for a phone's mail client
# Larger photos are not drawn (a JPEG is decoded at a fraction of its size; others are not): the
# link function is small, and DetectCustomLabels itself reads at most 4096 px a side.
VIEW_MAX_PIXELS = 4096 * 4096
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'"
_BOX_COLOURS = ("#e4572e", "#29335c", "#f3a712", "#669bbc", "#a8c686")


def image_query(upload_day: str, bucket: str, key: str) -> str:
    """The Athena query that returns this image's rows (SQL string literals: ``'`` doubled)."""

    def literal(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    return (
        "SELECT label, confidence, alert, detected_at, execution\nFROM results\n"
        f"WHERE dt = {literal(upload_day)} AND bucket = {literal(bucket)} AND key = {literal(key)}\n"
        "ORDER BY confidence DESC;"
    )


def downscaled_jpeg(photo: bytes, max_side: int = VIEW_MAX_SIDE) -> tuple[bytes, int, int] | None:
    """The photo upright (EXIF orientation applied) and at most ``max_side`` px, as JPEG; None when
    it cannot be read (the page then shows the labels without it)."""
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(photo)) as opened:
            if opened.width * opened.height > VIEW_MAX_PIXELS:
                return None  # not decoded whole on a small function: the page goes without it
            opened.draft("RGB", (2 * max_side, 2 * max_side))  # JPEG: decoded at 1/2-1/8 scale
            image = ImageOps.exif_transpose(opened).convert("RGB")
    except Exception:  # noqa: BLE001  (any undecodable upload: the page says so instead)
        return None
    image.thumbnail((max_side, max_side))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue(), image.width, image.height


def _pct(value: Any) -> str:
    return f"{float(value):.1f}%" if isinstance(value, int | float) else "—"


def _verdict(record: Mapping[str, Any]) -> str:
    """Why it alerted or did not: the rule's threshold (``rule_threshold``) beside the confidence."""
    threshold = record.get("rule_threshold")
    if record.get("alert"):
        return f"alerted: rule at {_pct(threshold)}" if threshold is not None else "alerted"
    return f"below the rule's {_pct(threshold)}" if threshold is not None else "no rule"


def _boxes(records: Sequence[Mapping[str, Any]]) -> list[tuple[str, Mapping[str, float], str]]:
    boxes = []
    for record in records:
        geometry = record.get("geometry")
        if isinstance(geometry, Mapping) and record.get("label"):
            colour = _BOX_COLOURS[len(boxes) % len(_BOX_COLOURS)]
            boxes.append((str(record["label"]), {k.lower(): float(v) for k, v in geometry.items()}, colour))
    return boxes


def render_view(
    *,
    records: Sequence[Mapping[str, Any]],
    photo: bytes | None,
    execution_link: str | None,
    upload_day: str,
) -> str:
    """The page for one image's result records (as the detect function wrote them)."""
    esc = html.escape
    first = records[0]
    bucket, key = str(first.get("bucket", "")), str(first.get("key", ""))
    labelled = sorted((r for r in records if r.get("label")), key=lambda r: -float(r.get("confidence") or 0))
    shown = downscaled_jpeg(photo) if photo is not None else None

    figure = "<p>The photo could not be shown.</p>"
    if shown is not None:
        data, width, height = shown
        rects = "".join(
            f'<rect x="{box["left"] * 100:.2f}" y="{box["top"] * 100:.2f}"'
            f' width="{box["width"] * 100:.2f}" height="{box["height"] * 100:.2f}" fill="none"'
            f' stroke="{colour}" stroke-width="3" vector-effect="non-scaling-stroke">'
            f"<title>{esc(name)}</title></rect>"
            for name, box, colour in _boxes(labelled)
        )
        figure = (
            f'<div class="photo" style="max-width:{width}px">'
            f'<img alt="the uploaded photo" width="{width}" height="{height}" '
            f'src="data:image/jpeg;base64,{base64.b64encode(data).decode()}">'
            f'<svg viewBox="0 0 100 100" preserveAspectRatio="none" aria-hidden="true">{rects}</svg></div>'
        )

    rows = "".join(
        f"<tr{' class=alert' if r.get('alert') else ''}><td>{esc(str(r['label']))}</td>"
        f"<td>{_pct(r.get('confidence'))}</td><td>{_verdict(r)}</td></tr>"
        for r in labelled
    )
    if not rows:
        rows = '<tr><td colspan="3">no label</td></tr>'
    status = str(first.get("status", ""))
    if status == "rejected":
        status += f" ({first.get('reason')})"
    execution = (
        f'<a href="{esc(execution_link)}">the execution</a>' if execution_link else "the execution (no link)"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{esc(CONTENT_SECURITY_POLICY)}">
<meta name="referrer" content="no-referrer">
<title>labelwatch: {esc(key)}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 46em; padding: 0 1em }}
.photo {{ position: relative }} .photo img {{ display: block; width: 100%; height: auto }}
.photo svg {{ position: absolute; inset: 0; width: 100%; height: 100% }}
table {{ border-collapse: collapse; margin: 1em 0 }} td, th {{ padding: .2em .8em .2em 0; text-align: left }}
tr.alert td {{ font-weight: 600; color: #b3261e }} code, pre {{ font-size: 13px; overflow-wrap: anywhere }}
pre {{ background: #f4f4f4; padding: .6em; white-space: pre-wrap }}
</style></head><body>
<h1>{esc(key)}</h1>
{figure}
<table><thead><tr><th>label</th><th>confidence</th><th></th></tr></thead><tbody>{rows}</tbody></table>
<p>Status: {esc(status)}. Uploaded {esc(str(first.get("uploaded_at", "")))}, detected
{esc(str(first.get("detected_at", "")))} by <code>{esc(str(first.get("model", "")))}</code>.</p>
<p>Bucket <code>{esc(bucket)}</code>, version <code>{esc(str(first.get("version_id") or "—"))}</code>.
See {execution}. This image's rows in Athena:</p>
<pre>{esc(image_query(upload_day, bucket, key))}</pre>
</body></html>
"""
