"""The stack's one customer-managed KMS key, shared by the alert and ops topics."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from constructs import Construct


def alerts_key(scope: Construct, construct_id: str = "TopicsKey") -> kms.Key:
    """A rotating symmetric key for the SNS topics, aliased ``alias/labelwatch/<stack name>``.

    Customer-managed, not ``alias/aws/sns``: CloudWatch alarms can publish to an encrypted topic only
    when the key policy lets ``cloudwatch.amazonaws.com`` use the key, and an AWS-managed key's policy
    cannot be changed. SNS keeps no messages at rest beyond delivery, so the key is scheduled for
    deletion (after the shortest waiting period) with the stack rather than orphaned.
    """
    stack = Stack.of(scope)
    return kms.Key(
        scope,
        construct_id,
        description=f"labelwatch {stack.stack_name}: encrypts the alert and ops SNS topics",
        alias=f"alias/labelwatch/{stack.stack_name}",
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.DESTROY,
        pending_window=Duration.days(7),
    )
