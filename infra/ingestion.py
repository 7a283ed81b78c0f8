"""The Ingestion concern: input bucket → EventBridge rule → SQS buffer → EventBridge Pipe."""

from __future__ import annotations

import hashlib
from urllib.parse import quote_plus

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_pipes as pipes
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.buckets import secure_bucket
from infra.config import LabelwatchConfig
from infra.log_groups import protected_log_group
from infra.nag import acknowledge
from infra.queues import DLQ_RETENTION, secure_queue
from infra.service_roles import role_for_one_resource

MAX_PIPE_NAME = 64  # Pipes: 1-64 of [.-_A-Za-z0-9]; a stack name has up to 128 letters, digits and '-'


def pipe_name(stack_name: str) -> str:
    """``<stack>-ingest``, or for a long stack name its start and a digest of the whole: fixed before
    the Pipe exists, so the Pipe role's trust policy can name the Pipe's ARN."""
    name = f"{stack_name}-ingest"
    if len(name) <= MAX_PIPE_NAME:
        return name
    digest = hashlib.sha256(stack_name.encode()).hexdigest()[:8]
    return f"{stack_name[: MAX_PIPE_NAME - len(digest) - len('--ingest')]}-{digest}-ingest"


def noncurrent_versions_expire(days: int) -> s3.LifecycleRule:
    """Versions that stopped being current (overwritten or deleted images) expire ``days`` later,
    and a delete marker left without versions with them; current objects are kept."""
    return s3.LifecycleRule(
        id="ExpireNoncurrentVersions",
        noncurrent_version_expiration=Duration.days(days),
        expired_object_delete_marker=True,
    )


def s3_event_key(key: str) -> str:
    """``key`` as S3's events carry it: URL-encoded as a form value (space as '+', '+' as '%2B',
    non-ASCII as UTF-8 %XX), slashes kept. The rule compares its prefix with that text."""
    return quote_plus(key, safe="/~-_.")


class Ingestion(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LabelwatchConfig,
        access_logs: s3.IBucket,
        logs_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.logs_key = logs_key
        self.input_bucket = secure_bucket(
            self,
            "InputBucket",
            bucket_name=config.input_bucket_name,
            access_logs=access_logs,
            access_logs_prefix="input/",
            event_bridge_enabled=True,
            lifecycle_rules=[noncurrent_versions_expire(config.noncurrent_version_days)],
        )
        self.ingest_dlq = secure_queue(self, "IngestDlq", retention_period=DLQ_RETENTION)
        self.ingest_queue = secure_queue(
            self,
            "IngestQueue",
            # Longer than the workflow can run, so a message is never handed out twice at once.
            visibility_timeout=Duration.seconds(config.visibility_timeout_seconds),
            retention_period=DLQ_RETENTION,
            dead_letter_queue={"queue": self.ingest_dlq, "max_receive_count": config.max_receive_count},
        )
        self.rule_dlq = secure_queue(self, "RuleDlq", retention_period=DLQ_RETENTION)
        acknowledge(
            self.rule_dlq,
            "AwsSolutions-SQS3",
            "This queue is the EventBridge rule target's DLQ: events the rule could not deliver land here.",
        )

        detail: dict = {"bucket": {"name": [self.input_bucket.bucket_name]}}
        if config.key_prefix:
            detail["object"] = {"key": [{"prefix": s3_event_key(config.key_prefix)}]}
        self.rule = events.Rule(
            self,
            "ObjectCreatedRule",
            description="labelwatch: every new object in the input bucket",
            event_pattern=events.EventPattern(
                source=["aws.s3"], detail_type=["Object Created"], detail=detail
            ),
            targets=[
                targets.SqsQueue(
                    self.ingest_queue,
                    dead_letter_queue=self.rule_dlq,
                    retry_attempts=185,
                    max_event_age=Duration.hours(24),
                )
            ],
        )

    def connect(self, state_machine: sfn.IStateMachine) -> pipes.CfnPipe:
        """The Pipe: batches from the ingest queue start the Express workflow synchronously.

        Its role may be assumed by EventBridge Pipes for this Pipe of this account only (the
        documented confused-deputy conditions aws:SourceArn and aws:SourceAccount), not for a pipe
        anyone else creates naming the role."""
        stack = Stack.of(self)
        name = self.pipe_name = pipe_name(stack.stack_name)
        pipe_arn = self.pipe_arn = f"arn:{stack.partition}:pipes:{stack.region}:{stack.account}:pipe/{name}"
        role = role_for_one_resource(
            self,
            "PipeRole",
            service="pipes.amazonaws.com",
            source_arn=pipe_arn,
            description="labelwatch pipe: read the ingest queue, start the workflow",
        )
        self.ingest_queue.grant_consume_messages(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["states:StartSyncExecution"], resources=[state_machine.state_machine_arn]
            )
        )
        log_group = protected_log_group(self, "PipeLogs", name="pipe", key=self.logs_key)
        log_group.grant_write(role)
        self.pipe = pipes.CfnPipe(
            self,
            "Pipe",
            name=name,
            description="labelwatch: ingest queue -> Express workflow (REQUEST_RESPONSE)",
            # With an autopilot the Pipe starts stopped: it starts once the model runs (a message
            # received while the model cannot answer counts towards the ingest DLQ). CloudFormation
            # sets it on creation only; the property does not change, so updates leave it alone.
            desired_state="RUNNING" if self.config.model_control == "manual" else "STOPPED",
            role_arn=role.role_arn,
            source=self.ingest_queue.queue_arn,
            source_parameters=pipes.CfnPipe.PipeSourceParametersProperty(
                sqs_queue_parameters=pipes.CfnPipe.PipeSourceSqsQueueParametersProperty(
                    batch_size=self.config.batch_size,
                    maximum_batching_window_in_seconds=self.config.batch_window_seconds,
                )
            ),
            target=state_machine.state_machine_arn,
            target_parameters=pipes.CfnPipe.PipeTargetParametersProperty(
                step_function_state_machine_parameters=pipes.CfnPipe.PipeTargetStateMachineParametersProperty(
                    invocation_type="REQUEST_RESPONSE"
                )
            ),
            log_configuration=pipes.CfnPipe.PipeLogConfigurationProperty(
                level="ERROR",
                include_execution_data=["ALL"],
                cloudwatch_logs_log_destination=pipes.CfnPipe.CloudwatchLogsLogDestinationProperty(
                    log_group_arn=log_group.log_group_arn
                ),
            ),
        )
        self.pipe.node.add_dependency(role)
        return self.pipe
