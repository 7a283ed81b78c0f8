"""Where result objects come from: the results bucket (any S3 client, real or embedded) or memory.

Each processed image is one NDJSON object ``results/dt=YYYY-MM-DD/<imageId>.json``, one line per
detected label (docs/contracts.md). ``dt`` is not in the records: like Athena's partition projection,
it is taken from the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

DEFAULT_PREFIX = "results/"
_PARTITION = re.compile(r"(?:^|/)dt=(\d{4}-\d{2}-\d{2})/")


@dataclass(frozen=True)
class ResultObject:
    key: str
    body: bytes


class ResultFormatError(ValueError):
    """A result object that is not valid NDJSON records; names the key and the 1-based line."""

    def __init__(self, key: str, line: int | None, problem: str) -> None:
        self.key = key
        self.line = line
        self.problem = problem
        where = f"{key} line {line}" if line is not None else key
        super().__init__(f"{where}: {problem}")


def partition_of(key: str) -> str | None:
    """The ``dt`` value of a key (``.../dt=2026-11-25/x.json`` -> ``"2026-11-25"``), else None."""
    match = _PARTITION.search(key)
    return match.group(1) if match else None


def iter_result_keys(
    s3_client: Any, bucket: str, prefix: str = DEFAULT_PREFIX, *, page_size: int | None = None
) -> Iterator[str]:
    """The keys of every ``<prefix>dt=YYYY-MM-DD/*.json`` object of the bucket, in key order.

    Objects outside a ``dt=`` folder or not ending in ``.json`` are skipped: Athena's projected
    partitions would not show them either (non-JSON files would break its SerDe).
    """
    paginator = s3_client.get_paginator("list_objects_v2")
    pagination = {"PageSize": page_size} if page_size else {}
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix, PaginationConfig=pagination):
        for item in page.get("Contents", ()):
            key = item["Key"]
            rest = key[len(prefix) :].lstrip("/")
            if key.endswith(".json") and re.fullmatch(r"dt=\d{4}-\d{2}-\d{2}/[^/]+", rest):
                yield key


def iter_result_objects(
    s3_client: Any, bucket: str, prefix: str = DEFAULT_PREFIX, *, page_size: int | None = None
) -> Iterator[ResultObject]:
    """Every result object (see :func:`iter_result_keys`) with its body, in key order."""
    for key in iter_result_keys(s3_client, bucket, prefix, page_size=page_size):
        yield ResultObject(key=key, body=s3_client.get_object(Bucket=bucket, Key=key)["Body"].read())


def iter_object_records(obj: ResultObject) -> Iterator[tuple[int, dict[str, Any]]]:
    """(1-based line number, record with ``dt`` added) for each non-blank line of one object."""
    dt = partition_of(obj.key)
    if dt is None:
        raise ResultFormatError(obj.key, None, "key has no dt=YYYY-MM-DD/ partition folder")
    try:
        text = obj.body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ResultFormatError(obj.key, None, f"not UTF-8 text ({error})") from error
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ResultFormatError(obj.key, number, f"malformed JSON ({error.msg})") from error
        if not isinstance(record, dict):
            raise ResultFormatError(obj.key, number, f"expected a JSON object, got {type(record).__name__}")
        record["dt"] = dt
        yield number, record


def parse_records(objects: Iterable[ResultObject]) -> list[dict[str, Any]]:
    """All records of the objects, each with ``dt`` from its key; raises ResultFormatError."""
    return [record for obj in objects for _, record in iter_object_records(obj)]
