"""The model autopilot concern: a function EventBridge Scheduler runs once a minute, its state table.

Why a small Lambda and not a Standard state machine: one decision is ~5 describe calls and at most
two actions, once a minute (43,830 runs a month). As a function that is ~$0.03 a month; as a
Standard workflow of ~8 state transitions per run it would be ~$8.80 a month at $0.025 per 1,000
transitions, for a graph nobody needs to watch. The decision is a pure function either way
(``functions/autopilot/decision.py``), and the function's log says what it did and why.

Least privilege: the function may read this ingest queue's counts, describe and start/stop this one
model version (DescribeProjects has no resource type in IAM: it is the one ``*``), describe and
start/stop this one Pipe, and read/write its own table. The schedule's role may invoke only this
function, and only EventBridge Scheduler for this account's schedule may assume it.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import LabelwatchConfig
from infra.handlers import AUTOPILOT_HANDLER
from infra.log_groups import protected_log_group
from infra.nag import acknowledge
from infra.python_function import python_function
from infra.schedules import every_minute
from infra.tables import on_demand_table

AUTOPILOT_TIMEOUT = Duration.seconds(50)  # under the minute: two runs never overlap for long


def project_arn_pattern(model_arn: str) -> str:
    """The IAM resource of the version's project (DescribeProjectVersions): a project's ARN ends in its
    own creation time, which the version's ARN does not carry."""
    return f"{model_arn.partition('/version/')[0]}/*"


class ModelAutopilot(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LabelwatchConfig,
        ingest_queue: sqs.IQueue,
        pipe_name: str,
        pipe_arn: str,
        logs_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.state_table = on_demand_table(self, "State", partition_key="model")
        log_group = protected_log_group(self, "Logs", name="autopilot", key=logs_key)
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="labelwatch autopilot: start and stop the model and the Pipe as images wait",
        )
        self.function = python_function(
            self,
            "Function",
            description="labelwatch: run the Custom Labels model only while images wait (once a minute)",
            handler=AUTOPILOT_HANDLER,
            memory_size=256,
            timeout=AUTOPILOT_TIMEOUT,
            role=role,
            log_group=log_group,
            environment={
                "MODEL_ARN": config.model_arn,
                "MODEL_CONTROL": config.model_control,
                "MODEL_IDLE_MINUTES": str(config.model_idle_minutes),
                "MIN_INFERENCE_UNITS": str(config.min_inference_units),
                "MAX_INFERENCE_UNITS": str(config.max_inference_units),
                "PIPE_NAME": pipe_name,
                "INGEST_QUEUE_URL": ingest_queue.queue_url,
                "STATE_TABLE": self.state_table.table_name,
            },
        )
        log_group.grant_write(role)
        statements = [
            iam.PolicyStatement(actions=["sqs:GetQueueAttributes"], resources=[ingest_queue.queue_arn]),
            iam.PolicyStatement(actions=["rekognition:DescribeProjects"], resources=["*"]),
            iam.PolicyStatement(
                actions=["rekognition:DescribeProjectVersions"],
                resources=[project_arn_pattern(config.model_arn)],
            ),
            iam.PolicyStatement(
                actions=["rekognition:StartProjectVersion", "rekognition:StopProjectVersion"],
                resources=[config.model_arn],
            ),
            iam.PolicyStatement(
                actions=["pipes:DescribePipe", "pipes:StartPipe", "pipes:StopPipe"], resources=[pipe_arn]
            ),
            iam.PolicyStatement(
                actions=["dynamodb:GetItem", "dynamodb:PutItem"], resources=[self.state_table.table_arn]
            ),
        ]
        for statement in statements:
            role.add_to_policy(statement)

        self.schedule = every_minute(
            self,
            name_suffix="model-autopilot",
            function=self.function,
            description="labelwatch: one autopilot decision a minute",
        )
        self._acknowledge_findings(config.model_arn)

    def _acknowledge_findings(self, model_arn: str) -> None:
        policy = self.function.role.node.find_child("DefaultPolicy")
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "rekognition:DescribeProjects has no resource type in IAM; the project and version "
            "actions are scoped to this model.",
        )
        acknowledge(
            policy,
            f"AwsSolutions-IAM5[Resource::{project_arn_pattern(model_arn)}]",
            "DescribeProjectVersions names the model's project, whose ARN ends in the project's own "
            "creation time (not known from the version's ARN): this project only.",
        )
