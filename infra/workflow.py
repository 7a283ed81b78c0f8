"""The Workflow concern: the Express state machine, the detect Lambda, claims table, failure DLQ."""

from __future__ import annotations

import json

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.batch_budget import DETECT_TIMEOUT_SECONDS, check_batch_fits
from infra.config import LabelwatchConfig
from infra.flood_control import FloodControl
from infra.handlers import DETECT_HANDLER
from infra.links import LinkService
from infra.log_groups import protected_log_group
from infra.nag import acknowledge, logical_id
from infra.python_function import python_function
from infra.queues import DLQ_RETENTION, secure_queue
from infra.tables import on_demand_table
from statemachine.definition import RESULTS_PREFIX, WorkflowResources, build_definition, task_permissions
from statemachine.export import definition_of

DETECT_TIMEOUT = Duration.seconds(DETECT_TIMEOUT_SECONDS)
# Express executions may run 5 minutes at most; the retry budget is designed to fit inside.
WORKFLOW_TIMEOUT = Duration.minutes(5)


class Workflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LabelwatchConfig,
        input_bucket: s3.IBucket,
        results_bucket: s3.IBucket,
        alerts_topic: sns.ITopic,
        logs_key: kms.IKey,
        links: LinkService | None = None,
        flood_control: FloodControl | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._logical_id_of_input_bucket = logical_id(input_bucket)
        self._logical_id_of_results_bucket = logical_id(results_bucket)

        self.failure_dlq = secure_queue(self, "FailureDlq", retention_period=DLQ_RETENTION)

        self.claims_table = on_demand_table(
            self, "Claims", partition_key="pk", time_to_live_attribute="expiresAt"
        )

        self.detect_function = self._detect_function(config, input_bucket, logs_key, links)

        resources = WorkflowResources(
            detect_function=self.detect_function,
            claims_table=self.claims_table,
            alerts_topic=alerts_topic,
            results_bucket=results_bucket,
            failure_dlq=self.failure_dlq,
            map_concurrency=config.map_concurrency,
            cooldowns_table=flood_control.table if flood_control else None,
            cooldown_function=flood_control.apply_function if flood_control else None,
            # a claim's lease is its message's visibility timeout (docs/contracts.md, "Claims")
            claim_lease_seconds=config.visibility_timeout_seconds,
        )
        definition = build_definition(self, resources)
        # Level ALL with execution data (the default, which the console's Express view needs): the
        # alert text and its image links (their tokens masked there). ERROR, FATAL or OFF cost less.
        self.log_group = protected_log_group(self, "ExecutionLogs", name="executions", key=logs_key)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_type=sfn.StateMachineType.EXPRESS,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            timeout=WORKFLOW_TIMEOUT,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=sfn.LogLevel[config.execution_log_level],
                include_execution_data=config.execution_log_level != "OFF",
            ),
        )
        for statement in task_permissions(self, resources):
            self.state_machine.add_to_role_policy(statement)
        check_batch_fits(
            self._definition_json(),
            batch_size=config.batch_size,
            lambda_timeout_seconds=DETECT_TIMEOUT.to_seconds(),
            execution_limit_seconds=WORKFLOW_TIMEOUT.to_seconds(),
        )
        self._acknowledge_findings(flood_control)

    def _definition_json(self) -> dict:
        """The state machine's ASL as synthesized, references to other resources left as ``${…}``."""
        return definition_of(Stack.of(self).resolve(self.state_machine.node.default_child.definition_string))

    def _detect_function(
        self,
        config: LabelwatchConfig,
        input_bucket: s3.IBucket,
        logs_key: kms.IKey,
        links: LinkService | None,
    ) -> lambda_.Function:
        log_group = protected_log_group(self, "DetectLogs", name="detect", key=logs_key)
        role = iam.Role(
            self,
            "DetectRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="labelwatch detect: read input images, run the Custom Labels model",
        )
        function = python_function(
            self,
            "Detect",
            description="labelwatch: check an uploaded image and run the Custom Labels model on it",
            handler=DETECT_HANDLER,
            memory_size=1024,
            timeout=DETECT_TIMEOUT,
            # Back-pressure across all executions (Pipes have no concurrency setting for SQS): calls
            # over the limit are throttled, retried, and otherwise go back to the queue.
            reserved_concurrent_executions=config.max_concurrent_detections or None,
            tracing=lambda_.Tracing.ACTIVE,
            role=role,
            log_group=log_group,
            environment={
                "MODEL_ARN": config.model_arn,
                "LABEL_RULES": json.dumps(config.label_rules, sort_keys=True),
                "IMAGE_LINKS": "true" if links is not None else "false",
                **(
                    {
                        "LINK_BASE_URL": links.url.url,
                        "LINK_SECRET_ARN": links.secret.secret_arn,
                        "IMAGE_LINK_DAYS": str(config.image_link_days),
                    }
                    if links is not None
                    else {}
                ),
                "RESULTS_PREFIX": RESULTS_PREFIX,
                "CLAIM_RETENTION_DAYS": str(config.claim_retention_days),
                "MAX_LABELS": str(config.max_labels_per_image),
                "ALERT_COOLDOWN_MINUTES": str(config.alert_cooldown_minutes),
            },
        )
        # Least privilege: its own log group, the input images, the one model version, the link keys.
        log_group.grant_write(role)
        if links is not None:
            links.grant_signing(role)
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:GetObjectVersion"],
                resources=[input_bucket.arn_for_objects(f"{config.key_prefix}*")],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["rekognition:DetectCustomLabels"], resources=[config.model_arn])
        )
        # Without ListBucket, S3 answers 403 instead of 404 for a deleted image; with it the
        # handler can tell "object-missing" (a rejection) from a permissions problem.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[input_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{config.key_prefix}*"]}},
            )
        )
        return function

    def _acknowledge_findings(self, flood_control: FloodControl | None) -> None:
        acknowledge(
            self.failure_dlq,
            "AwsSolutions-SQS3",
            "This queue is the failure DLQ itself: RecordFailure sends failed images here for redrive.",
        )
        detect_policy = self.detect_function.role.node.find_child("DefaultPolicy")
        acknowledge(
            detect_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray PutTraceSegments/PutTelemetryRecords only accept Resource '*'.",
        )
        acknowledge(
            detect_policy,
            f"AwsSolutions-IAM5[Resource::<{self._logical_id_of_input_bucket}.Arn>/*]",
            "Any uploaded image under the configured key prefix may need reading.",
        )
        machine_policy = self.state_machine.role.node.find_child("DefaultPolicy")
        acknowledge(
            machine_policy,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray and CloudWatch Logs delivery (logs:CreateLogDelivery etc.) only accept Resource '*'.",
        )
        acknowledge(
            machine_policy,
            f"AwsSolutions-IAM5[Resource::<{logical_id(self.detect_function)}.Arn>:*]",
            "CDK's LambdaInvoke grant covers the detect function's versions and aliases; one function only.",
        )
        if flood_control is not None:
            acknowledge(
                machine_policy,
                f"AwsSolutions-IAM5[Resource::<{logical_id(flood_control.apply_function)}.Arn>:*]",
                "CDK's LambdaInvoke grant covers the ApplyCooldown function's versions and aliases; one "
                "function only.",
            )
        acknowledge(
            machine_policy,
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "SNS encrypts with GenerateDataKey or GenerateDataKeyWithoutPlaintext (AWS's documented "
            "grant for publishers); on the alerts topic's key only, through SNS only (kms:ViaService).",
        )
        acknowledge(
            machine_policy,
            f"AwsSolutions-IAM5[Resource::<{self._logical_id_of_results_bucket}.Arn>/results/*]",
            "WriteResult writes one object per image under results/ only.",
        )
