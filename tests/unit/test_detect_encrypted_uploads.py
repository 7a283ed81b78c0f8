"""Uploads the function cannot decrypt: rejected with a reason, never a failure to the DLQ.

The input bucket encrypts with SSE-S3, so the function's role needs no KMS key to read an upload. What
S3 answers when an uploader chose other encryption (botocore's Stubber stands in for S3):

* SSE-C (a customer-provided key): S3 keeps only an HMAC of the key, and a GetObject without it is
  400 ``InvalidRequest`` "The object was stored using a form of Server Side Encryption. The correct
  parameters must be provided to retrieve the object."; a HeadObject is 400 without a body.
* SSE-KMS with a key the role may not use (another account's key, one whose key policy does not let
  the role decrypt): 403 ``AccessDenied`` naming the KMS action ("... is not authorized to perform:
  kms:Decrypt on resource: arn:aws:kms:..."), or a ``KMS.<exception>`` code when the key is disabled,
  pending deletion or gone.

Our own role lacking ``s3:GetObject`` is also a 403 ``AccessDenied``, naming ``s3:GetObject`` (or
none at all): that is our bug, and it stays a ``DetectorMisconfigured`` failure for the DLQ.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from detect.errors import DetectorMisconfigured, DetectorThrottled, ImageRejected
from detect.image_check import check_image

from tests.unit.factories import BUCKET

ROLE_SESSION = "arn:aws:sts::111122223333:assumed-role/Labelwatch-WorkflowDetectRole/Labelwatch-Detect"
FOREIGN_KEY = "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SSE_C_MESSAGE = (
    "The object was stored using a form of Server Side Encryption. "
    "The correct parameters must be provided to retrieve the object."
)


def s3_answering(*errors: tuple[str, str, int, str]):
    """An S3 client whose calls answer these errors in turn: (operation, code, status, message)."""
    client = boto3.client("s3", region_name="us-east-1")
    stubber = Stubber(client)
    for operation, code, status, message in errors:
        stubber.add_client_error(
            operation, service_error_code=code, service_message=message, http_status_code=status
        )
    stubber.activate()
    return client


def reason(client, key: str = "field-7/leaf.jpg") -> str:
    with pytest.raises(ImageRejected) as rejected:
        check_image(client, bucket=BUCKET, key=key, version_id=None)
    return rejected.value.reason


def test_an_sse_c_upload_is_rejected_as_sse_c_encrypted():
    assert reason(s3_answering(("get_object", "InvalidRequest", 400, SSE_C_MESSAGE))) == "sse-c-encrypted"


def test_an_empty_sse_c_upload_read_by_head_is_rejected_as_sse_c_encrypted():
    """A range of an empty object is refused (416), so its size comes from a HEAD: 400, no body."""
    client = s3_answering(
        ("get_object", "InvalidRange", 416, "The requested range is not satisfiable"),
        ("head_object", "400", 400, "Bad Request"),
    )
    assert reason(client) == "sse-c-encrypted"


def test_an_upload_encrypted_with_a_kms_key_the_role_may_not_use_is_rejected():
    denied = (
        f"User: {ROLE_SESSION} is not authorized to perform: kms:Decrypt on resource: {FOREIGN_KEY} "
        "because no resource-based policy allows the kms:Decrypt action"
    )
    assert reason(s3_answering(("get_object", "AccessDenied", 403, denied))) == "kms-key-unusable"


def test_the_older_kms_denial_message_is_also_a_foreign_key():
    old = (
        "The ciphertext refers to a customer master key that does not exist, does not exist in this "
        "region, or you are not allowed to access."
    )
    assert reason(s3_answering(("get_object", "AccessDenied", 403, old))) == "kms-key-unusable"


@pytest.mark.parametrize(
    "code",
    [
        "KMS.AccessDeniedException",
        "KMS.DisabledException",
        "KMS.KMSInvalidStateException",
        "KMS.NotFoundException",
        "KMS.InvalidKeyUsageException",
    ],
)
def test_an_upload_whose_kms_key_is_disabled_deleted_or_denied_is_rejected(code):
    assert reason(s3_answering(("get_object", code, 400, f"{FOREIGN_KEY} cannot be used"))) == (
        "kms-key-unusable"
    )


@pytest.mark.parametrize(
    "message",
    [
        f"User: {ROLE_SESSION} is not authorized to perform: s3:GetObject on resource: "
        f'"arn:aws:s3:::{BUCKET}/field-7/leaf.jpg" because no identity-based policy allows the '
        "s3:GetObject action",
        "Access Denied",
    ],
)
def test_our_role_lacking_s3_get_object_stays_a_misconfiguration_for_the_dlq(message):
    # without s3:GetObject the HEAD (which would tell a key's refusal apart) is refused as well
    answers = [("get_object", "AccessDenied", 403, message), ("head_object", "403", 403, "")]
    with pytest.raises(DetectorMisconfigured, match="s3:GetObject"):
        check_image(s3_answering(*answers), bucket=BUCKET, key="a.jpg")


@pytest.mark.parametrize("code", ["KMS.ThrottlingException", "KMS.KMSInternalException"])
def test_kms_throttling_behind_s3_is_transient(code):
    with pytest.raises(DetectorThrottled):
        check_image(s3_answering(("get_object", code, 400, "Rate exceeded")), bucket=BUCKET, key="a.jpg")
