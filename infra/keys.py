"""The stack's customer-managed KMS keys: one for the alert and ops topics, one for its log groups."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.log_groups import log_group_prefix

# What CloudWatch Logs needs of a log group's key (its documented key policy statement).
_LOGS_KEY_ACTIONS = [
    "kms:Encrypt*",
    "kms:Decrypt*",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:Describe*",
]


def alerts_key(scope: Construct, construct_id: str = "TopicsKey") -> kms.Key:
    """A rotating symmetric key for the SNS topics, aliased ``alias/labelwatch/<stack name>``.

    Customer-managed, not ``alias/aws/sns``: CloudWatch alarms can publish to an encrypted topic only
    when the key policy lets ``cloudwatch.amazonaws.com`` use the key, and an AWS-managed key's policy
    cannot be changed. SNS keeps no messages at rest beyond delivery, so the key is scheduled for
    deletion (after the shortest waiting period) with the stack rather than orphaned.
    """
    return _stack_key(scope, construct_id, purpose="the alert and ops SNS topics", alias_suffix="")


def logs_key(scope: Construct, construct_id: str = "LogsKey") -> kms.Key:
    """A rotating key for the stack's log groups, aliased ``alias/labelwatch/<stack name>/logs``.

    Its policy lets the CloudWatch Logs service use it only for this stack's log groups (the
    documented ``kms:EncryptionContext:aws:logs:arn`` condition, matched against their names), in
    this account and region. Log readers need no key permission: CloudWatch Logs decrypts for them.
    """
    stack = Stack.of(scope)
    key = _stack_key(scope, construct_id, purpose="the log groups", alias_suffix="/logs")
    log_groups = (
        f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:{log_group_prefix(scope)}*"
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchLogsForTheStacksLogGroups",
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.{stack.url_suffix}")],
            actions=_LOGS_KEY_ACTIONS,
            resources=["*"],
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
        )
    )
    return key


def _stack_key(scope: Construct, construct_id: str, *, purpose: str, alias_suffix: str) -> kms.Key:
    """A rotating symmetric key of this stack, ``alias/labelwatch/<stack name><alias_suffix>``,
    scheduled for deletion with the stack (after the shortest waiting period) rather than orphaned."""
    stack = Stack.of(scope)
    return kms.Key(
        scope,
        construct_id,
        description=f"labelwatch {stack.stack_name}: encrypts {purpose}",
        alias=f"alias/labelwatch/{stack.stack_name}{alias_suffix}",
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.DESTROY,
        pending_window=Duration.days(7),
    )
