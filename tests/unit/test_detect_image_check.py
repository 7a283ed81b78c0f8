"""Images are judged by content against what DetectCustomLabels takes; the rest is normalised or rejected."""

from __future__ import annotations

import io
import os

import boto3
import pytest
from botocore.stub import Stubber
from detect import image_check
from detect.errors import DetectorMisconfigured, DetectorThrottled, ImageRejected
from detect.image_check import SNIFF_BYTES, TAIL_BYTES, check_image, sniff_format
from PIL import Image

from tests.unit.factories import BUCKET, image_bytes


def put(s3, key: str, body: bytes) -> dict:
    return s3.put_object(Bucket=BUCKET, Key=key, Body=body)


def rejection(s3, key: str, **kwargs) -> ImageRejected:
    with pytest.raises(ImageRejected) as info:
        check_image(s3, bucket=BUCKET, key=key, **kwargs)
    return info.value


def record_ranges(s3) -> list[str | None]:
    ranges: list[str | None] = []
    s3.meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: ranges.append(params.get("Range"))
    )
    return ranges


@pytest.mark.parametrize(("fmt", "key"), [("JPEG", "leaves/a.jpg"), ("PNG", "leaves/scan.bin")])
def test_jpeg_and_png_are_accepted_whatever_the_name(s3, fmt, key):
    body = image_bytes(fmt, (100, 80))
    put(s3, key, body)
    checked = check_image(s3, bucket=BUCKET, key=key)
    assert (checked.format, checked.width, checked.height, checked.size) == (fmt.lower(), 100, 80, len(body))


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "BMP", "TIFF"])
def test_other_common_formats_are_normalised_to_jpeg_bytes(s3, fmt):
    put(s3, "leaves/photo.jpg", image_bytes(fmt))
    checked = check_image(s3, bucket=BUCKET, key="leaves/photo.jpg")
    assert (checked.format, checked.width, checked.height) == (fmt.lower(), 100, 80)
    assert checked.normalised.startswith(f"{fmt.lower()}→jpeg")
    assert Image.open(io.BytesIO(checked.data)).format == "JPEG"


def test_formats_not_normalised_are_unsupported(s3):
    put(s3, "leaves/photo.jpg", image_bytes("ICO", (64, 64)))
    assert rejection(s3, "leaves/photo.jpg").reason == "unsupported-format:ico"


def test_heic_and_avif_are_recognised_by_their_brand():
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    avif = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 64
    video = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64
    assert (sniff_format(heic), sniff_format(avif), sniff_format(video)) == ("heic", "avif", None)


def test_text_named_jpg_is_not_an_image(s3):
    put(s3, "leaves/notes.jpg", b"shopping list: apples, pears\n" * 10)
    assert rejection(s3, "leaves/notes.jpg").reason == "not-an-image"


def test_empty_object(s3):
    put(s3, "leaves/empty.jpg", b"")
    assert rejection(s3, "leaves/empty.jpg").reason == "empty-object"


def test_folder_placeholder(s3):
    put(s3, "leaves/new folder/", b"")
    assert rejection(s3, "leaves/new folder/").reason == "folder-placeholder"


def test_missing_object(s3):
    assert rejection(s3, "leaves/gone.jpg").reason == "object-missing"


def test_too_small_reports_its_size(s3):
    put(s3, "tiny.png", image_bytes("PNG", (32, 32)))
    rejected = rejection(s3, "tiny.png")
    assert (rejected.reason, rejected.width, rejected.height) == ("too-small", 32, 32)


def test_no_size_fits_an_extreme_aspect_ratio(s3):
    put(s3, "wide.png", image_bytes("PNG", (5000, 70)))
    assert rejection(s3, "wide.png").reason == "extreme-aspect-ratio"


def test_over_4096_px_at_20_to_1_is_downscaled_and_keeps_its_shape(s3):
    put(s3, "tall.png", image_bytes("PNG", (210, 4200)))
    checked = check_image(s3, bucket=BUCKET, key="tall.png")
    assert (checked.width, checked.height) == (210, 4200)  # the original
    assert Image.open(io.BytesIO(checked.data)).size == (102, 2048)


@pytest.mark.parametrize(("fmt", "size"), [("JPEG", (100, 2001)), ("PNG", (3000, 140)), ("PNG", (70, 4097))])
def test_more_than_20_to_1_is_refused_as_custom_labels_would(s3, fmt, size):
    """DetectCustomLabels takes at most 20:1; within 4096 px such an image went as the S3 object."""
    put(s3, "strip.img", image_bytes(fmt, size))
    rejected = rejection(s3, "strip.img")
    assert (rejected.reason, rejected.width, rejected.height) == ("extreme-aspect-ratio", *size)


@pytest.mark.parametrize("size", [(64, 1280), (1280, 64), (205, 4096)])
def test_limits_are_inclusive(s3, size):
    """64 px per side, 4096 px per side and 20:1 are all accepted as they are."""
    put(s3, "edge.png", image_bytes("PNG", size))
    checked = check_image(s3, bucket=BUCKET, key="edge.png")
    assert (checked.width, checked.height, checked.data) == (*size, None)


def test_object_over_15_mb_is_reencoded_within_4_mb(s3):
    put(s3, "huge.jpg", image_bytes("JPEG") + b"\x00" * (15 * 1024 * 1024))
    ranges = record_ranges(s3)
    checked = check_image(s3, bucket=BUCKET, key="huge.jpg")
    assert ranges == [f"bytes=0-{SNIFF_BYTES - 1}", None]
    assert len(checked.data) < 4_000_000 and Image.open(io.BytesIO(checked.data)).size == (100, 80)


def test_object_over_the_download_limit_is_too_large_without_reading_it(s3, monkeypatch):
    monkeypatch.setattr(image_check, "MAX_INPUT_BYTES", 16 * 1024 * 1024)
    put(s3, "huge.jpg", image_bytes("JPEG") + b"\x00" * (17 * 1024 * 1024))
    ranges = record_ranges(s3)
    assert rejection(s3, "huge.jpg").reason == "too-large"
    assert ranges == [f"bytes=0-{SNIFF_BYTES - 1}"]


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xd8\xff\xe0" + b"garbage" * 20,
        image_bytes("JPEG")[:30],
        b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + b"\xff" * 3,
    ],
    ids=["garbage-jpeg-header", "truncated-jpeg", "truncated-png"],
)
def test_corrupt_header(s3, body):
    put(s3, "broken.jpg", body)
    assert rejection(s3, "broken.jpg").reason == "corrupt-image"


def test_large_image_is_sniffed_from_its_first_bytes_only(s3):
    noise = Image.frombytes("RGB", (1000, 1000), os.urandom(3_000_000))
    buffer = io.BytesIO()
    noise.save(buffer, "PNG")
    assert len(buffer.getvalue()) > 2 * SNIFF_BYTES
    put(s3, "noise.png", buffer.getvalue())
    ranges = record_ranges(s3)
    checked = check_image(s3, bucket=BUCKET, key="noise.png")
    assert (checked.format, checked.width, checked.height, checked.data) == ("png", 1000, 1000, None)
    assert ranges == [f"bytes=0-{SNIFF_BYTES - 1}", f"bytes=-{TAIL_BYTES}"]  # the tail: not truncated


def test_jpeg_with_metadata_longer_than_the_sniffed_part(s3):
    jpeg = image_bytes("JPEG", (120, 90))
    app_segment = b"\xff\xe2" + (65535).to_bytes(2, "big") + b"\x00" * 65533  # e.g. a long ICC profile
    body = jpeg[:2] + app_segment * 5 + jpeg[2:]
    assert len(body) > SNIFF_BYTES
    put(s3, "camera.jpg", body)
    checked = check_image(s3, bucket=BUCKET, key="camera.jpg")
    assert (checked.format, checked.width, checked.height) == ("jpeg", 120, 90)


def test_checks_the_uploaded_version_not_the_latest(s3):
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first = put(s3, "leaf.png", image_bytes("PNG", (100, 80)))["VersionId"]
    put(s3, "leaf.png", b"overwritten by a text file")
    assert check_image(s3, bucket=BUCKET, key="leaf.png", version_id=first).format == "png"
    assert rejection(s3, "leaf.png").reason == "not-an-image"


def stubbed_error(code: str, status: int, operation: str = "get_object"):
    client = boto3.client("s3", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_client_error(operation, service_error_code=code, http_status_code=status)
    stubber.activate()
    return client


def test_access_denied_is_a_misconfiguration_not_a_rejection():
    client = boto3.client("s3", region_name="us-east-1")
    stubber = Stubber(client)  # the HEAD that would tell a key's refusal apart is refused too
    stubber.add_client_error("get_object", service_error_code="AccessDenied", http_status_code=403)
    stubber.add_client_error("head_object", service_error_code="403", http_status_code=403)
    stubber.activate()
    with pytest.raises(DetectorMisconfigured, match="s3:GetObject"):
        check_image(client, bucket=BUCKET, key="a.jpg")


def test_a_get_refused_where_head_is_allowed_is_the_uploads_kms_key():
    """HEAD needs no KMS key: S3 saying only "Access Denied" to the GET of an object the role may
    HEAD means the object's key refused this role (an upload under another account's key)."""
    client = boto3.client("s3", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_client_error("get_object", service_error_code="AccessDenied", http_status_code=403)
    stubber.add_response("head_object", {"ContentLength": 1000})
    stubber.activate()
    with pytest.raises(ImageRejected) as rejected:
        check_image(client, bucket=BUCKET, key="a.jpg")
    assert rejected.value.reason == "kms-key-unusable"


def test_s3_unavailable_is_transient():
    with pytest.raises(DetectorThrottled):
        check_image(stubbed_error("ServiceUnavailable", 503), bucket=BUCKET, key="a.jpg")


def test_a_clean_image_costs_one_s3_request(s3):
    """Size and the sniffed bytes come from one ranged GET (its Content-Range), not a HEAD and a GET."""
    put(s3, "leaf.jpg", image_bytes("JPEG", (120, 90)))
    calls: list[str] = []
    s3.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    try:
        checked = check_image(s3, bucket=BUCKET, key="leaf.jpg")
    finally:
        s3.meta.events.unregister("before-call.s3")
    assert (checked.format, checked.size) == ("jpeg", len(image_bytes("JPEG", (120, 90))))
    assert calls == ["GetObject"]


def test_an_empty_version_behind_a_newer_upload(s3):
    """S3 refuses a range of an empty object (416 InvalidRange): sizes then come from HEAD."""
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first = put(s3, "leaf.png", image_bytes("PNG", (100, 80)))["VersionId"]
    empty = put(s3, "leaf.png", b"")["VersionId"]
    assert check_image(s3, bucket=BUCKET, key="leaf.png", version_id=first).format == "png"
    assert rejection(s3, "leaf.png", version_id=empty).reason == "empty-object"
