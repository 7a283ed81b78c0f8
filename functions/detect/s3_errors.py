"""What an S3 ClientError means for one image."""

from __future__ import annotations

import re

from botocore.exceptions import ClientError

from .errors import DetectorMisconfigured, DetectorThrottled, ImageRejected

# A HEAD has no error body: S3 reports only the status code there.
MISSING = {"404", "NoSuchKey", "NoSuchVersion", "405", "MethodNotAllowed"}
DENIED = {"403", "AccessDenied", "AllAccessDisabled"}
TRANSIENT = {
    "500",
    "503",
    "InternalError",
    "ServiceUnavailable",
    "SlowDown",
    "RequestTimeout",
    # S3 passes on what KMS answered while decrypting an SSE-KMS object as KMS.<exception>
    "KMS.ThrottlingException",
    "KMS.KMSInternalException",
    "KMS.DependencyTimeoutException",
}
# The object's KMS key cannot decrypt it for this role: denied by its policy, disabled, pending
# deletion, deleted, or no symmetric encryption key.
KMS_KEY_UNUSABLE = {
    "KMS.AccessDeniedException",
    "KMS.DisabledException",
    "KMS.KMSInvalidStateException",
    "KMS.NotFoundException",
    "KMS.InvalidKeyUsageException",
    "KMS.KeyUnavailableException",
}
# A GetObject of an SSE-C object without its key: 400 InvalidRequest with this message.
_SSE_C_MESSAGE = "stored using a form of server side encryption"
# An AccessDenied because of the object's KMS key names the KMS action (``... is not authorized to
# perform: kms:Decrypt on resource: arn:aws:kms:...``); before S3 named actions it said this.
_KMS_DENIAL = re.compile(r"perform: kms:[A-Za-z]+|ciphertext refers to a customer master key", re.IGNORECASE)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", ""))


def encryption_rejection(exc: ClientError, operation: str) -> ImageRejected | None:
    """``sse-c-encrypted`` or ``kms-key-unusable`` when the upload's own encryption keeps this
    function out; None otherwise.

    The input bucket encrypts with SSE-S3, so the function's role is never meant to need a KMS key to
    read an upload: any KMS refusal is about a key the uploader chose. An AccessDenied that names no
    KMS action (our role lacking s3:GetObject) is not one of these.
    """
    code, message = error_code(exc), error_message(exc)
    if code == "InvalidRequest" and _SSE_C_MESSAGE in message.lower():
        return ImageRejected("sse-c-encrypted")
    if operation == "HeadObject" and code in {"400", "BadRequest"}:  # a HEAD of an SSE-C object
        return ImageRejected("sse-c-encrypted")
    if code in KMS_KEY_UNUSABLE or (code in DENIED and _KMS_DENIAL.search(message)):
        return ImageRejected("kms-key-unusable")
    return None


def translate_s3_error(exc: ClientError, operation: str, uri: str) -> Exception:
    """The exception to raise instead of ``exc``; unknown codes come back unchanged (-> failure DLQ)."""
    code = error_code(exc)
    if code in MISSING:
        return ImageRejected("object-missing")
    encrypted = encryption_rejection(exc, operation)
    if encrypted is not None:
        return encrypted
    if code in DENIED:
        return DetectorMisconfigured(
            f"S3 {operation} on {uri} was denied ({code}): the function's role needs s3:GetObject on the "
            "input bucket (without s3:ListBucket S3 also answers 403 for an object that no longer exists)"
        )
    if code in TRANSIENT:
        return DetectorThrottled(f"S3 {operation} on {uri} failed transiently ({code})")
    return exc
