"""What an S3 ClientError means for one image."""

from __future__ import annotations

from botocore.exceptions import ClientError

from .errors import DetectorMisconfigured, DetectorThrottled, ImageRejected

# A HEAD has no error body: S3 reports only the status code there.
MISSING = {"404", "NoSuchKey", "NoSuchVersion", "405", "MethodNotAllowed"}
DENIED = {"403", "AccessDenied", "AllAccessDisabled", "KMS.AccessDeniedException"}
TRANSIENT = {"500", "503", "InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout"}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def translate_s3_error(exc: ClientError, operation: str, uri: str) -> Exception:
    """The exception to raise instead of ``exc``; unknown codes come back unchanged (-> failure DLQ)."""
    code = error_code(exc)
    if code in MISSING:
        return ImageRejected("object-missing")
    if code in DENIED:
        return DetectorMisconfigured(
            f"S3 {operation} on {uri} was denied ({code}): the function's role needs s3:GetObject on the "
            "input bucket (without s3:ListBucket S3 also answers 403 for an object that no longer exists)"
        )
    if code in TRANSIENT:
        return DetectorThrottled(f"S3 {operation} on {uri} failed transiently ({code})")
    return exc
