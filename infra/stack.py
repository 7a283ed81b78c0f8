"""The labelwatch stack: one construct per concern, wired together."""

from __future__ import annotations

import json

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.alerts import Alerts
from infra.analytics import Analytics
from infra.buckets import secure_bucket
from infra.config import LabelwatchConfig
from infra.ingestion import Ingestion
from infra.keys import alerts_key
from infra.monitoring import Monitoring
from infra.nag import acknowledge
from infra.workflow import Workflow


class LabelwatchStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: LabelwatchConfig, **kwargs) -> None:
        super().__init__(
            scope, construct_id, description="labelwatch: Custom Labels alerts and analytics", **kwargs
        )
        self.config = config

        access_logs = secure_bucket(
            self,
            "AccessLogs",
            lifecycle_rules=[
                s3.LifecycleRule(expiration=Duration.days(90), noncurrent_version_expiration=Duration.days(7))
            ],
        )
        key = alerts_key(self)

        self.ingestion = Ingestion(self, "Ingestion", config=config, access_logs=access_logs)
        self.analytics = Analytics(
            self,
            "Analytics",
            bucket_name=config.results_bucket_name,
            database_name=config.analytics_database,
            access_logs=access_logs,
        )
        self.alerts = Alerts(self, "Alerts", subscribers=config.subscribers, key=key)
        self.workflow = Workflow(
            self,
            "Workflow",
            config=config,
            input_bucket=self.ingestion.input_bucket,
            results_bucket=self.analytics.results_bucket,
            alerts_topic=self.alerts.topic,
        )
        self.ingestion.connect(self.workflow.state_machine)
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            key=key,
            ops_email=config.ops_email,
            state_machine=self.workflow.state_machine,
            detect_function=self.workflow.detect_function,
            dead_letter_queues={
                "IngestDlq": self.ingestion.ingest_dlq,
                "RuleDlq": self.ingestion.rule_dlq,
                "FailureDlq": self.workflow.failure_dlq,
            },
        )
        self._outputs()
        self._acknowledge_cdk_internals()

    def _acknowledge_cdk_internals(self) -> None:
        """CDK's own helper for S3 → EventBridge notifications (a custom resource Lambda)."""
        for child in self.node.children:
            if child.node.id.startswith("BucketNotificationsHandler"):
                acknowledge(
                    child,
                    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AWSLambdaBasicExecutionRole]",
                    "CDK's bucket-notifications custom resource; it only turns on EventBridge delivery.",
                )

    def _outputs(self) -> None:
        outputs = {
            "InputBucketName": self.ingestion.input_bucket.bucket_name,
            "ResultsBucketName": self.analytics.results_bucket.bucket_name,
            "AlertsTopicArn": self.alerts.topic.topic_arn,
            "StateMachineArn": self.workflow.state_machine.state_machine_arn,
            "IngestQueueUrl": self.ingestion.ingest_queue.queue_url,
            "IngestDlqUrl": self.ingestion.ingest_dlq.queue_url,
            "FailureDlqUrl": self.workflow.failure_dlq.queue_url,
            # `labelwatch dlq redrive` releases a claim an execution left behind before resending
            "ClaimsTableName": self.workflow.claims_table.table_name,
            "AthenaWorkgroup": self.analytics.workgroup.ref,
            "GlueDatabase": self.config.analytics_database,
            # `labelwatch check` compares the rules with the labels the model can return
            "ModelArn": self.config.model_arn,
            "LabelRules": json.dumps(self.config.label_rules, sort_keys=True),
            "ExecutionsConsoleUrl": (
                f"https://{self.region}.console.aws.amazon.com/states/home?region={self.region}"
                f"#/statemachines/view/{self.workflow.state_machine.state_machine_arn}"
            ),
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
