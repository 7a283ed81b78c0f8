"""The two dead-letter queues, listed and redriven: the same code for the local and a deployed stack.

- The **failure DLQ** gets a message from the workflow's ``RecordFailure`` state: the error, its
  cause, the image, the execution, when, the claim key and the original S3 event.
- The **ingest DLQ** gets an S3 event SQS gave up on after ``maxReceiveCount`` receives (the model
  stayed stopped or overloaded for that long).

A redrive sends the original event back to the ingest queue as a new message, so it takes the
normal path (claim, detect, result, alert). A claim left ``claimed`` by an execution that died
without its Catch is released first; a claim that is ``done`` is kept, so an image that was in
fact processed is skipped as a duplicate instead of alerting twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

FAILURE = "failure"
INGEST = "ingest"
REDRIVES_ATTRIBUTE = "labelwatchRedrives"
RECEIVE_VISIBILITY_SECONDS = 120  # long enough to resend and delete; put back at once if not chosen


def claim_key_of(event: dict[str, Any]) -> str:
    """The workflow's claim key of an S3 'Object Created' event (``ParseEvent``'s ``claimKey``)."""
    detail = event["detail"]
    return f"s3://{detail['bucket']['name']}#{detail['object'].get('version-id')}#{detail['object']['sequencer']}"


def image_of(event: dict[str, Any]) -> str:
    detail = event.get("detail", {})
    bucket = detail.get("bucket", {}).get("name", "?")
    return f"s3://{bucket}/{unquote_plus(detail.get('object', {}).get('key', ''))}"


@dataclass
class DeadLetter:
    id: str
    queue: str  # FAILURE or INGEST
    image: str
    error: str
    cause: str
    when: str  # ISO 8601 UTC
    # How often the workflow was handed the image before it landed here: for the ingest DLQ the
    # ingest queue's maxReceiveCount; unknown (None) for the failure DLQ. Not SQS's
    # ApproximateReceiveCount of the DLQ message: listing has to receive it (SQS has no peek), so
    # that count grows with every `dlq list` and says nothing about the image.
    deliveries: int | None
    redrives: int  # how often labelwatch sent the image back already
    event: dict[str, Any]
    claim_key: str
    execution: str | None = None
    receipt_handle: str = field(default="", repr=False)


def _epoch_ms_to_iso(value: str | None) -> str:
    if not value:
        return ""
    return datetime.fromtimestamp(int(value) / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _dead_letter(queue: str, message: dict[str, Any], max_receives: int | None = None) -> DeadLetter:
    body = json.loads(message["Body"])
    attributes = message.get("Attributes", {})
    redrives = int(message.get("MessageAttributes", {}).get(REDRIVES_ATTRIBUTE, {}).get("StringValue", 0))
    if queue == FAILURE:
        event = body.get("event", {})
        return DeadLetter(
            id=message["MessageId"],
            queue=FAILURE,
            image=image_of(event) if event else body.get("image", "?"),
            error=body.get("error", ""),
            cause=str(body.get("cause", ""))[:500],
            when=body.get("failedAt") or _epoch_ms_to_iso(attributes.get("SentTimestamp")),
            deliveries=None,
            redrives=redrives,
            event=event,
            claim_key=body.get("claimKey") or (claim_key_of(event) if event else ""),
            execution=body.get("execution"),
            receipt_handle=message["ReceiptHandle"],
        )
    return DeadLetter(
        id=message["MessageId"],
        queue=INGEST,
        image=image_of(body),
        error="NotDelivered",
        cause="SQS moved the event here after maxReceiveCount receives (model stopped or overloaded)",
        when=_epoch_ms_to_iso(attributes.get("SentTimestamp")),
        deliveries=max_receives,
        redrives=redrives,
        event=body,
        claim_key=claim_key_of(body) if "detail" in body else "",
        receipt_handle=message["ReceiptHandle"],
    )


def _receive_all(sqs: Any, url: str, visibility: int, max_rounds: int = 100) -> list[dict[str, Any]]:
    messages: dict[str, dict[str, Any]] = {}
    for _ in range(max_rounds):
        batch = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        new = [message for message in batch if message["MessageId"] not in messages]
        if not new:
            break
        messages.update((message["MessageId"], message) for message in new)
    return list(messages.values())


def _queues(outputs: dict[str, str]) -> list[tuple[str, str]]:
    return [(FAILURE, outputs["FailureDlqUrl"]), (INGEST, outputs["IngestDlqUrl"])]


def ingest_max_receives(sqs: Any, outputs: dict[str, str]) -> int | None:
    """The ingest queue's maxReceiveCount: the deliveries an event had before SQS dead-lettered it."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=outputs["IngestQueueUrl"], AttributeNames=["RedrivePolicy"]
    )
    policy = attributes.get("Attributes", {}).get("RedrivePolicy")
    return int(json.loads(policy)["maxReceiveCount"]) if policy else None


def list_dead_letters(client: Callable[[str], Any], outputs: dict[str, str]) -> list[DeadLetter]:
    """Everything in both DLQs, left there (received with a zero visibility timeout, so it stays
    visible; nothing in it or in what is listed changes from one listing to the next)."""
    sqs = client("sqs")
    max_receives = ingest_max_receives(sqs, outputs)
    letters = [
        _dead_letter(queue, m, max_receives)
        for queue, url in _queues(outputs)
        for m in _receive_all(sqs, url, 0)
    ]
    return sorted(letters, key=lambda letter: (letter.when, letter.id))


@dataclass
class RedriveReport:
    sent: list[DeadLetter] = field(default_factory=list)
    claims_released: list[str] = field(default_factory=list)
    already_done: list[DeadLetter] = field(default_factory=list)  # will be skipped as duplicates
    unknown_ids: list[str] = field(default_factory=list)


def select(letters: Iterable[DeadLetter], wanted: Iterable[str]) -> tuple[list[DeadLetter], list[str]]:
    """Letters whose id starts with one of ``wanted`` (ids may be shortened, as ``dlq list`` shows)."""
    letters = list(letters)
    chosen: list[DeadLetter] = []
    unknown: list[str] = []
    for prefix in wanted:
        matches = [letter for letter in letters if letter.id.startswith(prefix)]
        if len(matches) != 1:
            unknown.append(prefix)
        elif matches[0] not in chosen:
            chosen.append(matches[0])
    return chosen, unknown


def redrive(
    client: Callable[[str], Any], outputs: dict[str, str], ids: Iterable[str] | None = None
) -> RedriveReport:
    """Send the chosen dead letters' events back through the workflow (all of them when ``ids`` is None)."""
    sqs = client("sqs")
    report = RedriveReport()
    received = [
        (url, _dead_letter(queue, message))
        for queue, url in _queues(outputs)
        for message in _receive_all(sqs, url, RECEIVE_VISIBILITY_SECONDS)
    ]
    letters = [letter for _url, letter in received]
    if ids is None:
        chosen = letters
    else:
        chosen, report.unknown_ids = select(letters, ids)
    chosen_ids = {letter.id for letter in chosen}
    for url, letter in received:
        if letter.id not in chosen_ids or not letter.event:
            sqs.change_message_visibility(
                QueueUrl=url, ReceiptHandle=letter.receipt_handle, VisibilityTimeout=0
            )
            continue
        state = _release_stale_claim(client, outputs, letter.claim_key)
        if state == "released":
            report.claims_released.append(letter.claim_key)
        elif state == "done":
            report.already_done.append(letter)
        sqs.send_message(
            QueueUrl=outputs["IngestQueueUrl"],
            MessageBody=json.dumps(letter.event),
            MessageAttributes={
                REDRIVES_ATTRIBUTE: {"DataType": "Number", "StringValue": str(letter.redrives + 1)}
            },
        )
        sqs.delete_message(QueueUrl=url, ReceiptHandle=letter.receipt_handle)
        report.sent.append(letter)
    return report


def _release_stale_claim(client: Callable[[str], Any], outputs: dict[str, str], claim_key: str) -> str:
    """'released' (a claim was left 'claimed'), 'done' (processed already) or 'none' (no claim)."""
    if not claim_key:
        return "none"
    dynamodb = client("dynamodb")
    table = outputs["ClaimsTableName"]
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": claim_key}}, ConsistentRead=True).get("Item")
    if not item:
        return "none"
    if item.get("status", {}).get("S") == "done":
        return "done"
    try:
        dynamodb.delete_item(
            TableName=table,
            Key={"pk": {"S": claim_key}},
            ConditionExpression="#status = :claimed",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":claimed": {"S": "claimed"}},
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return "done"
    return "released"
