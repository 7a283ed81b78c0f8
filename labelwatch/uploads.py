"""Upload files and folders to the input bucket, the way a user's camera sync would."""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Upload:
    path: Path
    key: str
    size: int


def plan_uploads(paths: Iterable[Path], prefix: str = "") -> list[Upload]:
    """Files as given; folders recursively, keyed by the folder's name and the path inside it.

    Hidden files and folders (``.DS_Store``, ``.git``) are skipped. A path that does not exist is
    an error naming it, before anything is uploaded. A file named twice (directly or through a
    folder) is uploaded once: every upload is a new image event, so a repeat would be processed
    (and alert) twice.
    """
    prefix = normalised_prefix(prefix)
    uploads: list[Upload] = []
    seen: set[tuple[Path, str]] = set()

    def add(file: Path, key: str) -> None:
        identity = (file.resolve(), key)
        if identity not in seen:
            seen.add(identity)
            uploads.append(Upload(file, key, file.stat().st_size))

    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file or folder")
        if path.is_file():
            add(path, prefix + path.name)
            continue
        base = path.resolve()
        for file in _visible_files(base):
            add(file, f"{prefix}{base.name}/{file.relative_to(base).as_posix()}")
    return uploads


def missing_paths(paths: Iterable[Path]) -> list[Path]:
    return [Path(raw) for raw in paths if not Path(raw).exists()]


def _visible_files(base: Path) -> list[Path]:
    """The files under ``base``, sorted, without descending into hidden folders (a ``.git`` or
    ``.venv`` of thousands of files is never walked, only skipped)."""
    files: list[Path] = []
    for folder, dirnames, filenames in os.walk(base):
        dirnames[:] = [name for name in dirnames if not name.startswith(".")]
        files.extend(Path(folder, name) for name in filenames if not name.startswith("."))
    return sorted(p for p in files if p.is_file())


def normalised_prefix(prefix: str) -> str:
    """``a/b`` -> ``a/b/``; ``/a`` -> ``a/`` (S3 keys have no leading slash)."""
    prefix = prefix.lstrip("/")
    return prefix + "/" if prefix and not prefix.endswith("/") else prefix


def upload_all(
    s3: Any,
    bucket: str,
    uploads: list[Upload],
    *,
    on_done: Callable[[Upload], None] | None = None,
    workers: int = 4,
) -> None:
    """Put every file (a few at a time); ``on_done`` is called as each one lands."""

    def put(upload: Upload) -> Upload:
        content_type = mimetypes.guess_type(upload.path.name)[0] or "application/octet-stream"
        with upload.path.open("rb") as body:
            s3.put_object(Bucket=bucket, Key=upload.key, Body=body, ContentType=content_type)
        return upload

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for upload in pool.map(put, uploads):
            if on_done:
                on_done(upload)
