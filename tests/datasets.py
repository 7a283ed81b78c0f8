"""Datasets several test modules train on."""

from __future__ import annotations

from pathlib import Path

from labelwatch.demo.leaves import generate_dataset


def identical_images_dataset(root: Path, labels: int = 11, per_label: int = 3) -> Path:
    """``labels`` folders that all hold the same picture: a model cannot learn anything from it."""
    generate_dataset(root / "one", per_label=1, seed=1, size=64)
    picture = sorted((root / "one").rglob("*.jpg"))[0].read_bytes()
    for label in range(labels):
        folder = root / "dataset" / f"label-{label:02d}"
        folder.mkdir(parents=True)
        for i in range(per_label):
            (folder / f"{i}.jpg").write_bytes(picture)
    return root / "dataset"
