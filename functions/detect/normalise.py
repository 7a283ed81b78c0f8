"""Turn an image DetectCustomLabels refuses into JPEG or PNG bytes it takes (docs/contracts.md).

``normalise`` decodes the first frame/page, applies the EXIF orientation, converts the colour mode,
downscales what is over 4096 px per side and encodes the result within the 4 MB ``Image.Bytes`` limit.
It never returns an image outside 64-4096 px per side or over ``MAX_BYTES``: it raises
``ImageRejected`` with a reason code instead.

Limits checked from the header, before any pixel is decoded: ``MAX_PIXELS`` (decompression bombs),
``MIN_SIDE``, the aspect ratio (``MAX_ASPECT``), and ``MAX_DECODED_BYTES``: the pixels times the
bytes Pillow stores per pixel of the mode it decodes into (1 for gray and palette, 2 for 16-bit
gray, 4 for RGB, RGBA, CMYK, 32-bit and float), because a 690 KB float TIFF decodes to 400 MB. JPEGs
are decoded at 1/2, 1/4 or 1/8 scale when they are downscaled anyway (``Image.draft``) and counted
at that scale. An image is downscaled in the mode it was decoded in, before anything widens its
pixels (16-bit or float to 8-bit, palette or CMYK to RGB), so the decoded pixels are the largest
buffer: ``make bench`` prints the peak memory of the worst accepted input of every mode.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image, features

from .decode_limits import DecodeDeadlineExceeded, check_jpeg_scans, open_with_deadline
from .errors import ImageRejected

# HEIC/HEIF (iPhone photos): a Pillow plugin from pillow-heif, or from pi-heif (the same project's
# decode-only build: LGPL wheels without the GPL x265 encoder); without either, HEIC is rejected as
# unsupported-format:heic. Found here, imported and registered with Pillow on the first HEIC/HEIF
# decode (``heif_opener``): its import (~55 ms) is not part of every cold start.
_HEIF_MODULE = next((name for name in ("pi_heif", "pillow_heif") if importlib.util.find_spec(name)), None)
HEIF_SUPPORTED = _HEIF_MODULE is not None
_heif_lock = threading.Lock()
_heif_registered = False


def heif_opener() -> bool:
    """Register the HEIC/HEIF plugin with Pillow (once); False when neither package is bundled."""
    global _heif_registered
    if not HEIF_SUPPORTED:
        return False
    with _heif_lock:
        if not _heif_registered:
            importlib.import_module(_HEIF_MODULE).register_heif_opener()
            _heif_registered = True
    return True


MIN_SIDE = 64
MAX_SIDE = 4096
# When an image must shrink (a side over MAX_SIDE), its long side becomes DOWNSCALE_LONG_SIDE: Custom
# Labels models see a far smaller input anyway, bounding boxes are relative, and a 2048 px JPEG at
# quality 90 stays well within MAX_BYTES. Images within the limits keep their pixel size.
DOWNSCALE_LONG_SIDE = 2048
MAX_BYTES = 4_000_000  # DetectCustomLabels Image.Bytes: "4 MB" (below both 4*10^6 and 4 MiB)
MAX_PIXELS = 100_000_000  # decompression-bomb limit, checked from the header
# Decoded pixels allowed in memory at once: with the handler (~90 MB) and the working copies, the worst
# accepted input of every mode peaks well under 60 % of the function's 1024 MB (``make bench``).
MAX_DECODED_BYTES = 400 * 2**20
MAX_ASPECT = 20  # DetectCustomLabels: the long side at most 20 times the short one
JPEG_QUALITIES = (90, 80, 70)
SHRINK_STEP = 0.75  # when the lowest quality is still over MAX_BYTES
MAX_SHRINKS = 8

# Formats people upload that DetectCustomLabels refuses and Pillow can decode here.
NORMALISED_FORMATS = frozenset(
    {"webp", "gif", "bmp", "tiff"}
    | ({"heic", "heif"} if HEIF_SUPPORTED else set())
    | ({"avif"} if features.check("avif") else set())
)

_ORIENTATION = {
    2: "mirrored",
    3: "rotated 180°",
    4: "flipped",
    5: "rotated 90° and mirrored",
    6: "rotated 90°",
    7: "rotated 270° and mirrored",
    8: "rotated 270°",
}
_MODE_NAMES = {
    "1": "1-bit",
    "L": "gray",
    "LA": "gray+alpha",
    "La": "gray+alpha",
    "P": "palette",
    "PA": "palette+alpha",
    "RGB": "rgb",
    "RGBA": "rgba",
    "RGBa": "rgba",
    "CMYK": "cmyk",
    "YCbCr": "ycbcr",
    "LAB": "lab",
    "HSV": "hsv",
    "I": "32-bit gray",
    "F": "float gray",
}
# Modes that go to the model as they are, once downscaled; others are converted (after downscaling).
_RESIZABLE = {"L", "LA", "RGB", "RGBA", "CMYK"}
# Bytes Pillow stores per pixel of a mode (its ``pixelsize``); every mode not listed takes 4.
_STORED_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
# Decoders that hold more than the image's own pixels while decoding (measured with ``make bench``):
# Pillow's WebP plugin gets libwebp's RGBA frame and copies it (about 4 times the pixels at the peak);
# the HEIF and AVIF decoders hand over a decoded frame (about 1.8 and 2.3 times: a 48 MP iPhone photo
# must fit).
_DECODER_COPIES = {"WEBP": 4, "HEIF": 2, "AVIF": 2}
# Palette indices and bits are not averaged: they shrink by taking pixels, to twice the target, and
# are converted to colour before the last, smooth step.
_INDEXED = {"1", "P", "PA"}
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class Normalised:
    data: bytes
    format: str  # "jpeg" | "png": what is sent
    width: int  # of the sent image
    height: int
    description: str  # e.g. "webp→jpeg, rotated 90°, downscaled 4000x6000→1365x2048"


def mode_name(mode: str) -> str:
    if mode.startswith("I;16"):
        return "16-bit gray"
    return _MODE_NAMES.get(mode, mode.lower())


def decode_failure(exc: BaseException) -> ImageRejected:
    """A decoding error as a rejection: data that ends early is truncated, anything else corrupt."""
    text = str(exc).lower()
    if isinstance(exc, EOFError) or "truncated" in text or "end of file" in text:
        return ImageRejected("truncated-image")
    return ImageRejected("corrupt-image")


@contextlib.contextmanager
def pillow_guard(*, header: bool = False) -> Iterator[None]:
    """Pillow errors as rejections; our MAX_PIXELS check replaces Pillow's bomb warning.

    ``header``: only the header is being read, so any failure means ``corrupt-image`` (a header that
    does not parse); otherwise a decoding error is ``truncated-image`` or ``corrupt-image``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            yield
        except ImageRejected:
            raise
        except DecodeDeadlineExceeded:
            raise ImageRejected("decode-timeout") from None
        except Image.DecompressionBombError:
            raise ImageRejected("decompression-bomb") from None
        except MemoryError:
            raise ImageRejected("decompression-bomb") from None
        except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error, ...
            raise (ImageRejected("corrupt-image") if header else decode_failure(exc)) from None


def exif_orientation(info: dict) -> int:
    """The EXIF orientation tag (1-8) from an opened image's ``info``, 1 when absent or unreadable."""
    raw = info.get("exif")
    if not raw:
        return 1
    try:
        exif = Image.Exif()
        exif.load(raw)
        value = int(exif.get(0x0112, 1))
    except Exception:
        return 1
    return value if value in range(1, 9) else 1


def check_pixels(width: int, height: int) -> None:
    """Header checks before decoding: decompression bomb, too small, aspect ratio over 20:1."""
    if width * height > MAX_PIXELS:
        raise ImageRejected("decompression-bomb", width=width, height=height)
    if min(width, height) < MIN_SIDE:
        raise ImageRejected("too-small", width=width, height=height)
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ImageRejected("extreme-aspect-ratio", width=width, height=height)


def decoded_bytes(width: int, height: int, mode: str, decoder: str = "") -> int:
    """The memory decoding a ``width`` x ``height`` image in ``mode`` takes (``decoder``: Pillow's
    format name, for the decoders that hold extra copies)."""
    return width * height * _STORED_BYTES.get(mode, 4) * _DECODER_COPIES.get(decoder, 1)


def check_decoded_size(width: int, height: int, mode: str, decoder: str = "") -> None:
    """``decompression-bomb`` when decoding would take more than ``MAX_DECODED_BYTES``."""
    if decoded_bytes(width, height, mode, decoder) > MAX_DECODED_BYTES:
        raise ImageRejected("decompression-bomb", width=width, height=height)


def target_size(width: int, height: int) -> tuple[int, int]:
    """The size to send: unchanged within MAX_SIDE, else long side DOWNSCALE_LONG_SIDE (never a side
    under MIN_SIDE). ``check_pixels`` has refused what is over ``MAX_ASPECT``, so a size always fits."""
    long_side, short_side = max(width, height), min(width, height)
    if long_side <= MAX_SIDE:
        return width, height
    scale = max(DOWNSCALE_LONG_SIDE / long_side, MIN_SIDE / short_side)
    return _scaled(width, height, scale)


def _scaled(width: int, height: int, scale: float) -> tuple[int, int]:
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_8bit(image: Image.Image) -> Image.Image:
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        return image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    return image


def _flatten(image: Image.Image) -> Image.Image:
    """RGB(A)/L(A) only; alpha over white (what a viewer shows for a transparent background)."""
    if image.mode in ("RGB", "L"):
        return image
    if image.mode in ("RGBA", "LA"):
        base = Image.new("RGB", image.size, (255, 255, 255))
        base.paste(image.convert("RGBA"), mask=image.getchannel("A"))
        return base
    return image.convert("RGB")


def _has_transparency(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA") and image.getchannel("A").getextrema()[0] < 255


def _encode(image: Image.Image, fmt: str, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    if fmt == "png":
        image.save(buffer, "PNG", compress_level=1)
    else:
        image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def normalise(
    data: bytes, *, source_format: str, bit_depth: int | None = None, deadline: float | None = None
) -> tuple[Normalised, int, int]:
    """Decode ``data`` (an image of ``source_format``) and re-encode it for DetectCustomLabels.

    Returns the result and the original (width, height) as stored in the file. Raises ImageRejected.
    ``bit_depth`` (PNG) lets the description say "16-bit→8-bit" where Pillow hides it. ``deadline``
    (``time.monotonic()`` seconds): a decode still running then is ``decode-timeout``.
    """
    if source_format == "webp" and int.from_bytes(data[4:8], "little") + 8 > len(data):
        raise ImageRejected("truncated-image")  # the RIFF header says how long the file is
    if source_format == "jpeg":
        check_jpeg_scans(data)
    if source_format in ("heic", "heif"):
        heif_opener()
    with pillow_guard(header=True):
        image = open_with_deadline(data, deadline)
    with pillow_guard(), image:
        width, height = image.size
        check_pixels(width, height)
        steps: list[str] = []
        frames = getattr(image, "n_frames", 1)
        if frames > 1:
            image.seek(0)
            steps.append(f"first of {frames} {'pages' if source_format == 'tiff' else 'frames'}")
        orientation = _orientation(image)
        turned = orientation in (5, 6, 7, 8)
        upright = (height, width) if turned else (width, height)
        out_w, out_h = target_size(*upright)
        stored_target = (out_h, out_w) if turned else (out_w, out_h)

        source_mode = image.mode
        if image.format in ("JPEG", "MPO") and stored_target != (width, height):
            # decode at 1/2, 1/4 or 1/8 scale (never below the target): a fraction of the memory and time
            image.draft(image.mode if image.mode in ("RGB", "L") else None, stored_target)
        check_decoded_size(*image.size, image.mode, image.format or "")
        image.load()
        work = _shrink_as_decoded(image, stored_target)
        if work.mode.startswith("I;16") or work.mode in ("I", "F"):
            work = _to_8bit(work)
        elif work.mode not in _RESIZABLE:
            alpha = "transparency" in work.info or work.mode in ("PA", "La", "RGBa")
            work = work.convert("RGBA" if alpha else "RGB")
        if work.size != stored_target:
            work = _shrink(work, stored_target)
        if work is not image:
            image.close()  # frees the full-size pixels now (up to 400 MB), not at the end of the block
        if work.mode == "CMYK":
            work = work.convert("RGB")
        if orientation != 1:
            work = work.transpose(_TRANSPOSE[orientation])
            steps.append(_ORIENTATION[orientation])
        if work.size != upright:
            steps.append(f"downscaled {upright[0]}x{upright[1]}→{work.size[0]}x{work.size[1]}")

        keep_alpha = _has_transparency(work)
        if not keep_alpha:
            work = _flatten(work)
        out_format, encoded, sent_size, quality = _fit(work, keep_alpha)

    if out_format == "jpeg" and keep_alpha:
        steps.append("alpha flattened on white")
    if sent_size != work.size:
        steps.append(f"downscaled {work.size[0]}x{work.size[1]}→{sent_size[0]}x{sent_size[1]} to fit 4 MB")
    if quality is not None and quality != JPEG_QUALITIES[0]:
        steps.append(f"quality {quality}")

    final_mode = "RGBA" if out_format == "png" else ("L" if work.mode == "L" else "RGB")
    head = [f"{source_format}→{out_format}"]
    if bit_depth == 16 or source_mode.startswith("I;16"):
        head.append("16-bit→8-bit")
    elif source_mode in ("RGBA", "LA") and not keep_alpha:
        pass  # an alpha channel without transparency: nothing a person would notice
    elif mode_name(source_mode) != mode_name(final_mode):
        head.append(f"{mode_name(source_mode)}→{mode_name(final_mode)}")
    result = Normalised(
        data=encoded,
        format=out_format,
        width=sent_size[0],
        height=sent_size[1],
        description=", ".join(head + steps),
    )
    return result, width, height


def _shrink_as_decoded(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Downscale towards ``size`` in the decoded mode, before a conversion makes every pixel wider.

    16-bit gray has no box reduce in Pillow: it is resized directly (its intermediate is one pass's
    width, far smaller). Indexed modes take pixels (no averaging of palette indices) down to twice
    the target; the smooth last step follows their conversion to colour.
    """
    if image.size == size:
        return image
    if image.mode in _INDEXED:
        near = (min(image.width, 2 * size[0]), min(image.height, 2 * size[1]))
        return image if near == image.size else image.resize(near, Image.Resampling.NEAREST)
    if image.mode.startswith("I;16"):
        return image.resize(size, Image.Resampling.LANCZOS)
    return _shrink(image, size)


def _shrink(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Resize to ``size`` (Lanczos), first box-reducing by an integer factor while the image is more
    than twice the target: the quality of a direct Lanczos resize at a fraction of the memory."""
    factor = int(min(image.width / size[0], image.height / size[1]) // 2)
    if factor >= 2:
        reduced = _reduce(image, factor)
        if reduced is not image:
            image.close()
        image = reduced
    return image.resize(size, Image.Resampling.LANCZOS)


def _reduce(image: Image.Image, factor: int) -> Image.Image:
    """``image.reduce(factor)``; with alpha in strips, because Pillow premultiplies a full-size copy."""
    if image.mode not in ("RGBA", "LA"):
        return image.reduce(factor)
    width, height = image.size
    out = Image.new(image.mode, (-(-width // factor), -(-height // factor)))
    rows = factor * max(1, 512 // factor)  # a multiple of factor: same boxes as one reduce
    for top in range(0, height, rows):
        strip = image.crop((0, top, width, min(height, top + rows)))
        out.paste(strip.reduce(factor), (0, top // factor))
    return out


def _orientation(image: Image.Image) -> int:
    orientation = exif_orientation(image.info)
    if orientation == 1 and image.format not in ("JPEG", "PNG"):
        with contextlib.suppress(Exception):  # TIFF/WebP keep the tag elsewhere
            orientation = int(image.getexif().get(0x0112, 1) or 1)
    return orientation if orientation in _ORIENTATION else 1


def _fit(image: Image.Image, keep_alpha: bool) -> tuple[str, bytes, tuple[int, int], int | None]:
    """Encode within MAX_BYTES: PNG if the image has real transparency and fits, else JPEG with
    decreasing quality, then smaller by SHRINK_STEP; ``too-large`` if nothing fits."""
    if keep_alpha:
        png = _encode(image.convert("RGBA"), "png")  # gray+alpha PNGs are not sent as they are either
        if len(png) <= MAX_BYTES:
            return "png", png, image.size, None
        image = _flatten(image)
    for quality in JPEG_QUALITIES:
        jpeg = _encode(image, "jpeg", quality)
        if len(jpeg) <= MAX_BYTES:
            return "jpeg", jpeg, image.size, quality
    quality = JPEG_QUALITIES[-1]
    width, height = image.size
    for step in range(1, MAX_SHRINKS + 1):
        size = _scaled(width, height, SHRINK_STEP**step)
        if min(size) < MIN_SIDE:
            break
        jpeg = _encode(image.resize(size, Image.Resampling.LANCZOS), "jpeg", quality)
        if len(jpeg) <= MAX_BYTES:
            return "jpeg", jpeg, size, quality
    raise ImageRejected("too-large")
