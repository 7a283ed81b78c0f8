"""Pretrained image features: EfficientNet-Lite0 (ImageNet) run with onnxruntime.

The ONNX graph (``assets/efficientnet_lite0_features.onnx``, made by ``tools/export_feature_extractor.py``)
maps a normalised ``[N, 3, 224, 224]`` RGB batch to ``[N, 2560]`` features: the global average and the
global max pool of the last convolution. A small classifier trained on these is the local model.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MODEL_PATH = Path(__file__).resolve().parent / "assets" / "efficientnet_lite0_features.onnx"
FEATURE_DIM = 2560
INPUT_SIZE = 224
# The package's documented preprocessing (torchvision Resize(224) + ImageNet Normalize); see the export tool.
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)

# Decoding bombs: Custom Labels itself refuses images over 4096 px a side; allow some more, not 1 GP.
_MAX_PIXELS = 64_000_000


class ImageDecodeError(ValueError):
    """The bytes are not an image Pillow can decode."""


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB with any transparency flattened onto white (a transparent PNG must not turn black)."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def preprocess(image_bytes: bytes) -> np.ndarray:
    """Decode an image and return the network's input for it: float32 ``[3, 224, 224]``.

    EXIF orientation is applied (phones store portrait photos sideways), the shorter side is resized to
    224 (bilinear, antialiased) and the centre 224 x 224 is cut out, then ImageNet mean/std normalise.
    """
    try:
        img = Image.open(io.BytesIO(image_bytes))
        if img.width * img.height > _MAX_PIXELS:
            raise ImageDecodeError(f"image too large to decode ({img.width} x {img.height} pixels)")
        img.draft("RGB", (INPUT_SIZE, INPUT_SIZE))  # JPEG: decode at a reduced scale, still >= 224 a side
        img = ImageOps.exif_transpose(img)
        img = _to_rgb(img)
    except ImageDecodeError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageDecodeError(f"cannot decode image: {exc}") from exc

    w, h = img.size
    scale = INPUT_SIZE / min(w, h)
    size = (max(INPUT_SIZE, round(w * scale)), max(INPUT_SIZE, round(h * scale)))
    if size != (w, h):
        img = img.resize(size, Image.Resampling.BILINEAR)
    left, top = (size[0] - INPUT_SIZE) // 2, (size[1] - INPUT_SIZE) // 2
    img = img.crop((left, top, left + INPUT_SIZE, top + INPUT_SIZE))

    arr = np.asarray(img, dtype=np.float32) / 255.0
    arr = (arr - MEAN) / STD
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


def _default_threads() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


class FeatureExtractor:
    """Runs the ONNX feature network. The session is created on first use; ``run`` may be called from
    several threads at once (onnxruntime sessions are thread-safe; only creating one is guarded)."""

    def __init__(self, model_path: Path = MODEL_PATH, *, threads: int | None = None) -> None:
        self.model_path = Path(model_path)
        self.threads = threads or _default_threads()
        self._session = None
        self._lock = threading.Lock()
        self._sha256: str | None = None

    @property
    def sha256(self) -> str:
        """Hash of the ONNX file: a classifier is only valid with the extractor it was trained on."""
        if self._sha256 is None:
            self._sha256 = hashlib.sha256(self.model_path.read_bytes()).hexdigest()
        return self._sha256

    def _get_session(self):
        if self._session is None:
            with self._lock:
                if self._session is None:
                    import onnxruntime as ort

                    options = ort.SessionOptions()
                    options.intra_op_num_threads = self.threads
                    options.inter_op_num_threads = 1
                    options.log_severity_level = 3
                    # No busy-waiting between runs: on 2 cores it starves whatever runs next (numpy, moto).
                    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                    self._session = ort.InferenceSession(
                        str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
                    )
        return self._session

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Features for a preprocessed batch ``[N, 3, 224, 224]`` -> ``[N, 2560]`` float32."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if batch.ndim != 4 or batch.shape[1:] != (3, INPUT_SIZE, INPUT_SIZE):
            raise ValueError(f"expected a [N, 3, {INPUT_SIZE}, {INPUT_SIZE}] batch, got {list(batch.shape)}")
        if batch.shape[0] == 0:
            return np.zeros((0, FEATURE_DIM), dtype=np.float32)
        (features,) = self._get_session().run(["features"], {"image": batch})
        return features

    def extract(
        self,
        images: Sequence[bytes],
        batch_size: int = 16,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Features for encoded images ``[N, 2560]``; ``progress(done, total)`` after each batch.
        Raises :class:`ImageDecodeError` (with ``.index`` set to the image's position) on a bad image."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        total = len(images)
        out = np.zeros((total, FEATURE_DIM), dtype=np.float32)
        for start in range(0, total, batch_size):
            chunk = []
            for i in range(start, min(start + batch_size, total)):
                try:
                    chunk.append(preprocess(images[i]))
                except ImageDecodeError as exc:
                    exc.index = i  # type: ignore[attr-defined]
                    raise
            out[start : start + len(chunk)] = self.run(np.stack(chunk))
            if progress:
                progress(start + len(chunk), total)
        return out


_shared: FeatureExtractor | None = None
_shared_lock = threading.Lock()


def shared_extractor() -> FeatureExtractor:
    """The process-wide extractor (the 13.5 MB network is loaded once, however many models use it)."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                _shared = FeatureExtractor()
    return _shared


def extract(
    images: Sequence[bytes], batch_size: int = 16, progress: Callable[[int, int], None] | None = None
) -> np.ndarray:
    """Features for encoded images with the shared extractor: ``[N, 2560]`` float32."""
    return shared_extractor().extract(images, batch_size=batch_size, progress=progress)
