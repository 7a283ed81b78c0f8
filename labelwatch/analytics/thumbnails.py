"""Image bytes -> a small JPEG ``data:`` URI for the report (Pillow, nothing leaves the file)."""

from __future__ import annotations

import base64
import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_SIZE = 160  # px, the longer side


def thumbnail_data_uri(data: bytes | None, max_size: int = MAX_SIZE) -> str | None:
    """A JPEG thumbnail at most ``max_size`` px wide and high, or None when the bytes are not an image."""
    if not data:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.draft("RGB", (max_size * 2, max_size * 2))  # JPEG: decode at a reduced scale
                image = ImageOps.exif_transpose(image)
                image.thumbnail((max_size, max_size), Image.Resampling.LANCZOS)
                if image.mode in ("RGBA", "LA", "P"):
                    image = image.convert("RGBA")
                    background = Image.new("RGB", image.size, (255, 255, 255))
                    background.paste(image, mask=image.getchannel("A"))
                    image = background
                elif image.mode != "RGB":
                    image = image.convert("RGB")
                out = io.BytesIO()
                image.save(out, "JPEG", quality=80, optimize=True)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):  # fmt: skip
        return None
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode("ascii")
