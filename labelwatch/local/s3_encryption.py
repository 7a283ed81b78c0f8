"""Object-level S3 encryption as S3 enforces it on reads; moto records it but enforces nothing.

* **SSE-C** (the uploader's own key, sent with every request): moto ignores the customer-key headers
  and serves the bytes to anyone. S3 keeps only a salted HMAC of the key and answers a read without
  it with 400 ``InvalidRequest`` (a HeadObject: 400 without a body), a read with another key with
  403 ``AccessDenied``, and key headers on an object stored without SSE-C with 400 ``InvalidRequest``.
  The twin keeps the MD5 of the customer key (botocore sends it with the key) on moto's stored
  version and answers reads the same way.
* **SSE-KMS**: moto keeps each version's key id (``FakeKey.kms_key_id``);
  :func:`stored_encryption` hands it to the authorizer, which requires ``kms:Decrypt`` on that key
  for a GetObject (S3 decrypts with the caller's permissions; a HeadObject needs no decryption).

Not covered: SSE-C on multipart uploads, CopyObject sources and presigned links.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from moto.s3.models import s3_backends

ALGORITHM_HEADER = "x-amz-server-side-encryption-customer-algorithm"
KEY_MD5_HEADER = "x-amz-server-side-encryption-customer-key-md5"
_STORED_MD5 = "labelwatch_sse_c_key_md5"  # the attribute the twin sets on moto's FakeKey

NO_KEY = (
    "The object was stored using a form of Server Side Encryption. "
    "The correct parameters must be provided to retrieve the object."
)
WRONG_KEY = (
    "Requests specifying Server Side Encryption with Customer provided keys must provide the correct "
    "secret key."
)
NOT_SSE_C = "The encryption parameters are not applicable to this object."


@dataclass(frozen=True)
class Refusal:
    """An S3 error answer: HTTP status, code and message (the authorizer's S3 refusals too)."""

    status: str
    code: str
    message: str

    def response(self, method: str) -> tuple[str, list[tuple[str, str]], bytes]:
        request_id = uuid.uuid4().hex[:16].upper()
        body = (
            b""
            if method == "HEAD"  # S3 sends no body with a HEAD's error
            else (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{self.code}</Code><Message>{escape(self.message)}</Message>"
                f"<RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>"
            ).encode()
        )
        return self.status, [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)], body


def stored_object(account: str, bucket: str | None, key: str | None, version_id: str | None) -> Any | None:
    """moto's stored version (the current one without ``version_id``), or None."""
    if not bucket or not key:
        return None
    try:
        return s3_backends[account]["aws"].get_object(bucket, key, version_id=version_id)
    except Exception:  # no such bucket, a malformed version id: S3 answers that itself
        return None


def stored_encryption(
    account: str, bucket: str, key: str, version_id: str | None
) -> tuple[str, str | None, bool] | None:
    """(algorithm, KMS key id, bucket key enabled) of a stored version; None when there is none."""
    found = stored_object(account, bucket, key, version_id)
    if found is None:
        return None
    return str(found.encryption or ""), found.kms_key_id, bool(found.bucket_key_enabled)


def uploads_customer_key(operation: str, headers: Mapping[str, str]) -> bool:
    return operation == "PutObject" and ALGORITHM_HEADER in headers and KEY_MD5_HEADER in headers


def remember_customer_key(
    account: str, params: Mapping[str, Any], version_id: str | None, headers: Mapping[str, str]
) -> None:
    """Keep the customer key's MD5 on the version a PutObject with SSE-C just stored."""
    bucket, key = params.get("Bucket"), params.get("Key")
    found = stored_object(account, bucket, key, version_id) or stored_object(account, bucket, key, None)
    if found is not None:
        setattr(found, _STORED_MD5, headers[KEY_MD5_HEADER])


def customer_key_md5(account: str, params: Mapping[str, Any]) -> str | None:
    """The MD5 of the customer key the requested version was stored with (None: not SSE-C)."""
    found = stored_object(account, params.get("Bucket"), params.get("Key"), params.get("versionId"))
    return getattr(found, _STORED_MD5, None) if found is not None else None


def read_refusal(stored_md5: str | None, headers: Mapping[str, str]) -> Refusal | None:
    """S3's answer to a GetObject/HeadObject of a version stored with ``stored_md5`` (None: allowed)."""
    given = headers.get(KEY_MD5_HEADER)
    if stored_md5 is None:
        return Refusal("400 Bad Request", "InvalidRequest", NOT_SSE_C) if given else None
    if given is None:
        return Refusal("400 Bad Request", "InvalidRequest", NO_KEY)
    if given != stored_md5:
        return Refusal("403 Forbidden", "AccessDenied", WRONG_KEY)
    return None


def customer_key_headers(stored_md5: str) -> list[tuple[str, str]]:
    """The headers S3 adds to an answer about an SSE-C object."""
    return [(ALGORITHM_HEADER, "AES256"), (KEY_MD5_HEADER, stored_md5)]
