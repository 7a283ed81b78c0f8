"""What an alert's reader gets from a hostile upload: the key as data, the image as an image."""

from __future__ import annotations

import io
import re
import urllib.request
from html import unescape

import pytest
from PIL import Image

from tests.workflow.conftest import COLOURS

pytestmark = pytest.mark.slow

PHISHING_KEY = "leaf.jpg\n\nURGENT: your account is locked, re-authenticate at https://evil.example/login"


def polyglot_jpeg() -> bytes:
    """A real leaf-smut JPEG whose comment segment is an HTML page (what a browser could run)."""
    buffer = io.BytesIO()
    Image.new("RGB", (160, 120), COLOURS["leaf-smut"]).save(
        buffer, "JPEG", comment=b"<html><body><script>document.title='pwned'</script></body></html>"
    )
    return buffer.getvalue()


def test_a_hostile_key_and_a_polyglot_upload_give_a_plain_alert_and_an_inline_image(stack, model, inbox):
    body = polyglot_jpeg()
    stack.client("s3").put_object(
        Bucket=stack.outputs["InputBucketName"], Key=PHISHING_KEY, Body=body, ContentType="text/html"
    )

    stack.pipe().drain()

    (alert,) = inbox.messages()
    lines = alert["Message"].splitlines()
    assert not any(line.lstrip().startswith("URGENT") for line in lines), "the key wrote no line of its own"
    (image_line,) = [line for line in lines if line.startswith("Image:")]
    assert "/leaf.jpg\\n\\nURGENT: your account is locked" in image_line and image_line.endswith('"')
    # the link function's URL, served by the twin: a 302 to the exact version, presigned
    photo, page = re.findall(r"^https?://\S+$", alert["Message"], flags=re.MULTILINE)
    assert page == photo + "?view" and len(page) <= 200
    with urllib.request.urlopen(photo, timeout=30) as response:
        served = response.read()
        assert response.headers["Content-Type"] == "image/jpeg", "never served as the page it also is"
        assert response.headers["Content-Disposition"] == "inline"
    assert served == body
    with urllib.request.urlopen(page, timeout=30) as response:
        html = response.read().decode()
        assert response.headers["Content-Type"].startswith("text/html")
    assert "leaf-smut" in html and "URGENT: your account is locked" in html
    assert 'href="https://evil.example' not in html, "the key is text on the page, never a link"

    # the page's execution link opens the twin's trace page of this image (the console's on AWS)
    (trace_link,) = re.findall(r'href="([^"]*/_labelwatch/trace\?[^"]*)"', html)
    with urllib.request.urlopen(unescape(trace_link), timeout=30) as response:
        trace_page = response.read().decode()
        assert response.headers["Content-Type"].startswith("text/html")
    assert 'id="state-PublishAlert"' in trace_page and "<svg" in trace_page
    assert "URGENT: your account is locked" in trace_page and "<script>" not in trace_page
