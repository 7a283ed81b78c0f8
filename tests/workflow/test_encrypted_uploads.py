"""Uploads encrypted so that the detect function cannot read them, end to end on the strict twin.

An uploader may choose SSE-C (a key of their own that S3 does not keep) or SSE-KMS with a key the
detect function's role has no grant on. S3 refuses the function's GetObject either way; the image must
end as a rejected result record with the reason, not loop through the failure DLQ as a failure.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.workflow.conftest import leaf_image
from tests.workflow.helpers import drain_queue, result_records

pytestmark = pytest.mark.slow

CUSTOMER_KEY = bytes(range(32))  # an uploader's own AES-256 key
SSE_C_MESSAGE = (
    "The object was stored using a form of Server Side Encryption. "
    "The correct parameters must be provided to retrieve the object."
)


def sse_c(key: bytes = CUSTOMER_KEY) -> dict:
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}


def a_key_without_grants(stack) -> str:
    """A customer-managed key of the account whose policy (the default one) gives the detect role
    nothing: a key another team encrypts its uploads with."""
    return stack.client("kms").create_key(Description="another team's uploads")["KeyMetadata"]["Arn"]


def test_an_sse_c_upload_ends_as_a_rejected_record_not_in_the_dlq(stack, model):
    s3, bucket = stack.client("s3"), stack.outputs["InputBucketName"]
    s3.put_object(Bucket=bucket, Key="field-7/leaf.jpg", Body=leaf_image("leaf-smut"), **sse_c())

    stack.pipe().drain()

    (record,) = result_records(stack)
    assert (record["key"], record["status"], record["reason"]) == (
        "field-7/leaf.jpg",
        "rejected",
        "sse-c-encrypted",
    )
    assert record["label"] is None and model.calls == 0
    assert drain_queue(stack, "FailureDlqUrl") == []


def test_an_upload_under_a_kms_key_the_function_may_not_use_ends_as_a_rejected_record(stack, model):
    s3, bucket = stack.client("s3"), stack.outputs["InputBucketName"]
    key = a_key_without_grants(stack)
    s3.put_object(
        Bucket=bucket,
        Key="leaf.jpg",
        Body=leaf_image("leaf-smut"),
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=key,
    )

    stack.pipe().drain()

    (record,) = result_records(stack)
    assert (record["status"], record["reason"]) == ("rejected", "kms-key-unusable")
    assert model.calls == 0
    assert drain_queue(stack, "FailureDlqUrl") == []


def test_an_upload_under_the_aws_managed_s3_key_is_processed(stack, model):
    """The account's aws/s3 key lets every principal of the account decrypt through S3."""
    s3, bucket = stack.client("s3"), stack.outputs["InputBucketName"]
    s3.put_object(
        Bucket=bucket,
        Key="leaf.jpg",
        Body=leaf_image("leaf-smut"),
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId="alias/aws/s3",
    )

    stack.pipe().drain()

    (record,) = result_records(stack)
    assert (record["status"], record["label"]) == ("ok", "leaf-smut")


def test_the_twin_answers_reads_of_an_sse_c_object_as_s3_does(stack):
    """Without the key GetObject is 400 InvalidRequest and HeadObject 400 without a body; with
    another key 403; with the right key the object."""
    s3, bucket = stack.client("s3"), stack.outputs["InputBucketName"]
    body = leaf_image("healthy")
    s3.put_object(Bucket=bucket, Key="own-key.jpg", Body=body, **sse_c())

    with pytest.raises(ClientError) as no_key:
        s3.get_object(Bucket=bucket, Key="own-key.jpg")
    assert no_key.value.response["Error"] == {"Code": "InvalidRequest", "Message": SSE_C_MESSAGE} | {
        k: v for k, v in no_key.value.response["Error"].items() if k not in ("Code", "Message")
    }
    assert no_key.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as head:
        s3.head_object(Bucket=bucket, Key="own-key.jpg")
    assert head.value.response["Error"]["Code"] == "400"
    with pytest.raises(ClientError) as wrong_key:
        s3.get_object(Bucket=bucket, Key="own-key.jpg", **sse_c(bytes(32)))
    assert (
        wrong_key.value.response["Error"]["Code"],
        wrong_key.value.response["ResponseMetadata"]["HTTPStatusCode"],
    ) == (
        "AccessDenied",
        403,
    )
    assert s3.get_object(Bucket=bucket, Key="own-key.jpg", **sse_c())["Body"].read() == body
    assert s3.head_object(Bucket=bucket, Key="own-key.jpg", **sse_c())["SSECustomerAlgorithm"] == "AES256"


def test_the_twin_refuses_the_detect_roles_read_of_an_object_under_a_key_it_has_no_grant_on(stack):
    """S3 decrypts with the caller's permissions: 403 AccessDenied naming kms:Decrypt and the key.
    A HEAD needs no decryption, so it is allowed."""
    s3, bucket = stack.client("s3"), stack.outputs["InputBucketName"]
    key = a_key_without_grants(stack)
    s3.put_object(Bucket=bucket, Key="leaf.jpg", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key)
    detect_role = stack.emulator.authorizer.role_arn("WorkflowDetectRole")
    as_detect = stack.emulator.clients_for(detect_role)("s3")

    with pytest.raises(ClientError) as denied:
        as_detect.get_object(Bucket=bucket, Key="leaf.jpg")

    error = denied.value.response["Error"]
    assert (error["Code"], denied.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "AccessDenied",
        403,
    )
    assert f"is not authorized to perform: kms:Decrypt on resource: {key}" in error["Message"]
    assert as_detect.head_object(Bucket=bucket, Key="leaf.jpg")["SSEKMSKeyId"] == key
    assert s3.get_object(Bucket=bucket, Key="leaf.jpg")["Body"].read() == b"x"  # the account may
