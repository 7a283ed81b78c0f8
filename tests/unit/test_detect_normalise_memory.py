"""normalise: the decoded pixels are the largest buffer, and decoding is budgeted by bytes.

Lambda kills a function over its memory (no ``MemoryError`` to catch), so what could exceed it must be
refused from the header, and nothing may widen a full-size image. ``make bench`` prints the peaks.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from detect import normalise as normalise_module
from detect.errors import ImageRejected
from detect.normalise import MAX_DECODED_BYTES, decoded_bytes, normalise
from PIL import Image

SIDE = 4200  # over 4096: downscaled to 2048


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture
def conversions(monkeypatch):
    """(mode, size, to) of every Image.convert call made while normalising."""
    seen: list[tuple[str, tuple[int, int], str]] = []
    original = Image.Image.convert

    def convert(self, mode=None, *args, **kwargs):
        seen.append((self.mode, self.size, mode))
        return original(self, mode, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "convert", convert)
    return seen


@pytest.mark.parametrize(
    ("image", "fmt", "options"),
    [
        (Image.fromarray(np.zeros((SIDE, SIDE), np.uint16)), "PNG", {}),
        (
            Image.fromarray(np.zeros((SIDE, SIDE), np.float32), "F"),
            "TIFF",
            {"compression": "tiff_adobe_deflate"},
        ),
        (
            Image.fromarray(np.zeros((SIDE, SIDE), np.int32), "I"),
            "TIFF",
            {"compression": "tiff_adobe_deflate"},
        ),
        (Image.new("P", (SIDE, SIDE)), "GIF", {}),
        (Image.new("CMYK", (SIDE, SIDE)), "TIFF", {"compression": "tiff_adobe_deflate"}),
    ],
    ids=["png-16-bit", "tiff-float", "tiff-32-bit", "gif-palette", "tiff-cmyk"],
)
def test_deep_or_indexed_pixels_are_converted_only_once_downscaled(conversions, image, fmt, options):
    """16-bit, 32-bit and float gray (2 or 4 bytes a pixel), palettes (1 byte) and CMYK: converting
    them at full size made a second (and third) full-size copy, over 1 GB for a 690 KB float TIFF."""
    result, width, height = normalise(encoded(image, fmt, **options), source_format=fmt.lower())

    assert (width, height) == (SIDE, SIDE) and (result.width, result.height) == (2048, 2048)
    assert conversions, "the image was converted"
    assert all(max(size) <= 2 * 2048 for _mode, size, _to in conversions), conversions


def test_decoding_is_budgeted_by_bytes_not_pixels(monkeypatch):
    """WebP's decoder holds about four copies of the RGBA pixels: a WebP the byte budget cannot hold
    is a decompression bomb, while a PNG of the same pixels (decoded once) is processed. (A budget of
    8 MiB here, for speed; the function's is MAX_DECODED_BYTES.)"""
    budget = 8 * 2**20
    assert budget < MAX_DECODED_BYTES
    monkeypatch.setattr(normalise_module, "MAX_DECODED_BYTES", budget)
    side = int((budget / 16) ** 0.5) + 8
    assert decoded_bytes(side, side, "RGBA", "WEBP") > budget >= decoded_bytes(side, side, "RGBA")
    webp = encoded(Image.new("RGBA", (side, side)), "WEBP", lossless=True, quality=0, method=0)

    with pytest.raises(ImageRejected) as rejected:
        normalise(webp, source_format="webp")
    assert (rejected.value.reason, rejected.value.width) == ("decompression-bomb", side)
    assert normalise(encoded(Image.new("RGBA", (side, side)), "PNG"), source_format="png")[0].format == "png"


def test_bytes_per_pixel_follow_pillows_storage():
    assert [decoded_bytes(10, 10, mode) for mode in ("1", "L", "P", "I;16", "LA", "RGB", "RGBA", "F")] == [
        100,
        100,
        100,
        200,
        400,
        400,
        400,
        400,
    ]
    assert normalise_module._STORED_BYTES.keys() >= {"1", "L", "P", "I;16"}
