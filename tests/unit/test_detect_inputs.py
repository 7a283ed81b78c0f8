"""Inputs people really upload: what reaches the model (the S3 object or normalised bytes) and why an
image is rejected (docs/contracts.md, reason codes). Images are made here with Pillow; S3 is moto."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from urllib.parse import quote_plus

import pytest
from botocore.exceptions import ClientError
from detect import image_check
from detect.normalise import HEIF_SUPPORTED, MAX_BYTES, NORMALISED_FORMATS
from detect.rules import parse_label_rules
from detect.service import process_image
from detect.settings import Settings
from PIL import Image

from tests.unit.factories import (
    BUCKET,
    MODEL_ARN,
    RULES,
    custom_label,
    encode,
    make_event,
    noise,
    png_header_only,
    solid,
)

SETTINGS = Settings(model_arn=MODEL_ARN, label_rules=parse_label_rules(RULES))
NOW = datetime(2026, 11, 25, 10, 0, 5, tzinfo=UTC)


class Model:
    """A Rekognition stand-in that records each DetectCustomLabels request."""

    def __init__(self, labels=None, errors=()):
        self.requests: list[dict] = []
        self.labels = labels if labels is not None else [custom_label("leaf-smut", 91.0)]
        self.errors = list(errors)

    def detect_custom_labels(self, **request):
        self.requests.append(request)
        if self.errors:
            raise self.errors.pop(0)
        return {"CustomLabels": self.labels}

    @property
    def image(self) -> dict:
        (request,) = self.requests
        return request["Image"]

    def sent(self) -> Image.Image:
        """The bytes the model got, checked against the API's limits, decoded."""
        data = self.image["Bytes"]
        assert len(data) <= MAX_BYTES
        image = Image.open(io.BytesIO(data))
        assert image.format in ("JPEG", "PNG")
        assert min(image.size) >= 64 and max(image.size) <= 4096
        image.load()
        return image


@pytest.fixture
def model():
    return Model()


def run(s3, model, key: str, body: bytes | None, *, version_id: str | None = None) -> dict:
    if body is not None:
        put = s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        version_id = version_id or put.get("VersionId")
    event = make_event(quote_plus(key, safe="/"), version_id=version_id)
    result = process_image(event, s3=s3, rekognition=model, settings=SETTINGS, now=NOW).payload()
    json.dumps(result)
    return result


def record(result: dict) -> dict:
    return json.loads(result["resultBody"].splitlines()[0])


def rejected(result: dict, model: Model) -> str:
    assert result["status"] == "rejected" and result["alert"] is False and result["normalised"] is None
    assert model.requests == [], "a rejected image never reaches the model"
    row = record(result)
    assert (row["status"], row["reason"]) == ("rejected", result["reason"])
    return result["reason"]


def ranges(s3) -> list[str | None]:
    seen: list[str | None] = []
    s3.meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: seen.append(params.get("Range"))
    )
    return seen


# --- sent as they are ------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_clean_jpeg_and_png_go_as_the_s3_object_version(s3, model, fmt):
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    result = run(s3, model, "leaves/leaf.img", encode(noise((640, 480)), fmt))
    assert (result["status"], result["normalised"]) == ("ok", None)
    s3_object = model.image["S3Object"]
    assert s3_object["Name"] == "leaves/leaf.img" and s3_object["Version"]
    assert (record(result)["width"], record(result)["height"]) == (640, 480)


def test_large_clean_jpeg_reads_only_its_head_and_tail(s3, model):
    body = encode(noise((1200, 900)), "JPEG", quality=95)
    assert len(body) > image_check.SNIFF_BYTES
    s3.put_object(Bucket=BUCKET, Key="big.jpg", Body=body)
    seen = ranges(s3)
    result = run(s3, model, "big.jpg", None)
    assert (result["status"], "S3Object" in model.image) == ("ok", True)
    assert seen == [f"bytes=0-{image_check.SNIFF_BYTES - 1}", f"bytes=-{image_check.TAIL_BYTES}"]


def test_jpeg_with_data_after_its_end_marker_still_goes_as_is(s3, model):
    """Motion photos append a video after the JPEG: no end marker at the tail, but it decodes."""
    body = encode(noise((1200, 900)), "JPEG", quality=95) + b"ftypmp42" + bytes(400_000)
    result = run(s3, model, "motion.jpg", body)
    assert (result["status"], result["normalised"], "S3Object" in model.image) == ("ok", None, True)


# --- normalised ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "options", "expected"),
    [
        ("WEBP", {}, "webp→jpeg"),
        ("BMP", {}, "bmp→jpeg"),
        ("GIF", {}, "gif→jpeg, palette→rgb"),
    ],
)
def test_formats_the_api_refuses_are_sent_as_jpeg_bytes(s3, model, fmt, options, expected):
    result = run(s3, model, f"leaves/photo.{fmt.lower()}", encode(solid((300, 200)), fmt, **options))
    assert (result["status"], result["normalised"]) == ("ok", expected)
    assert model.sent().size == (300, 200)
    assert result["labels"] == [{"name": "leaf-smut", "confidence": 91.0}] and result["alert"] is True


def test_animated_gif_sends_its_first_frame(s3, model):
    frames = [solid((120, 90), colour) for colour in [(200, 0, 0), (0, 200, 0), (0, 0, 200)]]
    body = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    result = run(s3, model, "anim.gif", body)
    assert result["normalised"] == "gif→jpeg, palette→rgb, first of 3 frames"
    red, green, blue = model.sent().convert("RGB").getpixel((60, 45))
    assert red > 150 and green < 50 and blue < 50


def test_multi_page_tiff_sends_its_first_page(s3, model):
    pages = [solid((200, 150), (250, 250, 250)), solid((200, 150), (0, 0, 0))]
    result = run(s3, model, "scan.tif", encode(pages[0], "TIFF", save_all=True, append_images=pages[1:]))
    assert result["normalised"] == "tiff→jpeg, first of 2 pages"
    assert model.sent().convert("L").getpixel((100, 75)) > 200


def test_cmyk_jpeg_becomes_rgb(s3, model):
    result = run(s3, model, "print.jpg", encode(solid((200, 150)).convert("CMYK"), "JPEG"))
    assert result["normalised"] == "jpeg→jpeg, cmyk→rgb"
    assert model.sent().mode == "RGB"


def test_16_bit_png_becomes_8_bit_keeping_brightness(s3, model):
    result = run(s3, model, "scan16.png", encode(Image.new("I;16", (200, 150), 40000), "PNG"))
    assert result["normalised"] == "png→jpeg, 16-bit→8-bit"
    assert abs(model.sent().getpixel((100, 75)) - 40000 // 256) <= 2  # not clipped to white


def test_palette_png_becomes_rgb(s3, model):
    result = run(s3, model, "chart.png", encode(solid((200, 150)).convert("P"), "PNG"))
    assert result["normalised"] == "png→jpeg, palette→rgb"
    assert model.sent().mode == "RGB"


def test_transparency_is_kept_as_png(s3, model):
    image = solid((200, 150), (40, 160, 60, 0), mode="RGBA")
    image.paste((40, 160, 60, 255), (50, 50, 150, 100))
    result = run(s3, model, "cutout.webp", encode(image, "WEBP", lossless=True))
    assert result["normalised"] == "webp→png"
    assert model.sent().mode == "RGBA"


def test_exif_rotated_jpeg_is_sent_upright(s3, model):
    exif = Image.Exif()
    exif[0x0112] = 6  # camera held upright: rotate 90° clockwise to view
    result = run(s3, model, "phone.jpg", encode(solid((120, 80)), "JPEG", exif=exif))
    assert result["normalised"] == "jpeg→jpeg, rotated 90°"
    sent = model.sent()
    assert sent.size == (80, 120)
    assert sent.getexif().get(0x0112) in (None, 1)  # not rotated twice
    assert (record(result)["width"], record(result)["height"]) == (120, 80)  # the original


def test_over_4096_px_is_downscaled_keeping_the_aspect_ratio(s3, model):
    result = run(s3, model, "camera.jpg", encode(solid((5000, 3000)), "JPEG"))
    assert result["normalised"] == "jpeg→jpeg, downscaled 5000x3000→2048x1229"
    assert model.sent().size == (2048, 1229)
    assert (record(result)["width"], record(result)["height"]) == (5000, 3000)


def test_png_over_4_mb_after_conversion_is_jpeg_within_4_mb(s3, model):
    image = noise((2000, 1500), mode="LA")  # random alpha: transparent, but over 4 MB as an RGBA PNG
    result = run(s3, model, "noisy.png", encode(image, "PNG"))
    assert result["status"] == "ok"
    assert (
        result["normalised"].startswith("png→jpeg, ") and "alpha flattened on white" in result["normalised"]
    )
    assert model.sent().format == "JPEG"


def test_jpeg_over_15_mb_is_reencoded(s3, model):
    body = encode(solid((300, 200)), "JPEG") + bytes(15 * 2**20)
    result = run(s3, model, "padded.jpg", body)
    assert result["normalised"].startswith("jpeg→jpeg, 15.0 MB object over the 15 MB limit")
    assert model.sent().size == (300, 200)


@pytest.mark.skipif(not HEIF_SUPPORTED, reason="pillow-heif not installed")
def test_heic_from_a_phone(s3, model):
    import pillow_heif  # dev-only (GPL encoder): writes the test file; the Lambda decodes with pi-heif

    buffer = io.BytesIO()
    pillow_heif.from_pillow(solid((320, 240))).save(buffer, format="HEIF", quality=80)
    result = run(s3, model, "IMG_0001.HEIC", buffer.getvalue())
    assert (result["status"], result["normalised"]) == ("ok", "heic→jpeg")
    assert model.sent().size == (320, 240)


@pytest.mark.skipif("avif" not in NORMALISED_FORMATS, reason="Pillow built without AVIF")
def test_avif(s3, model):
    result = run(s3, model, "photo.avif", encode(solid((320, 240)), "AVIF"))
    assert (result["status"], result["normalised"]) == ("ok", "avif→jpeg")


def test_model_refusing_a_clean_jpeg_gets_it_reencoded_once(s3):
    refusal = ClientError({"Error": {"Code": "InvalidImageFormatException"}}, "DetectCustomLabels")
    model = Model(errors=[refusal])
    result = run(s3, model, "odd.jpg", encode(solid((200, 150)), "JPEG"))
    assert result["status"] == "ok"
    assert result["normalised"] == "jpeg→jpeg (the model refused the original)"
    assert ["S3Object" in r["Image"] for r in model.requests] == [True, False]


# --- rejected ---------------------------------------------------------------------------------------


def test_empty_object(s3, model):
    assert rejected(run(s3, model, "empty.jpg", b""), model) == "empty-object"


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_jpeg(s3, model, cut):
    body = encode(noise((900, 700)), "JPEG", quality=95)
    assert rejected(run(s3, model, "cut.jpg", body[: int(len(body) * cut)]), model) == "truncated-image"


def test_truncated_webp(s3, model):
    body = encode(noise((300, 200)), "WEBP")
    assert rejected(run(s3, model, "cut.webp", body[: len(body) // 2]), model) == "truncated-image"


def test_garbage_after_a_valid_jpeg_header(s3, model):
    jpeg = encode(noise((300, 200)), "JPEG")
    scan = jpeg.index(b"\xff\xda")
    header_end = scan + 2 + int.from_bytes(jpeg[scan + 2 : scan + 4], "big")
    body = jpeg[:header_end] + noise((100, 100), seed=7).tobytes() + b"\xff\xd9"
    assert rejected(run(s3, model, "garbage.jpg", body), model) == "corrupt-image"


def test_unparseable_header(s3, model):
    body = b"\xff\xd8\xff\xe0" + b"garbage" * 20
    assert rejected(run(s3, model, "header.jpg", body), model) == "corrupt-image"


@pytest.mark.parametrize(
    "body",
    [b"shopping list: apples, pears\n" * 10, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n" * 5],
    ids=["text", "pdf"],
)
def test_not_an_image_named_jpg(s3, model, body):
    assert rejected(run(s3, model, "leaves/photo.jpg", body), model) == "not-an-image"


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_too_small_reports_its_size(s3, model, fmt):
    result = run(s3, model, "tiny.img", encode(solid((40, 40)), fmt))
    assert rejected(result, model) == "too-small"
    assert (record(result)["width"], record(result)["height"]) == (40, 40)


def test_extreme_aspect_ratio(s3, model):
    result = run(s3, model, "banner.png", encode(solid((5000, 70)), "PNG"))
    assert rejected(result, model) == "extreme-aspect-ratio"


@pytest.mark.parametrize(("width", "height"), [(50_000, 50_000), (12_000, 9_000)])
def test_decompression_bomb_is_refused_from_its_header(s3, model, width, height):
    body = png_header_only(width, height)
    assert len(body) < 200
    assert rejected(run(s3, model, "bomb.png", body), model) == "decompression-bomb"


def test_object_over_the_download_limit_is_too_large(s3, model, monkeypatch):
    monkeypatch.setattr(image_check, "MAX_INPUT_BYTES", 100_000)
    body = encode(noise((400, 300)), "WEBP", lossless=True)
    assert len(body) > 100_000
    assert rejected(run(s3, model, "huge.webp", body), model) == "too-large"


def test_deleted_before_processing(s3, model):
    s3.put_object(Bucket=BUCKET, Key="gone.jpg", Body=encode(solid((100, 80)), "JPEG"))
    s3.delete_object(Bucket=BUCKET, Key="gone.jpg")
    assert rejected(run(s3, model, "gone.jpg", None), model) == "object-missing"


@pytest.mark.parametrize("body", [b"", b"not empty"])
def test_folder_placeholder(s3, model, body):
    assert rejected(run(s3, model, "leaves/new folder/", body), model) == "folder-placeholder"


@pytest.mark.parametrize(
    ("fmt", "body"),
    [
        ("ico", encode(solid((64, 64)), "ICO")),
        ("svg", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"/>'),
        ("jpeg2000", encode(solid((100, 100)), "JPEG2000")),
    ],
)
def test_other_image_formats_are_unsupported(s3, model, fmt, body):
    assert rejected(run(s3, model, "leaves/photo.jpg", body), model) == f"unsupported-format:{fmt}"


# --- keys ------------------------------------------------------------------------------------------

LONG_KEY = "feuilles/" + "é" * 505 + "x.jpg"  # S3's limit: 1024 bytes of UTF-8


@pytest.mark.parametrize(
    "key",
    ["a b/c+d.jpg", "prix 100%.jpg", "a%2Bb.jpg", "feuille été/叶子 🍃.jpg", LONG_KEY],
    ids=["space-plus", "percent", "literal-%2B", "unicode", "1024-bytes"],
)
def test_keys_reach_the_right_object(s3, model, key):
    assert len(LONG_KEY.encode()) == 1024
    result = run(s3, model, key, encode(solid((100, 80)), "JPEG"))
    assert result["status"] == "ok"
    assert model.image["S3Object"]["Name"] == key
    assert result["image"] == f"s3://{BUCKET}/{key}" and record(result)["key"] == key


def test_webp_with_a_1024_byte_unicode_key(s3, model):
    key = "feuilles/" + "é" * 505 + ".webp"
    assert len(key.encode()) == 1024
    result = run(s3, model, key, encode(solid((100, 80)), "WEBP"))
    assert (result["status"], result["normalised"], record(result)["key"]) == ("ok", "webp→jpeg", key)


def test_decompression_bomb_in_a_format_found_by_pillow(s3, model):
    """A BMP header claiming 50000 x 50000 (RLE would make such a file small)."""
    header = encode(solid((64, 64)), "BMP")
    body = header[:18] + (50_000).to_bytes(4, "little") + (50_000).to_bytes(4, "little") + header[26:]
    assert rejected(run(s3, model, "bomb.bmp", body), model) == "decompression-bomb"
