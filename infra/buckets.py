"""The one way this app makes an S3 bucket: private, encrypted, TLS-only, access-logged."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct


def secure_bucket(
    scope: Construct,
    construct_id: str,
    *,
    bucket_name: str | None = None,
    access_logs: s3.IBucket | None = None,
    access_logs_prefix: str | None = None,
    event_bridge_enabled: bool = False,
    lifecycle_rules: list[s3.LifecycleRule] | None = None,
) -> s3.Bucket:
    """A bucket with block-public-access, SSE-S3, an enforce-TLS policy and versioning.

    SSE-S3 (not KMS) because Rekognition reads input images through its own S3 access and the
    Athena/Glue readers need no key grants; the data is still encrypted at rest.
    Buckets are retained on stack deletion: they hold the user's images and results.
    """
    return s3.Bucket(
        scope,
        construct_id,
        bucket_name=bucket_name,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=access_logs_prefix,
        event_bridge_enabled=event_bridge_enabled,
        lifecycle_rules=lifecycle_rules,
        removal_policy=RemovalPolicy.RETAIN,
    )
