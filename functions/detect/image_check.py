"""Check an uploaded image by its content (magic bytes, Pillow), not by its file name.

Only the first ``SNIFF_BYTES`` of the object are read: enough for the format and the pixel size of a
JPEG or PNG. Accepted images are what DetectCustomLabels takes from S3: JPEG or PNG, 64-4096 px per
side, at most 15 MB. Everything else raises ``ImageRejected`` with a reason code.

Formats the model cannot take are rejected at one place (``check_image``, after ``sniff_format``);
normalising them (re-encoding to JPEG bytes) will hook in there.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from PIL import Image

from .errors import ImageRejected
from .keys import s3_uri
from .s3_errors import translate_s3_error

SNIFF_BYTES = 256 * 1024
MIN_SIDE = 64
MAX_SIDE = 4096
MAX_OBJECT_BYTES = 15 * 1024 * 1024
ACCEPTED_FORMATS = ("jpeg", "png")

_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
_HEIF_BRANDS = {b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}


@dataclass(frozen=True)
class CheckedImage:
    format: str  # "jpeg" | "png"
    width: int
    height: int
    size: int  # bytes of the S3 object


def _isobmff_format(head: bytes) -> str | None:
    """HEIC/HEIF/AVIF: an ISO media file whose 'ftyp' box names an image brand."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    box_end = min(int.from_bytes(head[0:4], "big"), len(head))
    brands = {head[8:12]} | {head[i : i + 4] for i in range(16, box_end - 3, 4)}
    if brands & _AVIF_BRANDS:
        return "avif"
    if brands & _HEIC_BRANDS:
        return "heic"
    if brands & _HEIF_BRANDS:
        return "heif"
    return None


def sniff_format(head: bytes) -> str | None:
    """The image format (lower case) from the first bytes, or None when it is not an image."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    isobmff = _isobmff_format(head)
    if isobmff:
        return isobmff
    start = head[:1024].lstrip().lower()
    if start.startswith(b"<svg") or (start.startswith(b"<?xml") and b"<svg" in start):
        return "svg"
    # Anything else Pillow can identify (bmp, ico, ppm, jpeg2000, ...) is an image of another format.
    try:
        with Image.open(io.BytesIO(head)) as image:
            return (image.format or "unknown").lower()
    except Exception:
        return None


def read_dimensions(data: bytes, fmt: str) -> tuple[int, int]:
    """(width, height) from a JPEG or PNG header; ImageRejected when the header cannot be parsed."""
    try:
        with Image.open(io.BytesIO(data), formats=[fmt.upper()]) as image:
            return image.size
    except Image.DecompressionBombError:
        raise ImageRejected("too-large") from None
    except Exception:
        raise ImageRejected("corrupt-image") from None


def check_dimensions(width: int, height: int) -> None:
    if min(width, height) < MIN_SIDE:
        raise ImageRejected("too-small", width=width, height=height)
    if max(width, height) > MAX_SIDE:
        raise ImageRejected("too-large", width=width, height=height)


def _version(version_id: str | None) -> dict[str, str]:
    return {"VersionId": version_id} if version_id else {}


def _object_size(s3: Any, bucket: str, key: str, version_id: str | None) -> int:
    try:
        response = s3.head_object(Bucket=bucket, Key=key, **_version(version_id))
    except ClientError as exc:
        raise translate_s3_error(exc, "HeadObject", s3_uri(bucket, key)) from exc
    return int(response["ContentLength"])


def _read(s3: Any, bucket: str, key: str, version_id: str | None, length: int) -> bytes:
    try:
        response = s3.get_object(
            Bucket=bucket, Key=key, Range=f"bytes=0-{length - 1}", **_version(version_id)
        )
        return response["Body"].read()
    except ClientError as exc:
        raise translate_s3_error(exc, "GetObject", s3_uri(bucket, key)) from exc


def check_image(s3: Any, *, bucket: str, key: str, version_id: str | None = None) -> CheckedImage:
    """Check the object ``key`` (decoded) in ``bucket``; ImageRejected says why it cannot be used."""
    if key.endswith("/"):
        raise ImageRejected("folder-placeholder")
    size = _object_size(s3, bucket, key, version_id)
    if size == 0:
        raise ImageRejected("empty-object")

    head = _read(s3, bucket, key, version_id, min(size, SNIFF_BYTES))
    if not head:  # replaced by an empty object between HEAD and GET
        raise ImageRejected("empty-object")
    fmt = sniff_format(head)
    if fmt is None:
        raise ImageRejected("not-an-image")
    if fmt not in ACCEPTED_FORMATS:
        raise ImageRejected(f"unsupported-format:{fmt}")
    if size > MAX_OBJECT_BYTES:
        raise ImageRejected("too-large")

    try:
        width, height = read_dimensions(head, fmt)
    except ImageRejected:
        if len(head) >= size:
            raise
        # Rare: metadata (EXIF, ICC, XMP) longer than the sniffed part pushes the header further out.
        width, height = read_dimensions(_read(s3, bucket, key, version_id, size), fmt)
    check_dimensions(width, height)
    return CheckedImage(format=fmt, width=width, height=height, size=size)
