"""What became of each upload: a result (ok or rejected), or a DLQ message with its context.

Works on any target (the embedded stack or a deployed one): it reads the results bucket and
peeks at the two DLQs without consuming their messages.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from labelwatch.analytics.results_source import iter_result_objects, parse_records

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


def peek_queue(sqs: Any, url: str, *, max_rounds: int = 50) -> list[dict[str, Any]]:
    """Every message on the queue, left on the queue (received with a zero visibility timeout)."""
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(max_rounds):
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
        ).get("Messages", [])
        new = [message for message in batch if message["MessageId"] not in seen]
        if not new:
            break
        seen.update((message["MessageId"], message) for message in new)
    return list(seen.values())


def _failure_key(body: dict[str, Any]) -> str:
    image = body.get("image", "")
    return unquote_plus(image.split("/", 3)[3]) if image.count("/") >= 3 else image


def _undelivered_key(body: dict[str, Any]) -> str:
    return unquote_plus(body.get("detail", {}).get("object", {}).get("key", ""))


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
    sqs = client("sqs")
    for message in peek_queue(sqs, outputs["FailureDlqUrl"]):
        body = json.loads(message["Body"])
        outcomes[_failure_key(body)].append(Outcome(_failure_key(body), FAILED, body.get("error", "")))
    for message in peek_queue(sqs, outputs["IngestDlqUrl"]):
        body = json.loads(message["Body"])
        key = _undelivered_key(body)
        outcomes[key].append(Outcome(key, UNDELIVERED, "event not delivered to the workflow"))
    return dict(outcomes)
