"""Presigned GET links to the image for alert e-mails."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class ImageLink:
    url: str
    expires_at: datetime


def presign_image(
    s3: Any, *, bucket: str, key: str, version_id: str | None, expiry_seconds: int, now: datetime
) -> ImageLink:
    """A SigV4 presigned GET for the exact uploaded version. ``s3`` must be a client configured for
    signature version s3v4. Signed with a role's temporary credentials, the link stops working when
    those expire even if ``expires_at`` is later."""
    params = {"Bucket": bucket, "Key": key}
    if version_id:
        params["VersionId"] = version_id
    url = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expiry_seconds)
    return ImageLink(url=url, expires_at=now + timedelta(seconds=expiry_seconds))
