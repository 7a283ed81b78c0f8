"""The stack's DynamoDB tables: one way to make them (on demand, encrypted, recoverable)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct


def on_demand_table(
    scope: Construct, construct_id: str, *, partition_key: str, time_to_live_attribute: str | None = None
) -> dynamodb.Table:
    """A table keyed by one string attribute: on-demand billing, AWS-managed encryption, point-in-time
    recovery; deleted with the stack (what it holds is state the stack rebuilds: claims, windows)."""
    return dynamodb.Table(
        scope,
        construct_id,
        partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        time_to_live_attribute=time_to_live_attribute,
        encryption=dynamodb.TableEncryption.AWS_MANAGED,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        removal_policy=RemovalPolicy.DESTROY,
    )
