"""The pretrained feature extractor and its preprocessing (labelwatch.model.features)."""

from __future__ import annotations

import io
import random
import threading

import numpy as np
import pytest
from PIL import Image

from labelwatch.demo.leaves import LABELS, leaf_photo
from labelwatch.model.features import (
    FEATURE_DIM,
    INPUT_SIZE,
    MEAN,
    MODEL_PATH,
    STD,
    FeatureExtractor,
    ImageDecodeError,
    preprocess,
    shared_extractor,
)


def _encode(img: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _leaves(count: int, size: int = 160) -> list[bytes]:
    return [
        _encode(leaf_photo(LABELS[i % 3], random.Random(f"features-{i}"), size), "JPEG", quality=90)
        for i in range(count)
    ]


def _rgb_at(arr: np.ndarray, y: int, x: int) -> np.ndarray:
    """Undo the normalisation at one pixel: 0..255 RGB."""
    return (arr[:, y, x] * STD + MEAN) * 255


def test_preprocess_gives_a_normalised_224_square():
    arr = preprocess(_encode(Image.new("RGB", (300, 200), (255, 255, 255))))
    assert arr.shape == (3, INPUT_SIZE, INPUT_SIZE) and arr.dtype == np.float32
    np.testing.assert_allclose(arr[:, 100, 100], (1 - MEAN) / STD, atol=1e-5)


def test_preprocess_keeps_the_centre_of_a_wide_photo():
    img = Image.new("RGB", (400, 100), (255, 0, 0))  # red edges ...
    img.paste((0, 0, 255), (100, 0, 300, 100))  # ... around a blue middle half
    arr = preprocess(_encode(img))
    for x in (5, 112, 218):  # resized to 896 x 224, the centre 224 columns are all blue
        np.testing.assert_allclose(_rgb_at(arr, 112, x), [0, 0, 255], atol=2)


def test_exif_orientation_is_applied():
    stored = Image.new("RGB", (320, 160), (255, 0, 0))
    stored.paste((0, 0, 255), (160, 0, 320, 160))  # left red, right blue as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display": red on top, blue at the bottom
    tagged = preprocess(_encode(stored, "JPEG", quality=95, exif=exif.tobytes()))
    np.testing.assert_allclose(_rgb_at(tagged, 20, 112), [255, 0, 0], atol=12)
    np.testing.assert_allclose(_rgb_at(tagged, 200, 112), [0, 0, 255], atol=12)
    upright = preprocess(_encode(stored.transpose(Image.Transpose.ROTATE_270), "JPEG", quality=95))
    assert np.abs(tagged - upright).mean() < 0.05
    ignored = preprocess(_encode(stored, "JPEG", quality=95))
    assert np.abs(tagged - ignored).mean() > 0.5


def test_transparency_is_flattened_onto_white_and_grey_images_become_rgb():
    clear = preprocess(_encode(Image.new("RGBA", (50, 50), (0, 0, 0, 0))))
    np.testing.assert_allclose(_rgb_at(clear, 10, 10), [255, 255, 255], atol=1)
    grey = preprocess(_encode(Image.new("L", (50, 80), 128)))
    np.testing.assert_allclose(_rgb_at(grey, 10, 10), [128, 128, 128], atol=1)


@pytest.mark.parametrize("data", [b"", b"not an image", b"\xff\xd8\xff\xe0" + b"\x00" * 40])
def test_undecodable_bytes_raise_image_decode_error(data):
    with pytest.raises(ImageDecodeError):
        preprocess(data)


def test_extract_shape_range_and_determinism():
    images = _leaves(5)
    extractor = shared_extractor()
    features = extractor.extract(images, batch_size=16)
    assert features.shape == (5, FEATURE_DIM) and features.dtype == np.float32
    assert np.isfinite(features).all()
    avg, peak = features[:, :1280], features[:, 1280:]
    assert (avg >= 0).all() and (peak <= 6 + 1e-4).all()  # ReLU6 activations
    assert (peak >= avg - 1e-4).all()  # a max pool is never below the average pool
    assert np.ptp(features, axis=0).max() > 0.1  # different photos, different features
    np.testing.assert_array_equal(extractor.extract(images, batch_size=16), features)
    np.testing.assert_allclose(extractor.extract(images, batch_size=2), features, atol=1e-4)


def test_extract_reports_progress_and_handles_no_images():
    seen: list[tuple[int, int]] = []
    shared_extractor().extract(
        _leaves(5), batch_size=2, progress=lambda done, total: seen.append((done, total))
    )
    assert seen == [(2, 5), (4, 5), (5, 5)]
    assert shared_extractor().extract([]).shape == (0, FEATURE_DIM)


def test_a_bad_image_in_a_batch_says_which():
    images = _leaves(2)
    with pytest.raises(ImageDecodeError) as caught:
        shared_extractor().extract([images[0], b"junk", images[1]])
    assert caught.value.index == 1


def test_run_is_safe_from_several_threads_on_a_fresh_extractor():
    batch = np.stack([preprocess(image) for image in _leaves(2)])
    expected = shared_extractor().run(batch)
    extractor = FeatureExtractor(threads=1)  # not yet loaded: the threads race to create the session
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(extractor.run(batch))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 4
    for result in results:
        np.testing.assert_allclose(result, expected, atol=1e-4)


def test_run_rejects_a_wrong_shape():
    with pytest.raises(ValueError, match="224"):
        shared_extractor().run(np.zeros((1, 3, 100, 100), dtype=np.float32))


def test_the_model_file_is_shipped_with_its_licence():
    assert MODEL_PATH.is_file() and MODEL_PATH.stat().st_size > 10_000_000
    assert (MODEL_PATH.parent / "NOTICE.md").is_file()
    assert "Apache License" in (MODEL_PATH.parent / "LICENSE-efficientnet-lite0.txt").read_text()
    assert len(shared_extractor().sha256) == 64
