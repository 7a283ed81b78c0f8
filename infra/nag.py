"""cdk-nag (AwsSolutions) checks and the acknowledged findings, each with its reason.

cdk-nag 3 is a CDK policy-validation plugin: findings fail ``app.synth()`` unless acknowledged
with ``Validations.of(scope).acknowledge``. Acknowledge on the narrowest construct possible.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def add_checks(app: App) -> None:
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True)
    )


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Accept a finding on ``scope`` (and its children) with a one-line reason."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def logical_id(construct: IConstruct) -> str:
    """The CloudFormation logical id of ``construct``'s resource (how cdk-nag's findings name it)."""
    from aws_cdk import Stack

    return Stack.of(construct).get_logical_id(construct.node.default_child)
