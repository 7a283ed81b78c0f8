"""S3 keys and the names derived from them: decoded key, s3 URI, image id, result object key."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from urllib.parse import unquote_plus


def decode_key(raw_key: str) -> str:
    """Decode a key as S3 event notifications encode it: '+' is a space, '%2B' a plus, UTF-8 escapes."""
    return unquote_plus(raw_key, encoding="utf-8", errors="replace")


def s3_uri(bucket: str, key: str) -> str:
    """The image's s3 URI with the decoded key (for people and records; not URL-safe)."""
    return f"s3://{bucket}/{key}"


def image_id(bucket: str, key: str, sequencer: str) -> str:
    """Deterministic id of one upload: a redelivered event maps to the same id, a re-upload to a new one."""
    digest = hashlib.sha256(f"{s3_uri(bucket, key)}#{sequencer}".encode()).hexdigest()
    return digest[:32]


def result_key(prefix: str, uploaded_at: datetime, image_id_: str) -> str:
    """``<prefix>dt=YYYY-MM-DD/<imageId>.json`` with the UTC date of the upload."""
    day = uploaded_at.astimezone(UTC).strftime("%Y-%m-%d")
    return f"{prefix}dt={day}/{image_id_}.json"
