"""Test data for the detect function: constants, events, images, Rekognition answers."""

from __future__ import annotations

import io
import random
import zlib

from PIL import Image

from labelwatch.soak.inputs import progressive_scan_bomb  # noqa: F401 (one maker for tests and soak)

BUCKET = "input-bucket"
MODEL_ARN = "arn:aws:rekognition:us-east-1:123456789012:project/leaves/version/leaves.v1/1700000000000"
EXECUTION = "arn:aws:states:us-east-1:123456789012:express:labelwatch:exec-1:run-1"
RULES = '{"leaf-smut": 80, "bacterial-leaf-blight": 70.5}'


def image_bytes(fmt: str, size: tuple[int, int] = (100, 80)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (40, 160, 60)).save(buffer, fmt)
    return buffer.getvalue()


def custom_label(name: str, confidence: float, box: dict | None = None) -> dict:
    item = {"Name": name, "Confidence": confidence}
    if box is not None:
        item["Geometry"] = {"BoundingBox": box}
    return item


def make_event(key: str, *, sequencer: str = "0062E99A88DC407460", version_id: str | None = None) -> dict:
    obj = {"key": key, "size": 123, "etag": "abc", "sequencer": sequencer}
    if version_id:
        obj["version-id"] = version_id
    return {
        "bucket": BUCKET,
        "key": key,
        "sequencer": sequencer,
        "eventTime": "2026-11-25T10:00:00Z",
        "object": obj,
        "execution": EXECUTION,
        "messageId": "msg-1",
    }


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    """``image`` saved as ``fmt`` (any Pillow writer option, e.g. exif=..., save_all=True)."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def solid(size: tuple[int, int], colour=(40, 160, 60), mode: str = "RGB") -> Image.Image:
    return Image.new(mode, size, colour)


def noise(size: tuple[int, int], seed: int = 0, mode: str = "RGB") -> Image.Image:
    """Incompressible pixels (makes big files fast), deterministic."""
    rng = random.Random(seed)
    return Image.frombytes(mode, size, rng.randbytes(size[0] * size[1] * len(mode)))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming ``width`` x ``height`` (8-bit RGB), a tiny IDAT, IEND:
    a decompression bomb's header without allocating anything."""
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )
