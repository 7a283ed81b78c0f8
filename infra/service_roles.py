"""A role an AWS service assumes for one resource of this account only."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct


def role_for_one_resource(
    scope: Construct, construct_id: str, *, service: str, source_arn: str, description: str
) -> iam.Role:
    """Assumable by ``service`` only when it acts for ``source_arn`` of this account: the documented
    confused-deputy conditions ``aws:SourceAccount`` and ``aws:SourceArn``, so nobody else's pipe or
    schedule naming the role can use it."""
    return iam.Role(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal(
            service,
            conditions={
                "StringEquals": {"aws:SourceAccount": Stack.of(scope).account},
                "ArnEquals": {"aws:SourceArn": source_arn},
            },
        ),
        description=description,
    )
