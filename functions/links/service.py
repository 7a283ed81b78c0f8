"""The link service's answer to one request: a fresh presigned redirect to the image, or a plain 403.

``answer(path, ...)`` is everything the handler does, with the clients and secrets given to it:

1. ``/i/<token>`` is checked (``token.verify``: signature in constant time, key id, expiry);
2. the token's image id and upload day name the result object ``<prefix>dt=<day>/<id>.json``, whose
   first record says which bucket, key, version and format the link opens;
3. the answer is a 302 to a GET of that exact version presigned for minutes, with the media type of
   the format the detect function read from the bytes (never the uploader's Content-Type); with the
   query ``view``, the image's page instead (``view.render_view``).

Whatever goes wrong (malformed, tampered, expired, revoked, no such result or one that cannot be read,
not an image) the answer is the same plain 403 with no detail; ``Answer.reason`` says why, for a
metric, and the token is in no answer and no log line.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any

from detect.keys import result_key
from detect.links import MEDIA_TYPES, presign_image

from .token import LINK_PATH, VIEW_QUERY, Refused, verify
from .view import CONTENT_SECURITY_POLICY, render_view

VIEW_MAX_BYTES = 15 * 1024 * 1024  # what DetectCustomLabels reads from S3: larger uploads were refused
# The redirect's target lives this long: enough to follow it, too short to be worth forwarding.
REDIRECT_SECONDS = 300
_NO_CACHE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    reason: str = "ok"  # why it was refused (for metrics); never sent


def forbidden(reason: str) -> Answer:
    return Answer(403, {**_NO_CACHE, "Content-Type": "text/plain; charset=utf-8"}, "Forbidden\n", reason)


@dataclass(frozen=True)
class Image:
    """What a link opens, as the result record names it."""

    bucket: str
    key: str
    version_id: str | None
    image_format: str


def read_photo(s3: Any, image: Image) -> bytes | None:
    """The uploaded version's bytes for the page, or None over ``VIEW_MAX_BYTES`` or when gone."""
    version = {"VersionId": image.version_id} if image.version_id else {}
    try:
        response = s3.get_object(Bucket=image.bucket, Key=image.key, **version)
    except s3.exceptions.ClientError:
        return None
    with contextlib.closing(response["Body"]) as body:
        return body.read() if int(response["ContentLength"]) <= VIEW_MAX_BYTES else None


def read_records(s3: Any, *, results_bucket: str, result_key: str) -> list[dict[str, Any]]:
    """The result records of one image (NDJSON), or [] when there is no such object."""
    try:
        body = s3.get_object(Bucket=results_bucket, Key=result_key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return []
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def image_of(records: list[dict[str, Any]]) -> Image | None:
    """The image the records name (every record of one image names the same), or None."""
    if not records:
        return None
    record = records[0]
    return Image(
        bucket=record["bucket"],
        key=record["key"],
        version_id=record.get("version_id"),
        image_format=record.get("image_format") or "",
    )


def answer(
    path: str,
    *,
    secrets: Mapping[int, bytes],
    s3: Any,
    presign_s3: Any,
    results_bucket: str,
    results_prefix: str,
    now: datetime,
    query: str = "",
    execution_link: Callable[[str | None, str | None], str | None] | None = None,
) -> Answer:
    """The answer to a GET of ``path`` with ``query`` (the function URL's raw path and query):
    ``view`` gives the image's page (``execution_link(arn, key)``: where its execution is shown)."""
    if not path.startswith(LINK_PATH):
        return forbidden("path")
    try:
        claims = verify(path[len(LINK_PATH) :], secrets, int(now.timestamp()))
    except Refused as refused:
        return forbidden(refused.reason)
    uploaded = datetime.combine(claims.upload_day, time(), UTC)  # the day is what names the object
    try:
        records = read_records(
            s3,
            results_bucket=results_bucket,
            result_key=result_key(results_prefix, uploaded, claims.image_id),
        )
        image = image_of(records)
    except (s3.exceptions.ClientError, ValueError, KeyError, TypeError):
        return forbidden("unreadable-result")
    if image is None:
        return forbidden("no-result")
    if image.image_format not in MEDIA_TYPES:
        return forbidden("not-an-image")  # only images are served, and only as image/*
    if query == VIEW_QUERY:
        page = render_view(
            records=records,
            photo=read_photo(s3, image),
            execution_link=(
                execution_link(records[0].get("execution"), records[0].get("key")) if execution_link else None
            ),
            upload_day=claims.upload_day.isoformat(),
        )
        headers = {**_NO_CACHE, "Content-Type": "text/html; charset=utf-8"}
        return Answer(200, {**headers, "Content-Security-Policy": CONTENT_SECURITY_POLICY}, page)
    link = presign_image(
        presign_s3,
        bucket=image.bucket,
        key=image.key,
        version_id=image.version_id,
        expiry_seconds=REDIRECT_SECONDS,
        now=now,
        image_format=image.image_format,
    )
    return Answer(302, {**_NO_CACHE, "Location": link.url})
