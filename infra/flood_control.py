"""Flood control (``alertCooldownMinutes``): the windows' table, ApplyCooldown, the digest sender.

At most one alert per label per folder per window; the workflow's CheckCooldowns state claims the
window's item (a DynamoDB conditional update), its ApplyCooldown state marks held-back labels'
records, and a function EventBridge Scheduler runs once a minute sends each window's digest once
(docs/flood-control.md).

Least privilege: the state machine may update items of this table only (CDK's task grants); the
ApplyCooldown function calls no service; the digest function may query the digest index, update
the table's items, and publish to the alerts topic (with its key, through SNS only).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.alerts import publish_with_topic_key
from infra.config import LabelwatchConfig
from infra.handlers import COOLDOWN_HANDLER, DIGEST_HANDLER
from infra.log_groups import protected_log_group
from infra.nag import acknowledge
from infra.python_function import python_function
from infra.results_schema import TABLE_NAME
from infra.schedules import every_minute
from infra.tables import on_demand_table

DIGEST_INDEX = "DigestsDue"


class FloodControl(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LabelwatchConfig,
        alerts_topic: sns.ITopic,
        logs_key: kms.IKey,
        athena_workgroup: str,
        query_console_url: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.table = on_demand_table(
            self, "Cooldowns", partition_key="pk", time_to_live_attribute="expiresAt"
        )
        # Sparse: a window is in it only while it owes a digest. Keys only: the digest's claim
        # returns the whole item, so a flood's growing set of image ids is not copied twice per write.
        self.table.add_global_secondary_index(
            index_name=DIGEST_INDEX,
            partition_key=dynamodb.Attribute(name="digest", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="digestDue", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )

        apply_role = iam.Role(
            self,
            "ApplyRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="labelwatch ApplyCooldown: write its own log only",
        )
        apply_logs = protected_log_group(self, "ApplyLogs", name="apply-cooldown", key=logs_key)
        self.apply_function = python_function(
            self,
            "Apply",
            description="labelwatch: mark the records of labels held back by flood control",
            handler=COOLDOWN_HANDLER,
            memory_size=256,
            timeout=Duration.seconds(5),
            role=apply_role,
            log_group=apply_logs,
            environment={},
        )
        apply_logs.grant_write(apply_role)

        digest_role = iam.Role(
            self,
            "DigestRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="labelwatch digest: send each cooldown window's digest once",
        )
        digest_logs = protected_log_group(self, "DigestLogs", name="digest", key=logs_key)
        self.digest_function = python_function(
            self,
            "Digest",
            description="labelwatch: e-mail each cooldown window's held-back matches once (once a minute)",
            handler=DIGEST_HANDLER,
            memory_size=256,
            timeout=Duration.seconds(50),
            role=digest_role,
            log_group=digest_logs,
            environment={
                "COOLDOWN_TABLE": self.table.table_name,
                "DIGEST_INDEX": DIGEST_INDEX,
                "ALERTS_TOPIC_ARN": alerts_topic.topic_arn,
                "ANALYTICS_DATABASE": config.analytics_database,
                "RESULTS_TABLE": TABLE_NAME,
                "ATHENA_WORKGROUP": athena_workgroup,
                "QUERY_CONSOLE_URL": query_console_url,
                "ALERT_COOLDOWN_MINUTES": str(config.alert_cooldown_minutes),
            },
        )
        digest_logs.grant_write(digest_role)
        for statement in [
            iam.PolicyStatement(
                actions=["dynamodb:Query"], resources=[f"{self.table.table_arn}/index/{DIGEST_INDEX}"]
            ),
            iam.PolicyStatement(actions=["dynamodb:UpdateItem"], resources=[self.table.table_arn]),
            iam.PolicyStatement(actions=["sns:Publish"], resources=[alerts_topic.topic_arn]),
            *publish_with_topic_key(self, alerts_topic, "PublishDigestToTheEncryptedTopic"),
        ]:
            digest_role.add_to_policy(statement)
        acknowledge(
            digest_role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "SNS encrypts with GenerateDataKey or GenerateDataKeyWithoutPlaintext (AWS's documented "
            "grant for publishers); on the alerts topic's key only, through SNS only (kms:ViaService).",
        )
        self.schedule = every_minute(
            self,
            name_suffix="alert-digests",
            function=self.digest_function,
            description="labelwatch: send the digests of cooldown windows that ended",
        )
