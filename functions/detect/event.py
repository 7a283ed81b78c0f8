"""The DetectLabels input event (docs/contracts.md), parsed and validated once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import InvalidEvent
from .keys import decode_key, image_id, s3_uri


def parse_time(value: str) -> datetime:
    """Parse an ISO 8601 timestamp ('Z' or offset) into an aware UTC datetime."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """ISO 8601 UTC with a 'Z', second precision: ``2026-11-25T10:00:00Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Upload:
    bucket: str
    key: str  # decoded
    sequencer: str
    uploaded_at: datetime
    version_id: str | None
    execution: str | None
    message_id: str | None

    @property
    def uri(self) -> str:
        return s3_uri(self.bucket, self.key)

    @property
    def image_id(self) -> str:
        return image_id(self.bucket, self.key, self.sequencer)


def _text(event: dict[str, Any], obj: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = event.get(name)
    if value in (None, ""):
        value = obj.get(name)
    if value in (None, ""):
        if required:
            raise InvalidEvent(f"input event has no '{name}'")
        return None
    if not isinstance(value, str):
        raise InvalidEvent(f"input event field '{name}' must be a string, got {type(value).__name__}")
    return value


def parse_event(event: Any) -> Upload:
    """Read bucket, key (URL-encoded in the event), sequencer, event time and the optional fields."""
    if not isinstance(event, dict):
        raise InvalidEvent(f"input event must be a JSON object, got {type(event).__name__}")
    obj = event.get("object") or {}
    if not isinstance(obj, dict):
        raise InvalidEvent("input event field 'object' must be a JSON object")

    bucket = _text(event, {}, "bucket", required=True)
    raw_key = _text(event, obj, "key", required=True)
    sequencer = _text(event, obj, "sequencer", required=True)
    event_time = _text(event, {}, "eventTime", required=True)
    try:
        uploaded_at = parse_time(event_time)
    except ValueError as exc:
        raise InvalidEvent(f"input event field 'eventTime' is not an ISO 8601 time: {event_time!r}") from exc

    return Upload(
        bucket=bucket,
        key=decode_key(raw_key),
        sequencer=sequencer,
        uploaded_at=uploaded_at,
        version_id=_text({}, obj, "version-id", required=False),
        execution=_text(event, {}, "execution", required=False),
        message_id=_text(event, {}, "messageId", required=False),
    )
