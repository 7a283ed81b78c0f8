"""A folder-per-label image dataset, as Rekognition Custom Labels infers labels from folder names.

``DATASET/<label>/<any sub-folders>/<image>``: every image under a top-level folder gets that folder's
name as its label. Hidden files and folders (``.git``, ``.DS_Store``) are ignored, and so are files that
are not images by their suffix (they are counted in ``skipped``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})
MIN_LABELS = 2
MIN_IMAGES_PER_LABEL = 3  # one held out for testing, at least two to learn from


class DatasetError(ValueError):
    """The dataset breaks a rule; the message names the path and the rule."""

    def __init__(self, path: Path, rule: str) -> None:
        super().__init__(f"{path}: {rule}")
        self.path = Path(path)
        self.rule = rule


@dataclass(frozen=True)
class LabeledImage:
    path: Path
    label: str


@dataclass(frozen=True)
class Dataset:
    root: Path
    labels: tuple[str, ...]  # sorted
    images: tuple[LabeledImage, ...]  # by label, then path
    skipped: tuple[Path, ...] = field(default=())  # files that are not images by their suffix

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(self.labels, 0)
        for image in self.images:
            out[image.label] += 1
        return out

    def __len__(self) -> int:
        return len(self.images)


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _check_readable(path: Path) -> None:
    """Pillow must recognise the file (reads the header only; a full decode comes with the features)."""
    try:
        with Image.open(path) as img:
            img.size  # noqa: B018 - touching the header
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DatasetError(path, f"unreadable image file ({exc.__class__.__name__}: {exc})") from exc


def load_dataset(root: Path, *, min_images_per_label: int = MIN_IMAGES_PER_LABEL) -> Dataset:
    """Read the dataset's layout and check it: at least 2 labels, each with at least
    ``min_images_per_label`` images, every image readable. Raises :class:`DatasetError`."""
    root = Path(root)
    if not root.exists():
        raise DatasetError(root, "dataset folder does not exist")
    if not root.is_dir():
        raise DatasetError(root, "dataset must be a folder with one sub-folder per label")
    images: list[LabeledImage] = []
    skipped: list[Path] = []
    labels: list[str] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        label = folder.name
        found = []
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or _hidden(path, root):
                continue
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                skipped.append(path)
                continue
            _check_readable(path)
            found.append(LabeledImage(path, label))
        if len(found) < min_images_per_label:
            raise DatasetError(
                folder,
                f"label {label!r} has {len(found)} image(s); each label needs at least "
                f"{min_images_per_label} ({', '.join(sorted(IMAGE_SUFFIXES))})",
            )
        labels.append(label)
        images.extend(found)
    if len(labels) < MIN_LABELS:
        raise DatasetError(
            root,
            f"found {len(labels)} label folder(s); need at least {MIN_LABELS} "
            "(one sub-folder per label, named after the label)",
        )
    return Dataset(root=root, labels=tuple(labels), images=tuple(images), skipped=tuple(skipped))


def split(
    dataset: Dataset, test_fraction: float = 0.2, seed: int = 0
) -> tuple[list[LabeledImage], list[LabeledImage]]:
    """A stratified, seeded train/test split: per label, ``round(n * test_fraction)`` images (at least
    one, and leaving at least one to train on) are held out. Same seed, same split."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), got {test_fraction}")
    train: list[LabeledImage] = []
    test: list[LabeledImage] = []
    for label in dataset.labels:
        group = [image for image in dataset.images if image.label == label]
        random.Random(f"{seed}-{label}").shuffle(group)
        n_test = min(max(1, round(len(group) * test_fraction)), len(group) - 1)
        test.extend(group[:n_test])
        train.extend(group[n_test:])
    return train, test
