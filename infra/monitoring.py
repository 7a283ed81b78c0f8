"""Monitoring: alarms on everything that means "an image was not handled", to an ops topic; a dashboard."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

_CLOUDWATCH = "cloudwatch.amazonaws.com"
# Where the detect handler's Powertools metrics land (POWERTOOLS_METRICS_NAMESPACE, _SERVICE_NAME).
METRICS_NAMESPACE = "Labelwatch"
METRICS_SERVICE = "labelwatch"


class Monitoring(Construct):
    """Alarms (any DLQ message, failed or timed-out execution, Lambda error or throttle) and a dashboard.

    Every alarm notifies the ops topic on ALARM and on OK, and treats missing data as not breaching:
    a quiet system is a healthy one.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        ops_email: str | None,
        state_machine: sfn.IStateMachine,
        detect_function: lambda_.IFunction,
        dead_letter_queues: Mapping[str, sqs.IQueue],
        ingest_queue: sqs.IQueue,
        max_wait_minutes: int,
        autopilot_function: lambda_.IFunction | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Named, so that the key policy can name its ARN (the topic's Ref would make them circular)
        self.ops_topic_name = f"{Stack.of(self).stack_name}-ops"
        self.ops_topic = sns.Topic(
            self,
            "OpsTopic",
            topic_name=self.ops_topic_name,
            display_name="labelwatch ops",
            master_key=key,
            enforce_ssl=True,
        )
        self._let_cloudwatch_publish(key)
        self._subscribe_ops(ops_email)

        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for name, queue in dead_letter_queues.items():
            self._alarm(
                f"Dlq-{name}",
                queue.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(5), statistic="Maximum"
                ),
                f"The {name} dead-letter queue holds messages: uploads that were not processed. "
                "Each message says why; fix the cause, then redrive the queue.",
            )
        minute = Duration.minutes(1)
        self._alarm(
            "ExecutionsFailed",
            state_machine.metric_failed(period=minute, statistic="Sum"),
            "A workflow execution failed outright (not even RecordFailure ran): a whole batch may be "
            "unhandled. See the state machine's log group.",
        )
        self._alarm(
            "ExecutionsTimedOut",
            state_machine.metric_timed_out(period=minute, statistic="Sum"),
            "A workflow execution hit the Express 5-minute limit; its batch returns to the ingest "
            "queue. Lower batchSize or raise mapConcurrency.",
        )
        self._alarm(
            "DetectErrors",
            # ModelNotReady and DetectorThrottled are Lambda errors by design (Step Functions routes
            # on them) but not failures: the image waits on the queue. The handler counts them as
            # DetectionsDeferred; the alarm sees only the rest.
            cloudwatch.MathExpression(
                expression="FILL(errors, 0) - FILL(deferred, 0)",
                using_metrics={
                    "errors": detect_function.metric_errors(period=minute, statistic="Sum"),
                    "deferred": cloudwatch.Metric(
                        namespace=METRICS_NAMESPACE,
                        metric_name="DetectionsDeferred",
                        dimensions_map={"service": METRICS_SERVICE},
                        period=minute,
                        statistic="Sum",
                    ),
                },
                label="errors other than a model that is not running or overloaded",
                period=minute,
            ),
            "The detect function failed on images (not counting a stopped or overloaded model, whose "
            "images wait on the queue): see its logs and `labelwatch dlq list`.",
        )
        self._alarm(
            "DetectThrottles",
            detect_function.metric_throttles(period=minute, statistic="Sum"),
            "Lambda throttled the detect function (concurrency limit): the workflow retries, "
            "but lower mapConcurrency or raise the account's concurrency if this persists.",
        )

        self._alarm(
            "BacklogTooOld",
            ingest_queue.metric_approximate_age_of_oldest_message(period=minute, statistic="Maximum"),
            f"An image has waited on the ingest queue for more than {max_wait_minutes} minutes "
            "(maxWaitMinutes): the model is not running or cannot keep up. `labelwatch model status` "
            "says what the model, the Pipe and the autopilot are doing.",
            threshold=max_wait_minutes * 60,
        )
        if autopilot_function is not None:
            self._autopilot_alarms(autopilot_function)

        self.dashboard = self._dashboard(state_machine, detect_function, dead_letter_queues)

    def _autopilot_alarms(self, function: lambda_.IFunction) -> None:
        minute = Duration.minutes(1)

        def signal(name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=name,
                dimensions_map={"service": METRICS_SERVICE},
                period=minute,
                statistic="Sum",
            )

        self._alarm(
            "ModelStartFailed",
            signal("ModelStartFailed"),
            "The Custom Labels model failed to start (status FAILED). The autopilot retries after 1, "
            "2, 4 … 60 minutes; images wait on the ingest queue. See the model's StatusMessage in "
            "`labelwatch model status`.",
        )
        self._alarm(
            "ModelFoundStopped",
            signal("ModelFoundStopped"),
            "modelControl is always-on and the model was found not running: the autopilot started it. "
            "Someone or something stopped it.",
        )
        self._alarm(
            "AutopilotErrors",
            function.metric_errors(period=minute, statistic="Sum"),
            "The model autopilot failed a minute (an AWS call refused or failing): the model and the "
            "Pipe are left as they were. See the autopilot's log group.",
        )

    def _subscribe_ops(self, ops_email: str | None) -> None:
        """Subscribe ``ops_email``; without one, warn at synth: an alarm nobody receives protects nothing."""
        if ops_email:
            self.ops_topic.add_subscription(subscriptions.EmailSubscription(ops_email))
            return
        Annotations.of(self).add_warning_v2(
            "labelwatch:NoOpsSubscriber",
            "No opsEmail: no one is subscribed to the ops topic, so every alarm (DLQ messages, failed or "
            "timed-out executions, detect errors) notifies nobody. Set -c opsEmail=you@example.com, or "
            "subscribe to the topic in the stack output OpsTopicArn.",
        )

    def _let_cloudwatch_publish(self, key: kms.IKey) -> None:
        """CloudWatch alarms publish as ``cloudwatch.amazonaws.com``: the topic policy and key must allow it.

        The topic grant is limited to this account's alarms. The key grant is limited to the ops
        topic by the encryption context SNS uses with a topic's key (``aws:sns:topicArn``, the
        topic's ARN, documented for SNS key policies): the alerts topic shares the key, and CloudWatch
        has no business there.
        """
        stack = Stack.of(self)
        alarms = f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:*"
        ops_topic_arn = f"arn:{stack.partition}:sns:{stack.region}:{stack.account}:{self.ops_topic_name}"
        self.ops_topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowThisAccountsAlarmsToPublish",
                principals=[iam.ServicePrincipal(_CLOUDWATCH)],
                actions=["sns:Publish"],
                resources=[self.ops_topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": alarms},
                },
            )
        )
        if isinstance(key, kms.Key):
            key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowCloudWatchAlarmsToUseTheKey",
                    principals=[iam.ServicePrincipal(_CLOUDWATCH)],
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],
                    conditions={"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": ops_topic_arn}},
                )
            )
        else:
            Annotations.of(self).add_warning_v2(
                "labelwatch:ImportedOpsKey",
                "The ops topic's key is imported: its key policy must let cloudwatch.amazonaws.com use "
                "kms:Decrypt and kms:GenerateDataKey*, or alarm notifications are silently dropped.",
            )

    def _alarm(
        self, construct_id: str, metric: cloudwatch.IMetric, description: str, *, threshold: float = 1
    ) -> None:
        alarm = metric.create_alarm(
            self,
            construct_id,
            alarm_description=description,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        action = cloudwatch_actions.SnsAction(self.ops_topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms[construct_id] = alarm

    def _dashboard(
        self,
        state_machine: sfn.IStateMachine,
        detect_function: lambda_.IFunction,
        dead_letter_queues: Mapping[str, sqs.IQueue],
    ) -> cloudwatch.Dashboard:
        five = Duration.minutes(5)
        dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.days(1))
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Workflow executions",
                width=12,
                left=[
                    state_machine.metric_started(period=five, statistic="Sum", label="started"),
                    state_machine.metric_succeeded(period=five, statistic="Sum", label="succeeded"),
                    state_machine.metric_failed(period=five, statistic="Sum", label="failed"),
                    state_machine.metric_timed_out(period=five, statistic="Sum", label="timed out"),
                ],
            ),
            cloudwatch.GraphWidget(
                title="Detect function",
                width=12,
                left=[
                    detect_function.metric_duration(period=five, statistic="Average", label="duration avg"),
                    detect_function.metric_duration(period=five, statistic="p99", label="duration p99"),
                ],
                right=[
                    detect_function.metric_errors(period=five, statistic="Sum", label="errors"),
                    detect_function.metric_throttles(period=five, statistic="Sum", label="throttles"),
                ],
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Dead-letter queue depth",
                width=12,
                left=[
                    queue.metric_approximate_number_of_messages_visible(
                        period=five, statistic="Maximum", label=name
                    )
                    for name, queue in dead_letter_queues.items()
                ],
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", width=12, alarms=list(self.alarms.values())),
        )
        return dashboard
