"""Bounds on decoding time: JPEG scans counted before decoding, and a deadline for every decode."""

from __future__ import annotations

import itertools

import pytest
from detect import decode_limits, image_check
from detect import normalise as normalise_module
from detect.decode_limits import MAX_JPEG_SCANS, count_jpeg_scans
from detect.errors import ImageRejected
from detect.image_check import check_image
from detect.normalise import normalise

from tests.unit.factories import BUCKET, encode, noise, progressive_scan_bomb, solid


def test_scans_are_counted_from_the_bytes():
    assert count_jpeg_scans(encode(solid((200, 100)), "JPEG")) == 1
    progressive = encode(solid((200, 100)), "JPEG", progressive=True)
    assert 6 <= count_jpeg_scans(progressive) <= 12
    assert count_jpeg_scans(progressive_scan_bomb(128, 500)) == count_jpeg_scans(progressive) + 500


def test_marker_bytes_inside_a_segment_before_the_scans_are_not_scans():
    """An EXIF block (a thumbnail, a maker note) may hold 0xFF 0xDA; segments are skipped by length."""
    jpeg = encode(solid((200, 100)), "JPEG")
    app1 = b"\xff\xe1" + (2 + 6 + 4000).to_bytes(2, "big") + b"Exif\x00\x00" + b"\xff\xda" * 2000
    assert count_jpeg_scans(jpeg[:2] + app1 + jpeg[2:]) == 1


def test_a_scan_bomb_is_rejected_before_it_is_decoded(s3, monkeypatch):
    """1,000 extra scans of a few bytes each: decoding would take seconds here, minutes at Lambda's
    share of a core; the function would time out and be retried, as long each time."""
    decoded = []
    for module in (image_check, normalise_module):
        monkeypatch.setattr(module, "open_with_deadline", lambda *a, **k: decoded.append(a))
    s3.put_object(Bucket=BUCKET, Key="drone/scan.jpg", Body=progressive_scan_bomb(1024, 1000))

    with pytest.raises(ImageRejected) as rejected:
        check_image(s3, bucket=BUCKET, key="drone/scan.jpg")

    assert rejected.value.reason == "too-many-scans" and decoded == []


def test_a_normal_progressive_jpeg_is_accepted(s3):
    s3.put_object(Bucket=BUCKET, Key="leaf.jpg", Body=encode(noise((300, 200)), "JPEG", progressive=True))
    assert count_jpeg_scans(encode(noise((300, 200)), "JPEG", progressive=True)) <= MAX_JPEG_SCANS
    assert check_image(s3, bucket=BUCKET, key="leaf.jpg").format == "jpeg"


def test_a_decode_still_running_at_its_deadline_is_decode_timeout(monkeypatch):
    """The clock passes the deadline after the header is read (the Nth look at it): the decode stops
    at its next block, as a rejection, instead of running into the function's timeout."""
    ticks = itertools.count()
    monkeypatch.setattr(decode_limits.time, "monotonic", lambda: 0.0 if next(ticks) < 3 else 100.0)
    tiff = encode(noise((5000, 300)), "TIFF")  # normalised: decoded here, in many blocks

    with pytest.raises(ImageRejected) as rejected:
        normalise(tiff, source_format="tiff", deadline=50.0)

    assert rejected.value.reason == "decode-timeout"
    assert normalise(tiff, source_format="tiff", deadline=None)[0].format == "jpeg"
