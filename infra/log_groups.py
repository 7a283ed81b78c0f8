"""The stack's log groups: encrypted with the stack's logs key, image-link secrets masked.

The executions log group is written at level ALL with execution data (the console needs it for
Express workflows), so it holds the detect function's output: the alert text with its image links
(``/i/<token>``, valid ``imageLinkDays``). A data protection policy masks the token as the events are
ingested, and the signature of any presigned S3 link, so ``logs:GetLogEvents`` alone shows links
that do not open; only ``logs:Unmask`` shows them whole. Every log group gets the same treatment,
so none can leak a link another one hides.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

# SigV4's query signature: 64 hex digits after "X-Amz-Signature=" (or the "\u003d" a JSON writer may
# put for '='). Only characters CloudWatch Logs allows in a custom data identifier (no parentheses).
SIGNATURE_PATTERN = r"X-Amz-Signature[^0-9a-f]{1,8}[0-9a-f]{64}"
# An image link's token (functions/links/token.py: 54 characters of base64url after /i/).
TOKEN_PATTERN = r"/i/[A-Za-z0-9_-]{54}"


def log_group_prefix(scope: Construct) -> str:
    """Where the stack's log groups are named: known before they exist, so the logs key's policy can
    name them. ``/aws/vendedlogs/`` keeps the Step Functions and Pipes deliveries out of the
    account's CloudWatch Logs resource policy (which has a size limit)."""
    return f"/aws/vendedlogs/labelwatch/{Stack.of(scope).stack_name}/"


def protected_log_group(scope: Construct, construct_id: str, *, name: str, key: kms.IKey) -> logs.LogGroup:
    """A month of logs under ``log_group_prefix``, encrypted with ``key``, link signatures masked.

    Destroyed with the stack: its key is, so a retained group could not be read anyway."""
    return logs.LogGroup(
        scope,
        construct_id,
        log_group_name=log_group_prefix(scope) + name,
        encryption_key=key,
        data_protection_policy=_link_signature_masking(),
        retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=RemovalPolicy.DESTROY,
    )


def _link_signature_masking() -> logs.DataProtectionPolicy:
    return logs.DataProtectionPolicy(
        name="labelwatch-presigned-links",
        description="Masks image-link tokens and presigned S3 link signatures in log events",
        identifiers=[
            logs.CustomDataIdentifier("ImageLinkToken", TOKEN_PATTERN),
            logs.CustomDataIdentifier("PresignedLinkSignature", SIGNATURE_PATTERN),
        ],
    )
