"""The image view page (issue 12, ``/i/<token>?view``): the photo downscaled, every label, the boxes of
an object-detection answer, where to look further; a hostile key or label is only ever text."""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import timedelta
from html.parser import HTMLParser

from detect.keys import image_id, result_key
from links.view import CONTENT_SECURITY_POLICY, VIEW_MAX_SIDE, image_query, render_view
from PIL import Image

from tests.unit.factories import BUCKET
from tests.unit.test_link_service import NOW, RESULTS, UPLOADED, ask, token

HOSTILE_KEY = 'field-7/"><script>alert(1)</script><img src=x onerror=alert(2)>.jpg'
HOSTILE_LABEL = "<b onmouseover=alert(3)>smut</b>"
EXECUTION = "arn:aws:states:us-east-1:123456789012:express:labelwatch:run-1:abc"


def _photo(size=(1600, 1200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (40, 160, 60)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _records(key=HOSTILE_KEY) -> list[dict]:
    common = {
        "bucket": BUCKET,
        "key": key,
        "status": "ok",
        "reason": None,
        "model": "arn:aws:rekognition:us-east-1:123456789012:project/p/version/v/1",
        "uploaded_at": "2026-11-30T23:59:00Z",
        "detected_at": "2026-11-30T23:59:03Z",
        "execution": EXECUTION,
        "version_id": "v-1",
        "image_format": "jpeg",
    }
    box = {"Width": 0.25, "Height": 0.5, "Left": 0.1, "Top": 0.2}
    smut = {**common, "label": HOSTILE_LABEL, "alert": True, "rule_threshold": 80.0}
    healthy = {**common, "label": "healthy", "alert": False, "rule_threshold": None}
    return [
        {**healthy, "confidence": 12.5, "geometry": None},
        {**smut, "confidence": 91.0, "geometry": box},
        {**smut, "confidence": 84.0, "geometry": {**box, "Left": 0.6}},
        {**smut, "confidence": 70.0, "alert": False, "geometry": None},
    ]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _parsed(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


def test_the_page_shows_the_photo_downscaled_every_label_and_the_boxes():
    page = render_view(
        records=_records("field-7/leaf.jpg"), photo=_photo(), execution_link=None, upload_day="2026-11-30"
    )
    parsed = _parsed(page)
    (img,) = [attrs for tag, attrs in parsed.tags if tag == "img"]
    data = base64.b64decode(img["src"].removeprefix("data:image/jpeg;base64,"))
    with Image.open(io.BytesIO(data)) as shown:
        assert shown.format == "JPEG" and max(shown.size) == VIEW_MAX_SIDE and shown.size == (640, 480)
    rects = [attrs for tag, attrs in parsed.tags if tag == "rect"]
    assert [(r["x"], r["y"], r["width"], r["height"]) for r in rects] == [
        ("10.00", "20.00", "25.00", "50.00"),
        ("60.00", "20.00", "25.00", "50.00"),
    ], "one box per detected object, in the image's proportions"
    text = " ".join(parsed.text)
    assert text.index("91.0%") < text.index("84.0%") < text.index("12.5%"), "by confidence"
    assert text.count("alerted: rule at 80.0%") == 2, "which rule matched and at what threshold"
    assert "below the rule's 80.0%" in text and "no rule" in text
    assert "2026-11-30T23:59:00Z" in text and "2026-11-30T23:59:03Z" in text
    assert "dt = '2026-11-30'" in text and "key = 'field-7/leaf.jpg'" in text


def test_a_hostile_key_and_label_are_only_text():
    page = render_view(
        records=_records(), photo=_photo((80, 60)), execution_link=None, upload_day="2026-11-30"
    )
    parsed = _parsed(page)
    assert {tag for tag, _attrs in parsed.tags} <= {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "h1",
        "div",
        "img",
        "svg",
        "rect",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "p",
        "code",
        "pre",
        "a",
    }, "no tag of the uploader's or the model's"
    assert not any(name.startswith("on") for _tag, attrs in parsed.tags for name in attrs)
    assert HOSTILE_KEY in " ".join(parsed.text) and HOSTILE_LABEL in " ".join(parsed.text), "shown as text"
    assert "<script>" not in page and "<b onmouseover" not in page


def test_the_query_quotes_a_key_with_quotes():
    query = image_query("2026-11-30", "in", "it's a leaf.jpg")
    assert "key = 'it''s a leaf.jpg'" in query


def test_a_view_link_answers_the_page_with_a_policy_that_allows_no_request(s3):
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.create_bucket(Bucket=RESULTS)
    key = "field-7/leaf.jpg"
    version = s3.put_object(Bucket=BUCKET, Key=key, Body=_photo((320, 240)))["VersionId"]
    records = [{**record, "version_id": version} for record in _records(key)]
    id_ = image_id(BUCKET, key, "01")
    body = "".join(json.dumps(record) + "\n" for record in records)
    s3.put_object(Bucket=RESULTS, Key=result_key("results/", UPLOADED, id_), Body=body)

    reply = ask(
        s3,
        "/i/" + token(id_),
        query="view",
        execution_link=lambda arn, key: f"https://console.example/executions/{arn}",
    )
    assert reply.status == 200 and reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert reply.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY and "script-src" not in CONTENT_SECURITY_POLICY
    (link,) = [attrs["href"] for tag, attrs in _parsed(reply.body).tags if tag == "a"]
    assert link == f"https://console.example/executions/{EXECUTION}"
    assert re.search(r'src="data:image/jpeg;base64,', reply.body), "the photo is in the page"
    expired = ask(s3, "/i/" + token(id_, expires=NOW - timedelta(seconds=1)), query="view")
    assert (expired.status, expired.body) == (403, "Forbidden\n"), "the page is behind the same token"


def test_a_photo_too_large_to_decode_on_the_function_is_left_out_not_decoded():
    big = io.BytesIO()
    Image.new("L", (5000, 4000)).save(big, format="PNG")  # 20 megapixels, not a JPEG: no draft decode
    page = render_view(
        records=_records("big.png"), photo=big.getvalue(), execution_link=None, upload_day="2026-11-30"
    )
    assert "<img" not in page and "The photo could not be shown." in page
    assert "91.0%" in page, "the labels are still shown"
