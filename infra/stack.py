"""The labelwatch stack: one construct per concern, wired together."""

from __future__ import annotations

import json

from aws_cdk import Annotations, Aws, CfnOutput, CfnRule, CfnRuleAssertion, Duration, Fn, Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.alerts import Alerts
from infra.analytics import Analytics
from infra.autopilot import ModelAutopilot
from infra.buckets import secure_bucket
from infra.config import LabelwatchConfig
from infra.flood_control import FloodControl
from infra.ingestion import Ingestion
from infra.keys import alerts_key, logs_key
from infra.links import LinkService
from infra.monitoring import Monitoring
from infra.nag import acknowledge
from infra.workflow import Workflow
from statemachine.definition import RESULTS_PREFIX

# The console's host in each partition that has a public console ({region}: the stack's region).
CONSOLE_HOSTS = {
    "aws": "{region}.console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}


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
        self.logs_key = logs_key(self)

        self.ingestion = Ingestion(
            self, "Ingestion", config=config, access_logs=access_logs, logs_key=self.logs_key
        )
        self.analytics = Analytics(
            self,
            "Analytics",
            bucket_name=config.results_bucket_name,
            database_name=config.analytics_database,
            access_logs=access_logs,
        )
        self.alerts = Alerts(self, "Alerts", subscribers=config.subscribers, key=key)
        self.links = None
        if config.image_links:
            self.links = LinkService(
                self,
                "Links",
                config=config,
                input_bucket=self.ingestion.input_bucket,
                results_bucket=self.analytics.results_bucket,
                results_prefix=RESULTS_PREFIX,
                logs_key=self.logs_key,
                execution_link_template=self._execution_link_template(),
            )
        self.flood_control = None
        if config.alert_cooldown_minutes:
            self.flood_control = FloodControl(
                self,
                "FloodControl",
                config=config,
                alerts_topic=self.alerts.topic,
                logs_key=self.logs_key,
                athena_workgroup=self.analytics.workgroup.ref,
                query_console_url=self._athena_console_url() or "",
            )
        self.workflow = Workflow(
            self,
            "Workflow",
            config=config,
            input_bucket=self.ingestion.input_bucket,
            results_bucket=self.analytics.results_bucket,
            alerts_topic=self.alerts.topic,
            logs_key=self.logs_key,
            links=self.links,
            flood_control=self.flood_control,
        )
        self.ingestion.connect(self.workflow.state_machine)
        self.autopilot = None
        if config.model_control != "manual":
            self.autopilot = ModelAutopilot(
                self,
                "ModelAutopilot",
                config=config,
                ingest_queue=self.ingestion.ingest_queue,
                pipe_name=self.ingestion.pipe_name,
                pipe_arn=self.ingestion.pipe_arn,
                logs_key=self.logs_key,
            )
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
            ingest_queue=self.ingestion.ingest_queue,
            max_wait_minutes=config.max_wait_minutes,
            autopilot_function=self.autopilot.function if self.autopilot else None,
        )
        self._deploy_only_where_the_model_is()
        self._outputs()
        self._acknowledge_cdk_internals()

    def _deploy_only_where_the_model_is(self) -> None:
        """A CloudFormation rule: the stack is environment-agnostic, so only the deployment knows its
        region. Custom Labels answers only in the model's region (and the grant names its partition),
        so elsewhere every image would fail; the rule stops the deployment before any resource."""
        partition, region, arn = self.config.model_partition, self.config.model_region, self.config.model_arn
        CfnRule(
            self,
            "ModelIsInTheStacksRegion",
            assertions=[
                CfnRuleAssertion(
                    assert_=Fn.condition_and(
                        Fn.condition_equals(Aws.PARTITION, partition), Fn.condition_equals(Aws.REGION, region)
                    ),
                    assert_description=(
                        f"modelArn {arn} is a model of {region} ({partition}): deploy the stack in that "
                        "region, where Custom Labels runs it"
                    ),
                )
            ],
        )

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
            # the alarms' topic: subscribe here when opsEmail is not set (synth warns)
            "OpsTopicArn": self.monitoring.ops_topic.topic_arn,
            "StateMachineArn": self.workflow.state_machine.state_machine_arn,
            # where Step Functions logs each execution's events (`labelwatch trace` reads them)
            "ExecutionLogGroupName": self.workflow.log_group.log_group_name,
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
            # `labelwatch model status`: who starts the model, the Pipe it gates, the autopilot's memory
            "ModelControl": self.config.model_control,
            "PipeName": self.ingestion.pipe_name,
        }
        if self.autopilot is not None:
            outputs["AutopilotStateTableName"] = self.autopilot.state_table.table_name
            outputs["AutopilotFunctionName"] = self.autopilot.function.function_name
        if self.flood_control is not None:
            # `labelwatch` reads the cooldown windows (which alert held each, what each digest counted)
            outputs["CooldownsTableName"] = self.flood_control.table.table_name
            outputs["DigestFunctionName"] = self.flood_control.digest_function.function_name
        if self.links is not None:
            # where alert links point (the function URL); `labelwatch` opens a link's view with it
            outputs["LinkServiceUrl"] = self.links.url.url
        console_url = self._executions_console_url()
        if console_url:
            outputs["ExecutionsConsoleUrl"] = console_url
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)

    def _execution_link_template(self) -> str | None:
        """The console's page of one Express execution (``{arn}``), for the image view page; None in a
        partition without a public console."""
        host = CONSOLE_HOSTS.get(self.config.model_partition)
        if host is None:
            return None
        return (
            f"https://{host.format(region=self.region)}/states/home?region={self.region}"
            "#/express-executions/details/{arn}"
        )

    def _athena_console_url(self) -> str | None:
        """The Athena query editor of the stack's region (a digest's "list them" link); None in a
        partition without a public console."""
        host = CONSOLE_HOSTS.get(self.config.model_partition)
        if host is None:
            return None
        return f"https://{host.format(region=self.region)}/athena/home?region={self.region}#/query-editor"

    def _executions_console_url(self) -> str | None:
        """The state machine's executions in the console of the model's partition (the stack's, by the
        rule above); None in a partition without a public console."""
        host = CONSOLE_HOSTS.get(self.config.model_partition)
        if host is None:
            partition = self.config.model_partition
            Annotations.of(self).add_info(
                f"No ExecutionsConsoleUrl output: {partition} has no public console."
            )
            return None
        return (
            f"https://{host.format(region=self.region)}/states/home?region={self.region}"
            f"#/statemachines/view/{self.workflow.state_machine.state_machine_arn}"
        )
