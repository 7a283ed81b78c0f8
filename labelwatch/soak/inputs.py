"""What people really upload, one kind at a time, with the outcome each must get.

Good photos (JPEG, PNG), photos that must be normalised before the model sees them (WebP, GIF,
BMP, TIFF, HEIC, CMYK, 16-bit, palette, EXIF-rotated, oversized), and inputs that must be rejected
with a precise reason (empty, truncated, corrupt, not an image, too small, decompression bomb,
unsupported format, folder placeholder, deleted before processing).
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

from labelwatch.demo.leaves import LABELS, leaf_photo

OK = "ok"
UPLOADS_PER_FOLDER = 3


@dataclass(frozen=True)
class InputKind:
    name: str
    suffix: str  # key ending, as a user's file would have
    make: Callable[[Image.Image], bytes]  # from a leaf photo (ignored by kinds that are not photos)
    expected: str  # OK or the rejection reason
    has_leaf: bool = True  # whether the image shows a leaf (its label is the truth)
    delete_after_upload: bool = False


def _save(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _jpeg(photo: Image.Image) -> bytes:
    return _save(photo, "JPEG", quality=90)


def _exif_rotated(photo: Image.Image) -> bytes:
    """A phone photo stored sideways with EXIF orientation 6 (display rotated 90° clockwise)."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return _save(photo.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=90, exif=exif.tobytes())


def _png16(photo: Image.Image) -> bytes:
    grey = photo.convert("L").point(lambda value: value * 256, mode="I")
    return _save(grey.convert("I;16"), "PNG")


def _heic(photo: Image.Image) -> bytes:
    import pillow_heif  # dev dependency: writes HEIC (the Lambda decodes with pi-heif)

    buffer = io.BytesIO()
    pillow_heif.from_pillow(photo).save(buffer, format="HEIF", quality=80)
    return buffer.getvalue()


def _oversized(photo: Image.Image) -> bytes:
    return _save(photo.resize((5000, 3000)), "JPEG", quality=80)


def _bomb(_photo: Image.Image) -> bytes:
    """A valid PNG header claiming 50,000 x 50,000 pixels, without the pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))


def progressive_scan_bomb(side: int, extra_scans: int) -> bytes:
    """A valid progressive JPEG whose smallest scan is repeated ``extra_scans`` times: each repeat is
    a few bytes and costs the decoder a pass over every block (4096 px with 2,000 extra: 165 KB and
    about 20 s of processor time to decode)."""
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (40, 160, 60)).save(buffer, "JPEG", progressive=True, quality=90)
    data = buffer.getvalue()
    end = data.rindex(b"\xff\xd9")
    starts = []
    position = data.index(b"\xff\xda")
    while position != -1 and position < end:
        starts.append(position)
        position = data.find(b"\xff\xda", position + 2)
    scans = [data[a:b] for a, b in zip(starts, [*starts[1:], end], strict=True)]
    smallest = min(scans[1:], key=len)
    return data[:end] + smallest * extra_scans + data[end:]


def _heif_writable() -> bool:
    try:
        import pillow_heif  # noqa: F401
    except ImportError:
        return False
    return True


GOOD = [
    InputKind("jpeg", ".jpg", _jpeg, OK),
    InputKind("png", ".png", lambda p: _save(p, "PNG"), OK),
]
NORMALISED = [
    InputKind("webp", ".webp", lambda p: _save(p, "WEBP", quality=85), OK),
    InputKind("gif", ".gif", lambda p: _save(p.convert("P", palette=Image.Palette.ADAPTIVE), "GIF"), OK),
    InputKind("bmp", ".bmp", lambda p: _save(p, "BMP"), OK),
    InputKind("tiff", ".tif", lambda p: _save(p, "TIFF"), OK),
    InputKind("cmyk-jpeg", ".jpg", lambda p: _save(p.convert("CMYK"), "JPEG", quality=90), OK),
    InputKind("png-16-bit", ".png", _png16, OK),
    InputKind(
        "palette-png", ".png", lambda p: _save(p.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"), OK
    ),
    InputKind("exif-rotated", ".jpg", _exif_rotated, OK),
    InputKind("oversized-5000px", ".jpg", _oversized, OK),
    *([InputKind("heic", ".heic", _heic, OK)] if _heif_writable() else []),
]
REJECTED = [
    InputKind("zero-byte", ".jpg", lambda p: b"", "empty-object", has_leaf=False),
    InputKind("truncated-jpeg", ".jpg", lambda p: _jpeg(p)[: len(_jpeg(p)) // 2], "truncated-image", False),
    InputKind(
        "corrupt-jpeg", ".jpg", lambda p: _jpeg(p)[:600] + bytes(range(256)) * 40, "corrupt-image", False
    ),
    InputKind("text-named-jpg", ".jpg", lambda p: b"%PDF-1.7\nnot a photo\n" * 20, "not-an-image", False),
    InputKind("too-small-40px", ".jpg", lambda p: _jpeg(p.resize((40, 40))), "too-small", False),
    InputKind("decompression-bomb", ".png", _bomb, "decompression-bomb", False),
    InputKind(
        "jpeg-scan-bomb", ".jpg", lambda p: progressive_scan_bomb(1024, 1_000), "too-many-scans", False
    ),
    InputKind("strip-30-to-1", ".jpg", lambda p: _jpeg(p.resize((3000, 100))), "extreme-aspect-ratio", False),
    InputKind("icon", ".ico", lambda p: _save(p.resize((64, 64)), "ICO"), "unsupported-format:ico", False),
    InputKind("folder-placeholder", "/", lambda p: b"", "folder-placeholder", False),
    InputKind("deleted-before-processing", ".jpg", _jpeg, "object-missing", False, delete_after_upload=True),
]
KINDS = GOOD + NORMALISED + REJECTED


@dataclass(frozen=True)
class PlannedUpload:
    index: int
    key: str
    kind: InputKind
    label: str | None  # the leaf's true label, for kinds that show one


def plan(
    count: int, seed: int, *, bad_share: float = 0.2, normalised_share: float = 0.25
) -> list[PlannedUpload]:
    """``count`` uploads: every kind at least once, then good, normalised and bad ones in the shares given.

    Keys are unique (``soak/<folder>/<index>-<kind><suffix>``), so each upload's outcome can be found by key.
    """
    rng = random.Random(seed)
    kinds: list[InputKind] = list(KINDS)[:count]
    for _ in range(count - len(kinds)):
        draw = rng.random()
        group = REJECTED if draw < bad_share else NORMALISED if draw < bad_share + normalised_share else GOOD
        kind = rng.choice(group)
        if kind.name == "oversized-5000px" and rng.random() < 0.8:  # heavy to make; keep it rare
            kind = GOOD[0]
        kinds.append(kind)
    rng.shuffle(kinds)
    uploads = []
    for index, kind in enumerate(kinds):
        label = rng.choice(LABELS) if kind.has_leaf else None
        # three uploads a folder: flood control alerts the first match of a label in each and holds
        # the others back (alertCooldownMinutes), so both paths, and the digests, are soaked
        folder = f"soak/{index // UPLOADS_PER_FOLDER:04d}/"
        name = f"{index:05d}-{kind.name}{kind.suffix}" if kind.suffix != "/" else f"{index:05d}-folder/"
        key = folder + name
        uploads.append(PlannedUpload(index, key, kind, label))
    return uploads


def body_of(upload: PlannedUpload, seed: int, size: int) -> bytes:
    """The bytes of one planned upload (drawn from its own seed: any order, same bytes)."""
    label = upload.label or LABELS[upload.index % len(LABELS)]
    photo = leaf_photo(label, random.Random(f"{seed}-soak-{upload.index}"), size)
    return upload.kind.make(photo)
