"""Template assertions on the Alerts, Analytics and Monitoring constructs, with cdk-nag applied.

One small stack holds only these constructs (plus stand-ins for what the workflow and ingestion own)
and is synthesized once for the module.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk import Acknowledgment, App, Stack, Validations  # noqa: E402
from aws_cdk import aws_lambda as lambda_  # noqa: E402
from aws_cdk import aws_sqs as sqs  # noqa: E402
from aws_cdk import aws_stepfunctions as sfn  # noqa: E402
from aws_cdk.assertions import Match, Template  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.alerts import Alerts  # noqa: E402
from infra.analytics import RESULT_COLUMNS, RESULTS_PREFIX, Analytics, named_query_sql  # noqa: E402
from infra.buckets import secure_bucket  # noqa: E402
from infra.config import Subscriber  # noqa: E402
from infra.keys import alerts_key  # noqa: E402
from infra.monitoring import Monitoring  # noqa: E402

# One worker loads the CDK (a jsii process, seconds to start) for every test that synthesizes
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cdk")]

STACK_NAME = "ConstructsUnderTest"
SUBSCRIBERS = (
    Subscriber("everything@example.com"),
    Subscriber("smut@example.com", ("leaf-smut", "bacterial-leaf-blight")),
)
BASIC_EXECUTION_ROLE = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
STAND_IN_REASON = "A test stand-in for a resource that another module owns and configures."


def acknowledge(construct, rule: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=f"AwsSolutions-{rule}", reason=reason))


class Built:
    """Synthesizes the stack once, with cdk-nag (v3: a policy validation plugin) checking it.

    cdk-nag 3 fails the synth on any unacknowledged finding, after the template is written; the
    failure is kept for the nag test, and the template is read from the cloud assembly.
    """

    def __init__(self, outdir: Path) -> None:
        context = {
            "@aws-cdk/core:validationReportJson": True,
            # As in the app's cdk.json: access-log delivery through a bucket policy, not an ACL
            # (secure_bucket enforces bucket-owner object ownership, which disables ACLs).
            "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
        }
        app = App(outdir=str(outdir), context=context)
        self.stack = stack = Stack(app, STACK_NAME)
        key = alerts_key(stack)

        access_logs = secure_bucket(stack, "AccessLogs")
        acknowledge(access_logs, "S1", "The access-logs bucket does not log its own access.")
        self.alerts = Alerts(stack, "Alerts", subscribers=SUBSCRIBERS, key=key)
        self.analytics = Analytics(
            stack, "Analytics", bucket_name=None, database_name="labelwatch", access_logs=access_logs
        )

        # Stand-ins for the workflow's state machine and function and the ingestion/workflow DLQs.
        machine = sfn.StateMachine(
            stack,
            "StandInMachine",
            state_machine_type=sfn.StateMachineType.EXPRESS,
            definition_body=sfn.DefinitionBody.from_chainable(sfn.Pass(stack, "Nothing")),
        )
        function = lambda_.Function(
            stack,
            "StandInFunction",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
        )
        queues = {
            name: sqs.Queue(stack, f"StandIn{name.title()}Dlq", enforce_ssl=True)
            for name in ("ingest", "failure")
        }
        acknowledge(machine, "SF1", STAND_IN_REASON)
        acknowledge(machine, "SF2", STAND_IN_REASON)
        acknowledge(function, "L1", STAND_IN_REASON)
        acknowledge(function, f"IAM4[Policy::{BASIC_EXECUTION_ROLE}]", STAND_IN_REASON)
        ingest = sqs.Queue(stack, "StandInIngestQueue", enforce_ssl=True)
        autopilot = lambda_.Function(
            stack,
            "StandInAutopilot",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
        )
        acknowledge(autopilot, "L1", STAND_IN_REASON)
        acknowledge(autopilot, f"IAM4[Policy::{BASIC_EXECUTION_ROLE}]", STAND_IN_REASON)
        for queue in [*queues.values(), ingest]:
            acknowledge(queue, "SQS3", STAND_IN_REASON)
        self.monitoring = Monitoring(
            stack,
            "Monitoring",
            key=key,
            ops_email="oncall@example.com",
            state_machine=machine,
            detect_function=function,
            dead_letter_queues=queues,
            ingest_queue=ingest,
            max_wait_minutes=45,
            autopilot_function=autopilot,
        )

        Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
        self.validation_error: Exception | None = None
        try:
            app.synth()
        except Exception as error:  # jsii surfaces cdk-nag's ValidationFailed as a plain error
            self.validation_error = error
        self.template = Template.from_json(json.loads((outdir / f"{STACK_NAME}.template.json").read_text()))
        report = outdir / "policy-validation-report.json"
        self.nag_report = json.loads(report.read_text()) if report.exists() else None
        self.resources = self.template.to_json()["Resources"]

    def logical_id(self, construct) -> str:
        return self.stack.resolve(self.stack.get_logical_id(construct.node.default_child or construct))

    def of_type(self, type_: str) -> dict[str, dict]:
        return {k: v for k, v in self.resources.items() if v["Type"] == type_}


@pytest.fixture(scope="session")
def built():
    with tempfile.TemporaryDirectory(prefix="labelwatch-cdk-") as outdir:
        yield Built(Path(outdir))


def _ref(logical_id: str) -> dict:
    return {"Ref": logical_id}


# -- Alerts ------------------------------------------------------------------------------------------


def test_topics_are_kms_encrypted_with_the_stack_key(built):
    keys = built.of_type("AWS::KMS::Key")
    assert len(keys) == 1
    ((key_id, key),) = keys.items()
    assert key["Properties"]["EnableKeyRotation"] is True
    topics = built.of_type("AWS::SNS::Topic")
    assert len(topics) == 2
    for topic in topics.values():
        assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    built.template.has_resource_properties("AWS::KMS::Alias", {"AliasName": f"alias/labelwatch/{STACK_NAME}"})


def test_topics_deny_publishing_without_tls(built):
    for policy in built.of_type("AWS::SNS::TopicPolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )
    assert len(built.of_type("AWS::SNS::TopicPolicy")) == 2


def test_email_subscriptions_and_label_filter(built):
    topic = _ref(built.logical_id(built.alerts.topic))
    subscriptions = [
        s["Properties"]
        for s in built.of_type("AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == topic
    ]
    by_address = {s["Endpoint"]: s for s in subscriptions}
    assert set(by_address) == {"everything@example.com", "smut@example.com"}
    assert all(s["Protocol"] == "email" for s in subscriptions)
    assert "FilterPolicy" not in by_address["everything@example.com"]
    assert by_address["smut@example.com"]["FilterPolicy"] == {
        "labels": ["leaf-smut", "bacterial-leaf-blight"]
    }
    assert by_address["smut@example.com"].get("FilterPolicyScope", "MessageAttributes") == "MessageAttributes"


# -- Analytics ---------------------------------------------------------------------------------------


def test_results_bucket_is_private_encrypted_tls_only_and_logged(built):
    bucket_id = built.logical_id(built.analytics.results_bucket)
    props = built.resources[bucket_id]["Properties"]
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"
    ] == {"SSEAlgorithm": "AES256"}
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["LoggingConfiguration"]["DestinationBucketName"] == _ref(
        next(k for k, v in built.of_type("AWS::S3::Bucket").items() if k != bucket_id)
    )
    built.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": _ref(bucket_id),
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                )
            },
        },
    )


def test_glue_table_matches_the_result_record(built):
    (table,) = built.of_type("AWS::Glue::Table").values()
    props = table["Properties"]
    assert props["DatabaseName"] == _ref(built.logical_id(built.analytics.database))
    table_input = props["TableInput"]
    assert table_input["Name"] == "results"
    assert table_input["TableType"] == "EXTERNAL_TABLE"
    storage = table_input["StorageDescriptor"]
    assert [(c["Name"], c["Type"]) for c in storage["Columns"]] == [
        ("image", "string"),
        ("bucket", "string"),
        ("key", "string"),
        ("label", "string"),
        ("confidence", "double"),
        ("alert", "boolean"),
        ("suppressed", "boolean"),
        ("rule_threshold", "double"),
        ("status", "string"),
        ("reason", "string"),
        ("model", "string"),
        ("uploaded_at", "string"),
        ("detected_at", "string"),
        ("execution", "string"),
        ("width", "int"),
        ("height", "int"),
        ("geometry", "struct<width:double,height:double,left:double,top:double>"),
        ("normalised", "string"),
        ("version_id", "string"),
        ("image_format", "string"),
    ]
    assert len(RESULT_COLUMNS) == 20
    assert storage["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert [(k["Name"], k["Type"]) for k in table_input["PartitionKeys"]] == [("dt", "string")]

    bucket_ref = _ref(built.logical_id(built.analytics.results_bucket))
    assert storage["Location"] == {"Fn::Join": ["", ["s3://", bucket_ref, f"/{RESULTS_PREFIX}"]]}
    parameters = table_input["Parameters"]
    assert {k: v for k, v in parameters.items() if k.startswith("projection.")} == {
        "projection.enabled": "true",
        "projection.dt.type": "date",
        "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.range": "2024-01-01,NOW",
        "projection.dt.interval": "1",
        "projection.dt.interval.unit": "DAYS",
    }
    assert parameters["storage.location.template"] == {
        "Fn::Join": ["", ["s3://", bucket_ref, "/results/dt=${dt}/"]]
    }


def test_workgroup_enforces_encrypted_results(built):
    (workgroup,) = built.of_type("AWS::Athena::WorkGroup").values()
    configuration = workgroup["Properties"]["WorkGroupConfiguration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["PublishCloudWatchMetricsEnabled"] is True
    results = configuration["ResultConfiguration"]
    assert results["EncryptionConfiguration"] == {"EncryptionOption": "SSE_S3"}
    bucket_ref = _ref(built.logical_id(built.analytics.results_bucket))
    assert results["OutputLocation"] == {"Fn::Join": ["", ["s3://", bucket_ref, "/athena-results/"]]}


def test_three_named_queries_from_the_sql_files(built):
    queries = built.of_type("AWS::Athena::NamedQuery")
    assert len(queries) == 3
    by_name = {q["Properties"]["Name"]: q["Properties"] for q in queries.values()}
    assert set(by_name) == {"label_counts", "alerts_per_day", "recent_alerts"}
    workgroup_ref = _ref(built.logical_id(built.analytics.workgroup))
    for name, props in by_name.items():
        assert props["QueryString"] == named_query_sql()[name]
        assert props["Database"] == _ref(built.logical_id(built.analytics.database))
        assert props["WorkGroup"] == workgroup_ref
        assert props["Description"]
    assert set(built.analytics.named_queries) == set(by_name)


def test_queries_read_the_results_table_portably():
    for name, sql in named_query_sql().items():
        assert re.search(r"\bFROM results\b", sql), name
        assert not sql.rstrip().endswith(";"), name  # embeddable as a subquery (DuckDB)
        for athena_only in ("from_iso8601", "date_parse", "date_format", "approx_", "count_if", "try("):
            assert athena_only not in sql.lower(), (name, athena_only)
    recent = named_query_sql()["recent_alerts"]
    assert re.search(
        r"SELECT\s+image,\s+label,\s+confidence,\s+uploaded_at\s+FROM results\s+WHERE alert", recent
    )
    assert re.search(r"ORDER BY uploaded_at DESC.*\s+LIMIT 50\s*$", recent, re.S)


# -- Monitoring --------------------------------------------------------------------------------------


def test_alarms_notify_the_ops_topic(built):
    ops_ref = _ref(built.logical_id(built.monitoring.ops_topic))
    alarms = built.of_type("AWS::CloudWatch::Alarm")
    assert len(alarms) == 10 == len(built.monitoring.alarms)
    metrics = set()
    for lid, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [ops_ref]
        assert props["OKActions"] == [ops_ref]
        assert props["TreatMissingData"] == "notBreaching"
        # the backlog alarm: an image older than maxWaitMinutes (45 here) on the ingest queue
        assert props["Threshold"] == (45 * 60 if "BacklogTooOld" in lid else 1)
        assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        if "Metrics" in props:  # metric math
            metrics.add(tuple(sorted(m["MetricStat"]["Metric"]["MetricName"] for m in props["Metrics"][1:])))
        else:
            metrics.add((props["Namespace"], props["MetricName"]))
    assert metrics == {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/States", "ExecutionsFailed"),
        ("AWS/States", "ExecutionsTimedOut"),
        ("DetectionsDeferred", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
        ("Labelwatch", "ModelStartFailed"),
        ("Labelwatch", "ModelFoundStopped"),
        ("AWS/Lambda", "Errors"),
    }


def test_detect_errors_do_not_count_a_stopped_or_overloaded_model(built):
    (alarm,) = [a for lid, a in built.of_type("AWS::CloudWatch::Alarm").items() if "DetectErrors" in lid]
    metrics = {m["Id"]: m for m in alarm["Properties"]["Metrics"]}
    assert metrics["expr_1"]["Expression"] == "FILL(errors, 0) - FILL(deferred, 0)"
    deferred = metrics["deferred"]["MetricStat"]["Metric"]
    # where the handler's Powertools metrics land (its POWERTOOLS_* environment)
    assert (deferred["Namespace"], deferred["Dimensions"]) == (
        "Labelwatch",
        [{"Name": "service", "Value": "labelwatch"}],
    )
    assert metrics["errors"]["MetricStat"]["Metric"]["MetricName"] == "Errors"


def test_ops_email_subscription(built):
    built.template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "email",
            "Endpoint": "oncall@example.com",
            "TopicArn": _ref(built.logical_id(built.monitoring.ops_topic)),
        },
    )


def test_no_warning_when_the_ops_topic_has_a_subscriber(built):
    from aws_cdk.assertions import Annotations

    assert Annotations.from_stack(built.stack).find_warning("*", Match.string_like_regexp("opsEmail")) == []


def test_cloudwatch_may_publish_to_the_encrypted_ops_topic(built):
    (key,) = built.of_type("AWS::KMS::Key").values()
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    assert any(
        s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
        and set(s["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
        for s in statements
    )
    ops_ref = _ref(built.logical_id(built.monitoring.ops_topic))
    (ops_policy,) = [
        p for p in built.of_type("AWS::SNS::TopicPolicy").values() if p["Properties"]["Topics"] == [ops_ref]
    ]
    allow = [s for s in ops_policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allow and allow[0]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(allow[0]["Condition"]) == {"StringEquals", "ArnLike"}


def test_dashboard_shows_executions_lambda_and_dlqs(built):
    (dashboard,) = built.of_type("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for fragment in (
        "ExecutionsStarted",
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "Duration",
        "Errors",
        "ApproximateNumberOfMessagesVisible",
    ):
        assert fragment in body, fragment


# -- cdk-nag -----------------------------------------------------------------------------------------


def test_no_unacknowledged_cdk_nag_findings(built):
    violations = [
        f"{v['ruleName']} ({v['severity']}): {[c['constructPath'] for c in v['violatingConstructs']]}"
        for plugin in (built.nag_report or {}).get("pluginReports", [])
        for v in plugin["violations"]
    ]
    assert violations == []
    assert built.validation_error is None
