"""The offline HTML report: right numbers, embedded thumbnails, escaped text, valid self-contained HTML."""

from __future__ import annotations

import base64
import io
import re
from collections import Counter
from datetime import UTC, datetime
from html import escape
from html.parser import HTMLParser

import pytest
from PIL import Image

from labelwatch.analytics import build_report, write_report
from labelwatch.analytics.charts import nice_ticks
from labelwatch.analytics.summary import summarize
from labelwatch.analytics.thumbnails import thumbnail_data_uri
from tests.unit.test_analytics_query import flat_records, make_result_objects

GENERATED = datetime(2026, 11, 25, 12, 30, tzinfo=UTC)
VOID = {"meta", "img", "br", "hr", "input", "link", "source", "wbr", "col", "area", "base", "embed", "track"}
SVG_LEAVES = {"rect", "line", "path", "circle", "polyline", "polygon"}


def jpeg(size=(900, 600), color=(60, 140, 70)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


class TagBalance(HTMLParser):
    """Fails on a closing tag that does not match the open one; records text and attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.text: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []
        self.tags: Counter[str] = Counter()

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        self.attributes.extend((tag, name, value) for name, value in attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags[tag] += 1
        self.attributes.extend((tag, name, value) for name, value in attrs)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> TagBalance:
    parser = TagBalance()
    parser.feed(html)
    parser.close()
    assert parser.problems == []
    assert parser.stack == []
    return parser


@pytest.fixture(scope="module")
def records():
    return flat_records(make_result_objects())


@pytest.fixture(scope="module")
def thumbnail_calls():
    return []


@pytest.fixture(scope="module")
def html(records, thumbnail_calls):
    def thumbnails(uri: str) -> bytes | None:
        thumbnail_calls.append(uri)
        return None if uri.endswith(("3.jpg", "7.jpg")) else jpeg()  # some are gone: placeholder

    return build_report(
        records,
        thumbnails=thumbnails,
        title="Leaf watch <north field> & co",
        generated_at=GENERATED,
        stack_description="labelwatch-prod · eu-west-1 · model leaves.v1",
    )


def kpi(html: str, name: str) -> int:
    match = re.search(rf'<div class="name">{re.escape(name)}</div><div class="value">([\d,]+)</div>', html)
    assert match, name
    return int(match.group(1).replace(",", ""))


def test_headline_numbers(html, records):
    uploads = {}
    for record in records:
        uploads.setdefault((record["image"], record["uploaded_at"]), []).append(record)
    statuses = Counter(group[0]["status"] for group in uploads.values())
    alerted = sum(1 for group in uploads.values() if any(r["alert"] for r in group))
    labels = {r["label"] for r in records if r["label"]}
    assert kpi(html, "Images processed") == len(uploads) == 60
    assert kpi(html, "OK") == statuses["ok"]
    assert kpi(html, "Rejected") == statuses["rejected"] > 0
    assert kpi(html, "Alerts sent") == alerted > 0
    assert kpi(html, "Labels seen") == len(labels) == 4


def test_label_mix_counts_each_image_under_its_top_label(records):
    summary = summarize(records)
    uploads = {}
    for record in records:
        if record["status"] == "ok":
            uploads.setdefault((record["image"], record["uploaded_at"]), []).append(record)
    expected = Counter()
    for group in uploads.values():
        labelled = [r for r in group if r["label"]]
        expected[max(labelled, key=lambda r: r["confidence"])["label"] if labelled else "(none)"] += 1
    assert {s.label: s.top_label_images for s in summary.labels if s.top_label_images} == dict(expected)
    detections = Counter(r["label"] or "(none)" for r in records if r["status"] == "ok")
    assert {s.label: s.detections for s in summary.labels} == dict(detections)


def test_alerts_per_day_and_rejections(records):
    summary = summarize(records)
    alerted = {(r["dt"], r["image"], r["uploaded_at"]) for r in records if r["alert"]}
    per_day = Counter(day for day, _, _ in alerted)
    days = sorted({r["dt"] for r in records})
    assert [(d.day, d.alerts) for d in summary.days] == [(day, per_day.get(day, 0)) for day in days]
    assert sum(d.images for d in summary.days) == summary.images
    rejected = {(r["image"], r["uploaded_at"]): r["reason"] for r in records if r["status"] == "rejected"}
    assert dict(summary.rejected_reasons) == dict(Counter(rejected.values()))
    assert sum(sum(counts) for counts in summary.confidence_by_label.values()) == sum(
        1 for r in records if r["status"] == "ok" and r["confidence"] is not None
    )


def test_report_shows_labels_reasons_and_latest_alerts(html, records):
    text = " ".join(parse(html).text)
    for label in ("leaf-smut", "bacterial-leaf-blight", "brown-spot", "healthy"):
        assert label in text
    for reason in {r["reason"] for r in records if r["reason"]}:
        assert reason in text
    newest = max((r for r in records if r["alert"]), key=lambda r: (r["uploaded_at"], r["confidence"]))
    assert newest["image"] in text
    assert newest["uploaded_at"].replace("T", " ").removesuffix("Z") in text


def test_thumbnails_are_embedded_small_and_fetched_once_per_image(html, thumbnail_calls):
    images = [value for tag, name, value in parse(html).attributes if tag == "img" and name == "src"]
    assert images and all(src.startswith("data:image/jpeg;base64,") for src in images)
    with Image.open(io.BytesIO(base64.b64decode(images[0].split(",", 1)[1]))) as thumb:
        assert max(thumb.size) <= 160
        assert thumb.format == "JPEG"
    assert len(thumbnail_calls) == len(set(thumbnail_calls))
    assert "no preview" in html  # the images thumbnails() could not return


def test_self_contained_no_external_resources(html):
    parser = parse(html)
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "url(" not in html
    for tag, name, value in parser.attributes:
        if name in ("src", "href"):
            assert value.startswith("data:"), (tag, name, value)
    assert parser.tags["svg"] >= 3  # label mix, alerts per day, confidence histogram
    assert "Content-Security-Policy" in html


def test_user_text_is_escaped(html, records):
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "Leaf watch &lt;north field&gt; &amp; co" in html
    odd = next(r["image"] for r in records if "blätter" in r["key"])  # & and " in a key
    assert escape(odd) in html and "&amp; &quot;zweige&quot;" in escape(odd)
    assert "温室/叶子 1.png" in html
    text = " ".join(parse(html).text)
    assert "Leaf watch <north field> & co" in text  # shown as written


def test_unicode_survives(records):
    html = build_report(records, thumbnails=lambda uri: None, title="Blätter 叶子 ✓", generated_at=GENERATED)
    assert "Blätter 叶子 ✓" in html
    assert '<meta charset="utf-8">' in html


def test_alert_labels_with_markup_are_escaped_in_charts_and_tables():
    record = {
        "image": 's3://b/x".jpg',
        "bucket": "b",
        "key": 'x".jpg',
        "label": "<b>rot</b>",
        "confidence": 97.5,
        "alert": True,
        "status": "ok",
        "reason": None,
        "uploaded_at": "2026-11-25T10:00:00Z",
        "dt": "2026-11-25",
    }
    rejected = {**record, "image": "s3://b/y.gif", "label": None, "confidence": None, "alert": False,
                "status": "rejected", "reason": "<img src=x onerror=alert(1)>"}  # fmt: skip
    html = build_report([record, rejected], thumbnails=lambda uri: None, title="t", generated_at=GENERATED)
    parse(html)
    assert "<b>rot" not in html and "&lt;b&gt;rot&lt;/b&gt;" in html
    assert "<img src=x" not in html
    assert "s3://b/x&quot;.jpg" in html


def test_zero_records_say_no_results_yet():
    html = build_report([], thumbnails=lambda uri: None, title="Empty", generated_at=GENERATED)
    parse(html)
    assert "No results yet" in html
    assert kpi(html, "Images processed") == 0
    assert kpi(html, "Alerts sent") == 0


def test_write_report(tmp_path, html):
    path = write_report(tmp_path / "out" / "report.html", html)
    assert path.read_text(encoding="utf-8") == html


def test_thumbnail_of_unusable_bytes_is_none():
    assert thumbnail_data_uri(None) is None
    assert thumbnail_data_uri(b"") is None
    assert thumbnail_data_uri(b"GIF89a not really") is None
    buffer = io.BytesIO()
    Image.new("RGBA", (40, 300), (255, 0, 0, 128)).save(buffer, "PNG")
    uri = thumbnail_data_uri(buffer.getvalue())
    with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as thumb:
        assert thumb.size[1] == 160 and thumb.mode == "RGB"


def test_nice_ticks():
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(3) == [0, 1, 2, 3]
    assert nice_ticks(12) == [0, 5, 10, 15]
    assert nice_ticks(37)[-1] >= 37
