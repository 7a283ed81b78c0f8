"""Keys as S3 events encode them, the image id and the result object key."""

from __future__ import annotations

import hashlib
from datetime import datetime
from urllib.parse import quote_plus

import pytest
from detect.errors import InvalidEvent
from detect.event import parse_event
from detect.keys import decode_key, image_id, result_key

from tests.unit.factories import make_event


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        ("leaves/my+photo%C3%A9.jpg", "leaves/my photoé.jpg"),  # '+' is a space
        ("leaves/a%2Bb.jpg", "leaves/a+b.jpg"),  # '%2B' is a literal plus
        ("leaves/100%25+sure.png", "leaves/100% sure.png"),
        ("%E8%91%89/%E5%86%99%E7%9C%9F+1.png", "葉/写真 1.png"),
        ("plain/key.jpg", "plain/key.jpg"),
    ],
)
def test_decode_key(encoded, decoded):
    assert decode_key(encoded) == decoded


def test_decode_key_round_trips_what_s3_encodes():
    key = "dir with space/a+b=c&d/ünïcödé 写真 (1)#2?.jpeg"
    assert decode_key(quote_plus(key, safe="/")) == key


def test_very_long_key_decodes_and_does_not_leak_into_result_key():
    key = "deep/" + "写" * 300 + "/leaf image.jpg"  # about 920 bytes of UTF-8, S3 allows 1024
    encoded = quote_plus(key, safe="/")
    assert len(encoded) > 2500
    decoded = decode_key(encoded)
    assert decoded == key
    ident = image_id("b", decoded, "0001")
    assert len(result_key("results/", datetime.fromisoformat("2026-11-25T10:00:00Z"), ident)) < 80


def test_image_id_is_sha256_of_uri_and_sequencer():
    expected = hashlib.sha256(
        "s3://input-bucket/leaves/my photoé.jpg#0062E99A88DC407460".encode()
    ).hexdigest()
    assert image_id("input-bucket", "leaves/my photoé.jpg", "0062E99A88DC407460") == expected[:32]


def test_image_id_deterministic_and_distinct():
    first = image_id("bucket", "a b.jpg", "0001")
    assert first == image_id("bucket", "a b.jpg", "0001")
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != image_id("bucket", "a b.jpg", "0002")  # re-upload of the same key
    assert first != image_id("bucket", "a+b.jpg", "0001")
    assert first != image_id("other", "a b.jpg", "0001")


def test_result_key_uses_utc_date_of_upload():
    late_evening_new_york = datetime.fromisoformat("2026-11-25T23:30:00-05:00")
    assert result_key("results/", late_evening_new_york, "abc") == "results/dt=2026-11-26/abc.json"


def test_parse_event_decodes_key_and_reads_optional_fields():
    event = make_event("leaves/my+photo%C3%A9.jpg", version_id="v-7")
    upload = parse_event(event)
    assert upload.key == "leaves/my photoé.jpg"
    assert upload.uri == "s3://input-bucket/leaves/my photoé.jpg"
    assert upload.version_id == "v-7"
    assert upload.uploaded_at.isoformat() == "2026-11-25T10:00:00+00:00"
    assert upload.image_id == image_id("input-bucket", "leaves/my photoé.jpg", "0062E99A88DC407460")


def test_parse_event_falls_back_to_object_fields():
    event = make_event("a%2Bb.jpg")
    del event["key"], event["sequencer"]
    upload = parse_event(event)
    assert (upload.key, upload.sequencer, upload.version_id) == ("a+b.jpg", "0062E99A88DC407460", None)


@pytest.mark.parametrize("field", ["bucket", "eventTime"])
def test_parse_event_requires_fields(field):
    event = make_event("a.jpg")
    del event[field]
    with pytest.raises(InvalidEvent, match=field):
        parse_event(event)


def test_parse_event_rejects_bad_time():
    event = make_event("a.jpg")
    event["eventTime"] = "yesterday"
    with pytest.raises(InvalidEvent, match="eventTime"):
        parse_event(event)
