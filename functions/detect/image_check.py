"""Check an uploaded image by its content (magic bytes, Pillow), not by its file name, and decide how
DetectCustomLabels gets it.

- A clean JPEG or PNG within the API's limits (64-4096 px per side, at most 15 MB, 8-bit RGB/gray,
  no EXIF rotation) goes as the S3 object: only its first ``SNIFF_BYTES`` and last ``TAIL_BYTES`` are
  read (the tail tells a truncated upload; a file without the end marker is decoded once to be sure).
- Other images people upload (WebP, GIF, BMP, TIFF, HEIC/HEIF, AVIF, CMYK or 16-bit or palette or
  rotated JPEG/PNG, over 4096 px, over 15 MB) are downloaded (up to ``MAX_INPUT_BYTES``) and
  normalised into JPEG/PNG bytes (``normalise.py``).
- Everything else raises ``ImageRejected`` with a reason code (docs/contracts.md).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from PIL import Image

from .decode_limits import check_jpeg_scans, open_with_deadline
from .errors import DetectorMisconfigured, ImageRejected
from .keys import s3_uri
from .normalise import (
    MAX_PIXELS,
    MAX_SIDE,
    MIN_SIDE,
    NORMALISED_FORMATS,
    check_pixels,
    exif_orientation,
    normalise,
    pillow_guard,
)
from .s3_errors import error_code, error_message, translate_s3_error

SNIFF_BYTES = 256 * 1024
TAIL_BYTES = 32
MAX_OBJECT_BYTES = 15 * 1024 * 1024  # DetectCustomLabels S3Object limit
MAX_INPUT_BYTES = 64 * 1024 * 1024  # the largest object downloaded to normalise it
ACCEPTED_FORMATS = ("jpeg", "png")
# PNG (bit depth, colour type) sent as they are: 8-bit gray, RGB, RGBA.
_PNG_AS_IS = {(8, 0), (8, 2), (8, 6)}
_END_MARKERS = {"jpeg": b"\xff\xd9", "png": b"IEND\xaeB`\x82"}

__all__ = [
    "ACCEPTED_FORMATS",
    "MAX_INPUT_BYTES",
    "MAX_OBJECT_BYTES",
    "MAX_PIXELS",
    "MAX_SIDE",
    "MIN_SIDE",
    "SNIFF_BYTES",
    "CheckedImage",
    "check_image",
    "normalise_object",
    "sniff_format",
]

_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs"}
_HEIF_BRANDS = {b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}


@dataclass(frozen=True)
class CheckedImage:
    format: str  # the upload's format: "jpeg", "png", "webp", ...
    width: int  # of the upload, as stored (before EXIF orientation or any downscaling)
    height: int
    size: int  # bytes of the S3 object
    data: bytes | None = None  # JPEG/PNG bytes to send; None: send the S3 object itself
    normalised: str | None = None  # what was done to get ``data``, e.g. "webp→jpeg, rotated 90°"


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
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(head)) as image:
                return (image.format or "unknown").lower()
    except Image.DecompressionBombError:
        raise ImageRejected("decompression-bomb") from None
    except Exception:
        return None


@dataclass(frozen=True)
class _Header:
    width: int
    height: int
    problems: tuple[str, ...]  # why the object cannot go to the API as it is
    bit_depth: int | None


def read_header(data: bytes, fmt: str) -> _Header:
    """Size and the properties DetectCustomLabels cares about, from a JPEG or PNG header only."""
    with pillow_guard(header=True), Image.open(io.BytesIO(data), formats=[fmt.upper()]) as image:
        width, height = image.size
        mode = image.mode
        orientation = exif_orientation(image.info)
    problems = []
    bit_depth = None
    if fmt == "png":
        bit_depth, colour_type = data[24], data[25]
        if (bit_depth, colour_type) not in _PNG_AS_IS:
            problems.append("png-mode")
    elif mode not in ("RGB", "L"):
        problems.append("jpeg-mode")
    if orientation != 1:
        problems.append("orientation")
    if max(width, height) > MAX_SIDE:
        problems.append("over-4096")
    return _Header(width, height, tuple(problems), bit_depth)


def read_dimensions(data: bytes, fmt: str) -> tuple[int, int]:
    """(width, height) from a JPEG or PNG header; ImageRejected when the header cannot be parsed."""
    header = read_header(data, fmt)
    return header.width, header.height


def _version(version_id: str | None) -> dict[str, str]:
    return {"VersionId": version_id} if version_id else {}


def _object_size(s3: Any, bucket: str, key: str, version_id: str | None) -> int:
    """The uploaded version's size; ``object-missing`` if the object was deleted since.

    The input bucket is versioned, so the uploaded version outlives a delete. The current object is
    asked for first: a delete marker there (404) means the user deleted the image before it was
    processed, and it is not processed. A newer upload of the key is its own event; this one still
    reads its own version.
    """
    try:
        current = s3.head_object(Bucket=bucket, Key=key)
        if version_id is None or current.get("VersionId") == version_id:
            return int(current["ContentLength"])
        return int(s3.head_object(Bucket=bucket, Key=key, **_version(version_id))["ContentLength"])
    except ClientError as exc:
        raise translate_s3_error(exc, "HeadObject", s3_uri(bucket, key)) from exc


def _first_bytes(s3: Any, bucket: str, key: str, version_id: str | None) -> tuple[int, bytes]:
    """The uploaded version's size and its first ``SNIFF_BYTES``; ``object-missing`` if deleted since.

    One ranged GET of the current object answers both while it is still the uploaded version (the
    usual case: its ``Content-Range`` carries the size), as ``_object_size`` explains; a newer upload
    of the key makes it a second GET, of this version. S3 refuses any range of an empty object (416
    ``InvalidRange``): then the sizes come from HEAD.
    """
    sniff = f"bytes=0-{SNIFF_BYTES - 1}"
    try:
        response = s3.get_object(Bucket=bucket, Key=key, Range=sniff)
        if version_id is not None and response.get("VersionId") != version_id:
            response["Body"].close()
            response = s3.get_object(Bucket=bucket, Key=key, Range=sniff, **_version(version_id))
        return _total_size(response), response["Body"].read()
    except ClientError as exc:
        if error_code(exc) != "InvalidRange":
            translated = translate_s3_error(exc, "GetObject", s3_uri(bucket, key))
            unexplained = "perform:" not in error_message(exc)  # S3 named no refused action
            if (
                isinstance(translated, DetectorMisconfigured)
                and unexplained
                and _readable_by_head(s3, bucket, key, version_id)
            ):
                # HEAD needs s3:GetObject but no key: a GET refused where HEAD is allowed was refused
                # for the object's KMS key (S3 does not always name the refused action)
                raise ImageRejected("kms-key-unusable") from exc
            raise translated from exc
    size = _object_size(s3, bucket, key, version_id)
    return size, _read(s3, bucket, key, version_id, f"bytes=0-{min(size, SNIFF_BYTES) - 1}") if size else b""


def _readable_by_head(s3: Any, bucket: str, key: str, version_id: str | None) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key, **_version(version_id))
    except ClientError:
        return False
    return True


def _total_size(response: dict[str, Any]) -> int:
    """The object's size from a ranged GET (``Content-Range: bytes 0-262143/1048576``)."""
    content_range = response.get("ContentRange") or ""
    total = content_range.rpartition("/")[2]
    return int(total) if total.isdigit() else int(response["ContentLength"])  # not ranged: all of it


def _read(s3: Any, bucket: str, key: str, version_id: str | None, byte_range: str | None) -> bytes:
    """The object's bytes (``byte_range`` like "bytes=0-99" or "bytes=-32", None for all of it)."""
    ranged = {"Range": byte_range} if byte_range else {}
    try:
        response = s3.get_object(Bucket=bucket, Key=key, **ranged, **_version(version_id))
        return response["Body"].read()
    except ClientError as exc:
        raise translate_s3_error(exc, "GetObject", s3_uri(bucket, key)) from exc


def _verify_decodes(data: bytes, fmt: str, deadline: float | None) -> None:
    """Decode once (JPEG at 1/8 scale): truncated-image or corrupt-image when it does not."""
    if fmt == "jpeg":
        check_jpeg_scans(data)
    with pillow_guard(), open_with_deadline(data, deadline, formats=[fmt.upper()]) as image:
        if fmt == "jpeg":
            image.draft(None, (1, 1))
        image.load()


def check_image(
    s3: Any, *, bucket: str, key: str, version_id: str | None = None, deadline: float | None = None
) -> CheckedImage:
    """Check the object ``key`` (decoded) in ``bucket``: the S3 object as it is, or normalised bytes.

    ImageRejected says why it cannot be used; S3 errors are translated (s3_errors.py). ``deadline``
    (``time.monotonic()`` seconds) bounds any decoding: a decode still running then is
    ``decode-timeout``.
    """
    if key.endswith("/"):
        raise ImageRejected("folder-placeholder")
    size, head = _first_bytes(s3, bucket, key, version_id)
    if size == 0 or not head:  # (empty after a HEAD: replaced by an empty object between the calls)
        raise ImageRejected("empty-object")
    whole = head if len(head) >= size else None
    fmt = sniff_format(head)
    if fmt is None:
        raise ImageRejected("not-an-image")
    if fmt not in ACCEPTED_FORMATS and fmt not in NORMALISED_FORMATS:
        raise ImageRejected(f"unsupported-format:{fmt}")
    if fmt == "jpeg":
        check_jpeg_scans(head)  # a scan bomb shows in its first bytes: no need to download the rest

    bit_depth = None
    if fmt in ACCEPTED_FORMATS:
        try:
            header = read_header(head, fmt)
        except ImageRejected as rejected:
            if whole is not None or rejected.reason == "decompression-bomb" or size > MAX_INPUT_BYTES:
                raise
            # Rare: metadata (EXIF, ICC, XMP) longer than the sniffed part pushes the header further out.
            whole = _read(s3, bucket, key, version_id, None)
            header = read_header(whole, fmt)
        check_pixels(header.width, header.height)
        bit_depth = header.bit_depth
        if not header.problems and size <= MAX_OBJECT_BYTES:
            if whole is not None:
                _verify_decodes(whole, fmt, deadline)
            elif _END_MARKERS[fmt] not in _read(s3, bucket, key, version_id, f"bytes=-{TAIL_BYTES}"):
                # No end marker: truncated, or data after it (e.g. a phone's motion-photo video).
                _verify_decodes(_read(s3, bucket, key, version_id, None), fmt, deadline)
            return CheckedImage(format=fmt, width=header.width, height=header.height, size=size)

    if size > MAX_INPUT_BYTES:
        raise ImageRejected("too-large")
    if whole is None:
        whole = _read(s3, bucket, key, version_id, None)
    return _normalised(whole, fmt, size, bit_depth, deadline)


def _normalised(
    data: bytes, fmt: str, size: int, bit_depth: int | None, deadline: float | None
) -> CheckedImage:
    result, width, height = normalise(data, source_format=fmt, bit_depth=bit_depth, deadline=deadline)
    description = result.description
    if fmt in ACCEPTED_FORMATS and size > MAX_OBJECT_BYTES:
        description += f", {size / 2**20:.1f} MB object over the 15 MB limit"
    return CheckedImage(
        format=fmt,
        width=width,
        height=height,
        size=size,
        data=result.data,
        normalised=description,
    )


def normalise_object(
    s3: Any,
    *,
    bucket: str,
    key: str,
    version_id: str | None,
    checked: CheckedImage,
    deadline: float | None = None,
) -> CheckedImage:
    """Re-encode an image sent as the S3 object after the API refused it (InvalidImageFormat):
    it decodes here (else truncated-image / corrupt-image), so send what Pillow made of it."""
    if checked.size > MAX_INPUT_BYTES:
        raise ImageRejected("too-large")
    data = _read(s3, bucket, key, version_id, None)
    return _normalised(data, checked.format, checked.size, None, deadline)
