"""The signed token of a short image link: what it names, until when, and who signed it.

A link must stay under 200 characters (mail systems break lines over 998; a presigned URL signed with
a Lambda role carries its session token and dies with it) and stay valid for ``imageLinkDays``
whatever any credentials do. So the link carries no credentials: a token the link service checks with
a secret only the stack holds, then answers with a freshly presigned redirect.

Binary layout (40 bytes, base64url without padding: 54 characters):

    version (1) | key id (1) | image id (16) | upload day (2) | expires (4) | MAC (16)

- *image id*: the upload's deterministic id (``detect.keys.image_id``, 32 hex digits); with the
  *upload day* (days since 2020-01-01) it names the result object ``results/dt=<day>/<id>.json``,
  which says which bucket, key and version the link opens. The key itself (up to 1,024 bytes) is not
  in the token.
- *expires*: epoch seconds; *key id*: which secret signed it, so the secret can be rotated: a token
  of a key id no longer kept is refused, which is also how every link of a leaked key is revoked.
- *MAC*: HMAC-SHA256 over everything before it, truncated to 128 bits, compared in constant time.

``verify`` raises ``Refused`` with a reason for the service's metrics; the service answers a plain 403
whatever the reason, and never logs a token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

LINK_PATH = "/i/"  # a link is <link function URL>/i/<token>
VIEW_QUERY = "view"  # …?view: the image's page instead of the image
VERSION = 1
EPOCH = date(2020, 1, 1)
_BODY = struct.Struct(">BB16sHI")
MAC_BYTES = 16
TOKEN_BYTES = _BODY.size + MAC_BYTES
TOKEN_CHARS = (TOKEN_BYTES * 4 + 2) // 3  # 54: base64url, no padding
MIN_SECRET_BYTES = 32


class Refused(Exception):
    """The token does not open anything: ``reason`` is for metrics, never for the answer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LinkClaims:
    image_id: str  # 32 hex digits
    upload_day: date
    expires: int  # epoch seconds
    key_id: int


def _mac(secret: bytes, body: bytes) -> bytes:
    return hmac.new(secret, body, hashlib.sha256).digest()[:MAC_BYTES]


def _check_secret(secret: bytes) -> None:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"a link secret must have at least {MIN_SECRET_BYTES} bytes, got {len(secret)}")


def issue(claims: LinkClaims, secret: bytes) -> str:
    """The token for ``claims``, signed with ``secret`` (the one of ``claims.key_id``)."""
    _check_secret(secret)
    if not 0 <= claims.key_id <= 255:
        raise ValueError(f"key id {claims.key_id} must be 0-255")
    try:
        image = bytes.fromhex(claims.image_id)
    except ValueError:
        raise ValueError(f"image id {claims.image_id!r} is not 32 hex digits") from None
    if len(image) != 16:
        raise ValueError(f"image id {claims.image_id!r} is not 32 hex digits")
    day = (claims.upload_day - EPOCH).days
    if not 0 <= day <= 0xFFFF or not 0 <= claims.expires <= 0xFFFFFFFF:
        raise ValueError("upload day or expiry out of the token's range")
    body = _BODY.pack(VERSION, claims.key_id, image, day, claims.expires)
    return base64.urlsafe_b64encode(body + _mac(secret, body)).rstrip(b"=").decode("ascii")


def verify(token: str, secrets: Mapping[int, bytes], now: int) -> LinkClaims:
    """The claims of a token signed by one of ``secrets`` (key id -> secret) and not expired at
    ``now``; ``Refused`` otherwise. The MAC is checked before anything it covers is believed."""
    if not isinstance(token, str) or len(token) != TOKEN_CHARS:
        raise Refused("malformed")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise Refused("malformed") from None
    if len(raw) != TOKEN_BYTES or base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != token:
        raise Refused("malformed")  # one spelling per token: no second encoding of the same bytes
    body, mac = raw[: _BODY.size], raw[_BODY.size :]
    version, key_id, image, day, expires = _BODY.unpack(body)
    secret = secrets.get(key_id)
    # compute a MAC even for an unknown key id, so the answer takes as long either way
    expected = _mac(secret if secret is not None else b"\0" * MIN_SECRET_BYTES, body)
    if not hmac.compare_digest(expected, mac) or secret is None:
        raise Refused("signature" if secret is not None else "key-id")
    if version != VERSION:
        raise Refused("version")
    if now >= expires:
        raise Refused("expired")
    return LinkClaims(
        image_id=image.hex(), upload_day=EPOCH + timedelta(days=day), expires=expires, key_id=key_id
    )
