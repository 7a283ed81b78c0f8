"""What became of each upload: a result (ok or rejected), or a DLQ message with its context.

Works on any target (the embedded stack or a deployed one): it reads the results bucket and
peeks at the two DLQs without consuming their messages.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from labelwatch.analytics.results_source import iter_result_objects, parse_records
from labelwatch.dlq import FAILURE, list_dead_letters

OK = "ok"
REJECTED = "rejected"
FAILED = "failed"  # in the failure DLQ: the workflow gave up on the image
UNDELIVERED = "undelivered"  # in the ingest DLQ: the event never got through the Pipe


@dataclass(frozen=True)
class Outcome:
    key: str
    kind: str
    detail: str
    top_label: str | None = None
    confidence: float | None = None


def result_records(client: Any, outputs: dict[str, str]) -> list[dict[str, Any]]:
    return parse_records(iter_result_objects(client("s3"), outputs["ResultsBucketName"]))


def collect_outcomes(
    client: Any, outputs: dict[str, str], records: list[dict[str, Any]] | None = None
) -> dict[str, list[Outcome]]:
    """Outcomes by object key (decoded). A key uploaded twice has two outcomes."""
    by_image: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for record in records if records is not None else result_records(client, outputs):
        # one upload event = one key at one upload time (a re-upload of the key is a new event)
        by_image[(record["key"], record.get("uploaded_at") or "")].append(record)
    outcomes: dict[str, list[Outcome]] = defaultdict(list)
    for (key, *_), rows in by_image.items():
        top = max(rows, key=lambda row: row.get("confidence") or -1)
        status = top.get("status")
        if status == REJECTED:
            outcomes[key].append(Outcome(key, REJECTED, top.get("reason") or ""))
        else:
            outcomes[key].append(
                Outcome(
                    key,
                    OK,
                    "alert" if any(r.get("alert") for r in rows) else "",
                    top.get("label"),
                    top.get("confidence"),
                )
            )
    for letter in list_dead_letters(client, outputs):
        key = key_of(letter.image)
        kind = FAILED if letter.queue == FAILURE else UNDELIVERED
        outcomes[key].append(Outcome(key, kind, letter.error if kind == FAILED else letter.cause))
    return dict(outcomes)


def key_of(image_uri: str) -> str:
    """The object key of ``s3://bucket/key``."""
    return image_uri.split("/", 3)[3] if image_uri.count("/") >= 3 else image_uri
