"""What became of each upload: a result (ok or rejected), or a DLQ message with its context.

Works on any target (the embedded stack or a deployed one): it reads the results bucket and
peeks at the two DLQs without consuming their messages.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from labelwatch.analytics.results_source import ResultObject, iter_object_records, iter_result_keys
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


class ResultReader:
    """The results bucket's records by result object, each object fetched once.

    Waiting for outcomes polls the bucket; each poll lists the keys and reads only the objects it
    has not seen. A result object is written once per upload event (a redrive rewrites the same
    key with the same outcome), so what was read stays true.
    """

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.objects: dict[str, list[dict[str, Any]]] = {}

    @classmethod
    def of(cls, client: Any, outputs: dict[str, str]) -> ResultReader:
        return cls(client("s3"), outputs["ResultsBucketName"])

    def refresh(self) -> dict[str, list[dict[str, Any]]]:
        """Result object key -> its records (with ``dt``), including objects written since last time."""
        for key in iter_result_keys(self.s3, self.bucket):
            if key not in self.objects:
                body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                self.objects[key] = [record for _, record in iter_object_records(ResultObject(key, body))]
        return self.objects


def collect_outcomes(
    client: Any, outputs: dict[str, str], reader: ResultReader | None = None
) -> dict[str, list[Outcome]]:
    """Outcomes by object key (decoded): one per result object, one per DLQ message.

    A key uploaded twice has two outcomes (each upload event has its own result object).
    """
    outcomes: dict[str, list[Outcome]] = defaultdict(list)
    for rows in (reader or ResultReader.of(client, outputs)).refresh().values():
        top = max(rows, key=lambda row: row.get("confidence") or -1)
        key = top["key"]
        if top.get("status") == REJECTED:
            outcomes[key].append(Outcome(key, REJECTED, top.get("reason") or ""))
        else:
            alerted = "alert" if any(r.get("alert") for r in rows) else ""
            outcomes[key].append(Outcome(key, OK, alerted, top.get("label"), top.get("confidence")))
    for letter in list_dead_letters(client, outputs):
        key = key_of(letter.image)
        kind = FAILED if letter.queue == FAILURE else UNDELIVERED
        outcomes[key].append(Outcome(key, kind, letter.error if kind == FAILED else letter.cause))
    return dict(outcomes)


def key_of(image_uri: str) -> str:
    """The object key of ``s3://bucket/key``."""
    return image_uri.split("/", 3)[3] if image_uri.count("/") >= 3 else image_uri
