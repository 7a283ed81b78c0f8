"""Image links: the short signed link an alert carries, and the presigned GET the link function
answers it with (docs/links.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from links.keys import LinkKeys
from links.token import LINK_PATH, VIEW_QUERY, LinkClaims, issue

# The detected format (``CheckedImage.format``) → the media type the link serves the image as.
MEDIA_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "tiff": "image/tiff",
    "heic": "image/heic",
    "heif": "image/heif",
    "avif": "image/avif",
}
UNKNOWN_MEDIA_TYPE = "application/octet-stream"  # downloaded, never rendered as a page


@dataclass(frozen=True)
class ImageLink:
    url: str
    expires_at: datetime

    @property
    def view_url(self) -> str:
        """The image's page: its labels, boxes, rule and execution (``?view``)."""
        return f"{self.url}?{VIEW_QUERY}"


def signed_link(
    base_url: str, keys: LinkKeys, *, image_id: str, uploaded_at: datetime, now: datetime, days: int
) -> ImageLink:
    """``<base_url>/i/<token>``: valid ``days`` from ``now`` whatever any credentials do, naming the
    image by its id and upload day (which name its result object), signed with the current key."""
    expires_at = now + timedelta(days=days)
    claims = LinkClaims(
        image_id=image_id,
        upload_day=uploaded_at.astimezone(UTC).date(),
        expires=int(expires_at.timestamp()),
        key_id=keys.current,
    )
    token = issue(claims, keys.signing_key)
    return ImageLink(url=f"{base_url.rstrip('/')}{LINK_PATH}{token}", expires_at=expires_at)


def media_type(image_format: str) -> str:
    return MEDIA_TYPES.get(image_format, UNKNOWN_MEDIA_TYPE)


def presign_image(
    s3: Any,
    *,
    bucket: str,
    key: str,
    version_id: str | None,
    expiry_seconds: int,
    now: datetime,
    image_format: str,
) -> ImageLink:
    """A SigV4 presigned GET for the exact uploaded version. ``s3`` must be a client configured for
    signature version s3v4. Signed with a role's temporary credentials, the link stops working when
    those expire even if ``expires_at`` is later.

    The link overrides the object's stored Content-Type (whatever the uploader set, ``text/html``
    say) with the media type of the format the function detected from its bytes, and asks for
    ``inline``: a polyglot upload (a JPEG that is also an HTML page) opens as the image it was
    judged to be, never as a page in the bucket's origin. Both are signed, so they cannot be
    removed from the link."""
    params = {
        "Bucket": bucket,
        "Key": key,
        "ResponseContentType": media_type(image_format),
        "ResponseContentDisposition": "inline",
    }
    if version_id:
        params["VersionId"] = version_id
    url = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expiry_seconds)
    return ImageLink(url=url, expires_at=now + timedelta(seconds=expiry_seconds))
