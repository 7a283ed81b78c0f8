"""Bounds on the processor time decoding an image may take.

A progressive JPEG is decoded scan by scan; a file of 60,000 tiny scans (1 MB) took 39 s of
processor time, far over the function's 30 s at Lambda's share of a core, and every retry took as
long. Two bounds:

- ``check_jpeg_scans``: the scans are counted from the bytes before anything is decoded (a scan
  starts with an SOS marker; after the first one, entropy-coded data cannot contain the marker's two
  bytes, since JPEG stuffs a zero after every 0xFF), and more than ``MAX_JPEG_SCANS`` is
  ``too-many-scans``. libjpeg's progressive scripts have 6 to 10 scans, mozjpeg's optimised ones
  fewer than 20.
- ``open_with_deadline``: Pillow feeds its decoders from the file object in blocks; this file refuses
  to give a block once the deadline (from the invocation's remaining time) has passed, so a decode
  still running then ends as ``decode-timeout`` instead of the function's timeout (which the
  workflow would retry, as long again).
"""

from __future__ import annotations

import io
import time

from PIL import Image

from .errors import ImageRejected

MAX_JPEG_SCANS = 100
READ_BLOCK = 16 * 1024  # the most Pillow decodes between two looks at the clock
_SOS = b"\xff\xda"
_STANDALONE = set(range(0xD0, 0xDA)) | {0x01}  # RSTn, SOI, EOI, TEM: markers without a length


def count_jpeg_scans(data: bytes) -> int:
    """How many scans (SOS markers) ``data`` holds; segments before the first scan are skipped by
    their lengths (an EXIF thumbnail or an ICC profile may hold the marker's bytes)."""
    position = 2  # after SOI
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return 0  # not a marker where one must be: the header parser rejects it
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in _STANDALONE:
            position += 2
            continue
        if marker == 0xDA:
            return 1 + data.count(_SOS, position + 2)
        position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return 0


def check_jpeg_scans(data: bytes) -> None:
    if count_jpeg_scans(data) > MAX_JPEG_SCANS:
        raise ImageRejected("too-many-scans")


class DecodeDeadlineExceeded(Exception):
    """The decode was still running at its deadline."""


class DeadlineReader(io.BytesIO):
    """``data`` as a file whose reads fail once ``time.monotonic()`` passes ``deadline``."""

    def __init__(self, data: bytes, deadline: float | None) -> None:
        super().__init__(data)
        self.deadline = deadline

    def read(self, size: int | None = -1) -> bytes:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise DecodeDeadlineExceeded
        return super().read(size)


def open_with_deadline(data: bytes, deadline: float | None, **open_options: object) -> Image.Image:
    """``Image.open`` over a ``DeadlineReader``, decoding ``READ_BLOCK`` bytes between two looks at
    the clock (Pillow's default block is 64 KB: seconds of a scan bomb)."""
    image = Image.open(DeadlineReader(data, deadline), **open_options)
    image.decodermaxblock = READ_BLOCK
    return image
