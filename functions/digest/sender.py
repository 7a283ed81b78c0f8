"""Send each flood-control window's digest exactly once: claim, then publish, then release on failure.

The workflow marks a window as owing a digest (``digest = "pending"``, ``digestDue``) in the cooldown
table; only then is the window in the table's sparse index. Every minute this reads the index for
windows due by the schedule's "now" and, for each:

1. **claims** it: a conditional UpdateItem that holds only while the window is still pending and
   due, and takes it out of the index (``SET digestSentAt REMOVE digest``). Two runs (an overlap, a
   retried invocation) cannot both win, and a window the workflow re-opened with a later due time
   is left for then; whoever loses counts it as skipped. The claim returns the whole item, so the
   index needs only keys;
2. **publishes** one SNS message to the alerts topic, with the ``labels`` attribute alerts carry, so
   subscribers' filter policies apply to digests as to alerts;
3. if publishing fails, **releases** the claim (the window is pending again, ``digestSentAt``
   removed so the workflow may go on counting into it) and goes on with the others; the next
   minute's run sends it.

The one gap: a crash (timeout, out of memory) between a claim and its publish loses that window's
digest, as nothing releases it. It is never sent twice instead; the handler's log shows what the
run claimed and sent. A window with nothing held back is claimed and not sent, and a malformed item
is claimed and reported, not released (it would fail again every minute).

Pure orchestration over the clients handed in (botocore's DynamoDB and SNS, real or moto's).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .message import DigestWindow, build_message, build_subject, iso_utc
from .settings import DigestSettings

PENDING = "pending"  # the workflow's mark of a window owing a digest (statemachine: DIGEST_PENDING)
CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclass(frozen=True)
class FailedDigest:
    pk: str
    error: str
    window: DigestWindow | None  # None when the item could not be read
    pending: bool  # the window still owes its digest: the next run tries again


@dataclass
class DigestRun:
    sent: list[DigestWindow] = field(default_factory=list)
    skipped: int = 0  # claimed by another run, re-opened for later, or nothing held back
    failed: list[FailedDigest] = field(default_factory=list)
    query_error: str | None = None  # the index could not be read (further): the rest waits a minute

    def summary(self) -> dict[str, Any]:
        """Counts and the windows' labels and folders; never the image ids (a flood has thousands)."""
        return {
            "sent": len(self.sent),
            "skipped": self.skipped,
            "failed": len(self.failed),
            "sentWindows": [_describe(window) for window in self.sent],
            "failedWindows": [
                {"pk": failure.pk, "error": failure.error, "pending": failure.pending}
                | (_describe(failure.window) if failure.window else {})
                for failure in self.failed
            ],
            **({"queryError": self.query_error} if self.query_error else {}),
        }


def _describe(window: DigestWindow) -> dict[str, Any]:
    return {
        "label": window.label,
        "folder": window.folder,
        "windowStart": iso_utc(window.window_start),
        "held": window.count,
    }


def send_due_digests(dynamodb: Any, sns: Any, settings: DigestSettings, now: float) -> DigestRun:
    """Send the digest of every window due by ``now`` (epoch seconds, the schedule's time)."""
    stamp = iso_utc(datetime.fromtimestamp(now, UTC))
    run = DigestRun()
    keys = due_windows(dynamodb, settings, stamp)
    while True:
        try:
            key = next(keys)
        except StopIteration:
            return run
        except Exception as error:  # reading the index: what was sent stays sent, the rest waits a minute
            run.query_error = _error_text(error)
            return run
        _send_one(dynamodb, sns, settings, key, stamp, run)


def due_windows(dynamodb: Any, settings: DigestSettings, stamp: str) -> Iterator[dict[str, Any]]:
    """The keys of the windows pending and due by ``stamp``, page by page (LastEvaluatedKey)."""
    request: dict[str, Any] = {
        "TableName": settings.cooldown_table,
        "IndexName": settings.digest_index,
        "KeyConditionExpression": "#digest = :pending AND digestDue <= :now",
        "ExpressionAttributeNames": {"#digest": "digest"},
        "ExpressionAttributeValues": {":pending": {"S": PENDING}, ":now": {"S": stamp}},
    }
    while True:
        page = dynamodb.query(**request)
        for item in page.get("Items", []):
            yield {"pk": item["pk"]}
        if not page.get("LastEvaluatedKey"):
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _send_one(
    dynamodb: Any, sns: Any, settings: DigestSettings, key: dict[str, Any], stamp: str, run: DigestRun
) -> None:
    pk = key["pk"].get("S", "")
    try:
        item = claim(dynamodb, settings, key, stamp)
    except Exception as error:  # not claimed: still pending, the next run tries again
        run.failed.append(FailedDigest(pk, f"claim: {_error_text(error)}", None, pending=True))
        return
    if item is None:
        run.skipped += 1
        return
    try:
        window = window_of(item)
    except ValueError as error:
        run.failed.append(FailedDigest(pk, f"malformed item: {error}", None, pending=False))
        return
    if window.count == 0:
        run.skipped += 1
        return
    try:
        publish(sns, settings, window)
    except Exception as error:
        released = release(dynamodb, settings, key, stamp)
        run.failed.append(FailedDigest(pk, f"publish: {_error_text(error)}", window, pending=released))
        return
    run.sent.append(window)


def claim(dynamodb: Any, settings: DigestSettings, key: dict[str, Any], stamp: str) -> dict[str, Any] | None:
    """The window's whole item once this run holds its digest; None when another run holds it or
    the workflow re-opened it for later."""
    try:
        answer = dynamodb.update_item(
            TableName=settings.cooldown_table,
            Key=key,
            UpdateExpression="SET digestSentAt = :now REMOVE #digest",
            ConditionExpression="#digest = :pending AND digestDue <= :now",
            ExpressionAttributeNames={"#digest": "digest"},
            ExpressionAttributeValues={":pending": {"S": PENDING}, ":now": {"S": stamp}},
            ReturnValues="ALL_NEW",
        )
    except Exception as error:
        if _error_code(error) == CONDITION_FAILED:
            return None
        raise
    return answer["Attributes"]


def release(dynamodb: Any, settings: DigestSettings, key: dict[str, Any], stamp: str) -> bool:
    """Make the window pending again after a failed publish; False when that failed too (the digest
    is then lost, and the run's failure says so)."""
    try:
        dynamodb.update_item(
            TableName=settings.cooldown_table,
            Key=key,
            UpdateExpression="SET #digest = :pending REMOVE digestSentAt",
            ConditionExpression="digestSentAt = :now AND attribute_not_exists(#digest)",
            ExpressionAttributeNames={"#digest": "digest"},
            ExpressionAttributeValues={":pending": {"S": PENDING}, ":now": {"S": stamp}},
        )
    except Exception:
        return False
    return True


def publish(sns: Any, settings: DigestSettings, window: DigestWindow) -> str:
    """One SNS message for the window; its MessageId."""
    answer = sns.publish(
        TopicArn=settings.topic_arn,
        Subject=build_subject(window),
        Message=build_message(
            window,
            cooldown_minutes=settings.cooldown_minutes,
            database=settings.database,
            table=settings.results_table,
            workgroup=settings.workgroup,
            console_url=settings.query_console_url,
        ),
        # as alerts carry it (detect.alert.alert_labels), so filter policies on `labels` apply
        MessageAttributes={
            "labels": {
                "DataType": "String.Array",
                "StringValue": json.dumps([window.label], ensure_ascii=False),
            }
        },
    )
    return str(answer.get("MessageId", ""))


def window_of(item: dict[str, Any]) -> DigestWindow:
    """The table's item (DynamoDB's attribute values) as a window; ValueError when it lacks what a
    digest needs (the label, the folder, the window's times)."""

    def text(name: str, required: bool = True) -> str | None:
        value = item.get(name, {}).get("S")
        if value is None and required:
            raise ValueError(f"no {name}")
        return value

    return DigestWindow(
        pk=text("pk") or "",
        label=text("label") or "",
        folder=text("folder") or "",
        bucket=text("bucket", required=False) or "",
        window_start=_time(text("windowStart") or "", "windowStart"),
        window_end=_time(text("windowEnd") or "", "windowEnd"),
        count=len(item.get("suppressed", {}).get("SS", [])),
        alert_image=text("alertImage", required=False),
        alert_image_uri=text("alertImageUri", required=False),
    )


def _time(value: str, name: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not YYYY-MM-DDTHH:MM:SSZ") from None


def _error_code(error: Exception) -> str | None:
    response = getattr(error, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def _error_text(error: Exception) -> str:
    code = _error_code(error)
    return f"{code}: {error}" if code else f"{type(error).__name__}: {error}"
