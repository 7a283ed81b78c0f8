"""The synthetic leaf photos for the classifier demo: reproducible files, the layout Rekognition Custom
Labels expects, the upload mix, and symptoms that really differ between the labels."""

from __future__ import annotations

import random
import re
from collections import Counter
from itertools import accumulate

import pytest
from PIL import Image, ImageChops, ImageFilter

from labelwatch.demo.leaves import LABELS, generate_dataset, incoming_batch, leaf_photo, leaf_photo_with_mask

SAMPLES = 8  # photos per label for the symptom measurements
SIZE = 128


def files(root) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def symptoms(photo: Image.Image, mask: Image.Image) -> tuple[float, float]:
    """Fractions of the leaf (edges left out) that are dark spots (value under half the leaf's median)
    and yellow-to-straw lesion (hue about 25-65 degrees, some saturation, bright)."""
    inner = mask.filter(ImageFilter.MinFilter(5))
    hue, sat, val = photo.convert("HSV").split()
    hist = val.histogram(mask=inner)
    total = sum(hist)
    assert total > 200, "the leaf should be clearly visible"
    median = next(i for i, seen in enumerate(accumulate(hist)) if 2 * seen >= total)
    dark = val.point(lambda v: 255 if v < median / 2 else 0)
    straw = ImageChops.multiply(
        ImageChops.multiply(
            hue.point(lambda h: 255 if 18 <= h <= 46 else 0), sat.point(lambda s: 255 * (s >= 40))
        ),
        val.point(lambda v: 255 * (v >= 110)),
    )
    return dark.histogram(mask=inner)[255] / total, straw.histogram(mask=inner)[255] / total


@pytest.fixture(scope="module")
def measured() -> dict[str, list[tuple[float, float]]]:
    return {
        label: [
            symptoms(*leaf_photo_with_mask(label, random.Random(f"t-{label}-{i}"), SIZE))
            for i in range(SAMPLES)
        ]
        for label in LABELS
    }


def test_same_seed_gives_identical_bytes_and_another_seed_different_ones(tmp_path):
    generate_dataset(tmp_path / "a", per_label=2, seed=7, size=96)
    generate_dataset(tmp_path / "b", per_label=2, seed=7, size=96)
    generate_dataset(tmp_path / "c", per_label=2, seed=8, size=96)
    a, b, c = (files(tmp_path / name) for name in "abc")
    assert a == b
    assert a.keys() == c.keys()
    assert all(a[name] != c[name] for name in a)


def test_one_folder_per_label_with_numbered_jpegs(tmp_path):
    paths = generate_dataset(tmp_path, per_label=3, seed=1, size=64)
    assert sorted(paths) == sorted(LABELS)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(LABELS)
    for label in LABELS:
        expected = [tmp_path / label / f"{label}-{i:04d}.jpg" for i in range(3)]
        assert paths[label] == expected
        assert sorted((tmp_path / label).iterdir()) == expected


def test_photos_are_rgb_squares_of_the_requested_size(tmp_path):
    path = generate_dataset(tmp_path, per_label=1, seed=3)["leaf-smut"][0]
    with Image.open(path) as img:
        assert (img.format, img.mode, img.size) == ("JPEG", "RGB", (256, 256))
        assert not img.info.get("exif")
    photo = leaf_photo("healthy", random.Random(5), size=200)
    assert (photo.mode, photo.size) == ("RGB", (200, 200))


def test_a_larger_dataset_keeps_the_first_photos(tmp_path):
    small = generate_dataset(tmp_path / "small", per_label=1, seed=4, size=64)
    large = generate_dataset(tmp_path / "large", per_label=2, seed=4, size=64)
    for label in LABELS:
        assert small[label][0].read_bytes() == large[label][0].read_bytes()


def test_incoming_batch_follows_the_default_mix_in_unlabelled_paths(tmp_path):
    batch = incoming_batch(tmp_path, count=100, seed=11, size=48)
    assert len(batch) == 100
    counts = Counter(label for _, label in batch)
    assert abs(counts["healthy"] - 60) <= 5
    assert abs(counts["leaf-smut"] - 25) <= 5
    assert abs(counts["bacterial-leaf-blight"] - 15) <= 5
    names = [path.relative_to(tmp_path).as_posix() for path, _ in batch]
    assert len(set(names)) == 100
    assert all(re.fullmatch(r"field-\d{2}/IMG_\d{4}\.jpg", name) for name in names)
    assert all(path.is_file() for path, _ in batch)
    assert len({label for _, label in batch}) == 3, "all labels appear in a shuffled order"
    assert [label for _, label in batch] != sorted(label for _, label in batch)


def test_incoming_batch_takes_a_custom_mix_and_is_reproducible(tmp_path):
    mix = {"healthy": 1, "bacterial-leaf-blight": 3}
    first = incoming_batch(tmp_path / "a", count=8, seed=2, mix=mix, size=48)
    again = incoming_batch(tmp_path / "b", count=8, seed=2, mix=mix, size=48)
    assert Counter(label for _, label in first) == {"healthy": 2, "bacterial-leaf-blight": 6}
    assert [(p.relative_to(tmp_path / "a"), lb) for p, lb in first] == [
        (p.relative_to(tmp_path / "b"), lb) for p, lb in again
    ]
    assert files(tmp_path / "a") == files(tmp_path / "b")


@pytest.mark.parametrize(
    "call",
    [
        lambda root: leaf_photo("rust", random.Random(0)),
        lambda root: incoming_batch(root, 3, seed=0, mix={"rust": 1.0}),
        lambda root: incoming_batch(root, 3, seed=0, mix={"healthy": 0.0}),
        lambda root: generate_dataset(root, 1, seed=0, fmt="GIF"),
    ],
    ids=["unknown label", "unknown label in mix", "empty mix", "unsupported format"],
)
def test_bad_arguments_are_refused(tmp_path, call):
    with pytest.raises(ValueError):
        call(tmp_path)


def test_leaf_smut_shows_dark_spots_that_healthy_leaves_lack(measured):
    healthy = [dark for dark, _ in measured["healthy"]]
    smut = [dark for dark, _ in measured["leaf-smut"]]
    assert max(healthy) < 0.005
    assert min(smut) > 0.02
    assert sum(smut) / SAMPLES > 10 * max(max(healthy), 0.001)


def test_bacterial_leaf_blight_shows_straw_lesions_the_others_lack(measured):
    blight = [straw for _, straw in measured["bacterial-leaf-blight"]]
    others = [straw for label in ("healthy", "leaf-smut") for _, straw in measured[label]]
    assert max(others) < 0.02
    assert min(blight) > 0.08
    assert sum(blight) / SAMPLES > 5 * max(others)


def test_mean_colour_alone_does_not_separate_the_labels():
    """Greens, backgrounds and light vary for every label: the ranges of a photo's mean green-minus-red
    overlap across all three labels."""
    ranges = []
    for label in LABELS:
        means = [
            leaf_photo(label, random.Random(f"t-{label}-{i}"), SIZE)
            .resize((1, 1), Image.Resampling.BOX)
            .getpixel((0, 0))
            for i in range(SAMPLES)
        ]
        tint = [g - r for r, g, _ in means]
        ranges.append((min(tint), max(tint)))
    assert max(low for low, _ in ranges) < min(high for _, high in ranges)
