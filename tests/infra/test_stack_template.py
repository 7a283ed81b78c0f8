"""The whole synthesized stack: what deploys, checked resource by resource."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Match, Template

from statemachine.export import ASL_PATH, render
from tests.conftest import KEY_PREFIX, TUNED

# One worker loads the CDK (a jsii process, seconds to start) for every test that synthesizes
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cdk")]

MODEL_ARN = json.loads(Path("cdk.json").read_text())["context"]["modelArn"]
# Actions AWS only grants on Resource "*" (X-Ray; CloudWatch Logs delivery for Step Functions).
STAR_ONLY_ACTIONS = {
    "rekognition:DescribeProjects",  # the autopilot's project lookup: no resource type in IAM
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}


@pytest.fixture(scope="module")
def assertions(template) -> Template:
    return Template.from_json(template)


def resources(template: dict, resource_type: str) -> dict[str, dict]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == resource_type}


def logical_id(template: dict, resource_type: str, contains: str) -> str:
    (match,) = [lid for lid in resources(template, resource_type) if contains in lid]
    return match


def statements(template: dict) -> list[tuple[str, dict]]:
    found = []
    for lid, policy in resources(template, "AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            found.append((lid, statement))
    return found


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_state_machine_is_express_with_full_logging_and_tracing(assertions):
    assertions.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineType": "EXPRESS",
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": Match.object_like({"Level": "ALL", "IncludeExecutionData": True}),
        },
    )


def nested_states(state: dict) -> dict[str, dict]:
    """The states of a Map's item processor (an empty dict for any other state)."""
    return (state.get("ItemProcessor") or {}).get("States", {})


def test_definition_has_the_contract_state_names_and_a_bounded_map(template):
    definition = json.loads(render(template))
    batch = definition["States"]["ProcessBatch"]
    assert batch["Type"] == "Map" and batch["MaxConcurrency"] == 10
    states = batch["ItemProcessor"]["States"]
    nested = {
        name: state for map_state in states.values() for name, state in nested_states(map_state).items()
    }
    for name, kind in {
        "ParseEvent": "Pass",
        "ClaimImage": "Task",
        "DetectLabels": "Task",
        "EvaluateLabels": "Choice",
        "CheckCooldowns": "Map",
        "ApplyCooldown": "Task",
        "WriteResult": "Task",
        "PublishAlerts": "Map",
        "RecordFailure": "Task",
    }.items():
        assert states[name]["Type"] == kind, name
    assert (nested["CheckCooldown"]["Type"], nested["PublishAlert"]["Type"]) == ("Task", "Task")
    detect_retry = {tuple(r["ErrorEquals"]): r for r in states["DetectLabels"]["Retry"]}
    throttled = detect_retry[("DetectorThrottled",)]
    assert throttled["BackoffRate"] == 2 and throttled["JitterStrategy"] == "FULL"
    catches = {tuple(c["ErrorEquals"]): c["Next"] for c in states["DetectLabels"]["Catch"]}
    busy = ("ModelNotReady", "DetectorThrottled", "Lambda.TooManyRequestsException")
    assert catches[busy] == "ReleaseClaimForRetry", "not running or overloaded: back to the queue"
    assert catches[("States.ALL",)] == "ReleaseClaim"
    assert states["ClaimImage"]["Parameters"]["ConditionExpression"].startswith("attribute_not_exists(pk)")


def test_exported_asl_is_up_to_date(template):
    assert ASL_PATH.read_text() == render(template), "statemachine/workflow.asl.json is stale: run `make asl`"


def test_exported_asl_passes_asl_validator(tmp_path):
    """The Amazon States Language schema and graph checks (e.g. every Next names a state)."""
    text = ASL_PATH.read_text().replace("${AWS::Partition}", "aws")
    text = re.sub(r"\$\{(\w+)\.Arn\}", r"arn:aws:lambda:us-east-1:123456789012:function:\1", text)
    text = re.sub(r"\$\{(\w+)\}", r"\1", text)
    concrete = tmp_path / "workflow.asl.json"
    concrete.write_text(text)
    validator = Path("node_modules/.bin/asl-validator")
    assert validator.exists(), "run `make setup` (npm ci installs asl-validator)"
    result = subprocess.run([str(validator), "--json-path", str(concrete)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pipe_reads_the_ingest_queue_and_waits_for_the_workflow(template, assertions):
    queue = logical_id(template, "AWS::SQS::Queue", "IngestQueue")
    machine = logical_id(template, "AWS::StepFunctions::StateMachine", "StateMachine")
    assertions.has_resource_properties(
        "AWS::Pipes::Pipe",
        {
            "Source": {"Fn::GetAtt": [queue, "Arn"]},
            "Target": {"Ref": machine},
            "SourceParameters": {
                "SqsQueueParameters": {"BatchSize": 10, "MaximumBatchingWindowInSeconds": 2}
            },
            "TargetParameters": {
                "StepFunctionStateMachineParameters": {"InvocationType": "REQUEST_RESPONSE"}
            },
        },
    )


def test_rule_matches_object_created_in_the_input_bucket_only(template, assertions):
    bucket = logical_id(template, "AWS::S3::Bucket", "InputBucket")
    assertions.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {"bucket": {"name": [{"Ref": bucket}]}},
            },
            "Targets": [
                Match.object_like({"DeadLetterConfig": Match.any_value(), "RetryPolicy": Match.any_value()})
            ],
        },
    )


@pytest.fixture(scope="module")
def prefixed_template(tuned_template) -> dict:
    """The stack with a key prefix holding a space, '+', a non-ASCII letter and '%'."""
    return tuned_template


PREFIX = KEY_PREFIX


def _s3_event(bucket: str, key: str) -> dict:
    """The "Object Created" event S3 sends for ``key`` (the twin's copy of AWS's, key URL-encoded)."""
    from labelwatch.local.s3_events import object_created_event

    return object_created_event(
        account_id="123456789012",
        region="us-east-1",
        bucket=bucket,
        key=key,
        size=1,
        etag="e",
        version_id="v",
    )


@pytest.mark.parametrize(
    ("key", "processed"),
    [
        (f"{PREFIX}leaf.jpg", True),
        (f"{PREFIX}sub dir/leaf 1.jpg", True),
        ("field 7/c++ shots/leaf.jpg", False),  # above the prefix
        ("field 7/c shots/été 100%/leaf.jpg", False),
        ("elsewhere/leaf.jpg", False),
    ],
)
def test_key_prefix_matches_the_keys_of_s3s_events(prefixed_template, key, processed):
    """S3's events carry the key URL-encoded (space as '+'), so the rule must compare in that encoding."""
    from moto.events.models import EventPattern

    (rule,) = resources(prefixed_template, "AWS::Events::Rule").values()
    pattern = copy.deepcopy(rule["Properties"]["EventPattern"])
    pattern["detail"]["bucket"]["name"] = ["input-bucket"]  # was the bucket's Ref
    assert EventPattern.load(json.dumps(pattern)).matches_event(_s3_event("input-bucket", key)) is processed


def test_the_rules_key_encoding_is_the_one_of_s3s_events():
    import string

    from infra.ingestion import s3_event_key
    from labelwatch.local.s3_events import encode_key

    text = string.printable + "éü✓😀"
    assert [s3_event_key(c) for c in text] == [encode_key(c) for c in text]


def test_key_prefix_grants_read_on_the_decoded_prefix_only(prefixed_template):
    """IAM compares the decoded key: the grant keeps the prefix as written."""
    input_bucket = logical_id(prefixed_template, "AWS::S3::Bucket", "InputBucket")
    grants = [
        statement
        for _lid, statement in statements(prefixed_template)
        if "s3:GetObject" in as_list(statement["Action"]) and input_bucket in json.dumps(statement)
    ]
    assert len(grants) == 2  # the detect function's and the link function's
    for grant in grants:
        assert grant["Resource"]["Fn::Join"][1][-1] == f"/{PREFIX}*"


def test_ingest_queue_redrives_to_its_dlq_and_outlasts_the_workflow(template):
    queues = resources(template, "AWS::SQS::Queue")
    ingest = queues[logical_id(template, "AWS::SQS::Queue", "IngestQueue")]["Properties"]
    dlq = logical_id(template, "AWS::SQS::Queue", "IngestDlq")
    assert ingest["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]},
        "maxReceiveCount": 12,
    }
    assert ingest["VisibilityTimeout"] > 300, "longer than an Express execution can run"
    for lid, queue in queues.items():
        assert queue["Properties"].get("SqsManagedSseEnabled") is True, lid
    policies = resources(template, "AWS::SQS::QueuePolicy")
    assert len(policies) == len(queues), "every queue has a TLS-only policy"


def test_buckets_are_private_encrypted_and_tls_only(template):
    buckets = resources(template, "AWS::S3::Bucket")
    assert len(buckets) == 3
    for lid, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, lid
        assert (
            props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
                "ServerSideEncryptionByDefault"
            ]["SSEAlgorithm"]
            == "AES256"
        ), lid
    tls_denied = {
        policy["Properties"]["Bucket"]["Ref"]
        for policy in resources(template, "AWS::S3::BucketPolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        and statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
    }
    assert tls_denied == set(buckets)


def test_input_bucket_sends_events_to_eventbridge(template):
    bucket = logical_id(template, "AWS::S3::Bucket", "InputBucket")
    (notification,) = resources(template, "Custom::S3BucketNotifications").values()
    assert notification["Properties"]["BucketName"] == {"Ref": bucket}
    assert notification["Properties"]["NotificationConfiguration"] == {"EventBridgeConfiguration": {}}


def test_detect_lambda_is_arm64_python_with_powertools_settings(assertions):
    assertions.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "detect.handler.lambda_handler",
            "Runtime": Match.string_like_regexp(r"^python3\.1[23]$"),
            "Architectures": ["arm64"],
            "TracingConfig": {"Mode": "Active"},
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "MODEL_ARN": MODEL_ARN,
                        "LABEL_RULES": json.dumps({"bacterial-leaf-blight": 70.0, "leaf-smut": 80.0}),
                        "POWERTOOLS_SERVICE_NAME": "labelwatch",
                    }
                )
            },
        },
    )


def test_no_wildcard_resource_where_aws_allows_a_narrower_one(template):
    for lid, statement in statements(template):
        if "*" in as_list(statement["Resource"]):
            assert set(as_list(statement["Action"])) <= STAR_ONLY_ACTIONS, (lid, statement["Action"])


def test_model_access_is_the_one_configured_version(template):
    grants = [s for _, s in statements(template) if "rekognition:DetectCustomLabels" in as_list(s["Action"])]
    assert grants and all(as_list(s["Resource"]) == [MODEL_ARN] for s in grants)
    everything = [
        (lid, s)
        for lid, s in statements(template)
        if any(a.startswith("rekognition:") for a in as_list(s["Action"]))
    ]
    others = [(lid, s) for lid, s in everything if s not in grants]
    # and the autopilot's: describe the project, start and stop this version (test_autopilot_template)
    assert {lid for lid, _ in others} == {logical_id(template, "AWS::IAM::Policy", "ModelAutopilotRole")}
    project = MODEL_ARN.partition("/version/")[0] + "/*"
    assert {(tuple(sorted(as_list(s["Action"]))), tuple(as_list(s["Resource"]))) for _, s in others} == {
        (("rekognition:DescribeProjects",), ("*",)),
        (("rekognition:DescribeProjectVersions",), (project,)),
        (("rekognition:StartProjectVersion", "rekognition:StopProjectVersion"), (MODEL_ARN,)),
    }


def test_results_are_written_under_results_prefix_only(template):
    bucket = logical_id(template, "AWS::S3::Bucket", "ResultsBucket")
    puts = [s for _, s in statements(template) if "s3:PutObject" in as_list(s["Action"])]
    assert puts
    for statement in puts:
        assert as_list(statement["Resource"]) == [
            {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/results/*"]]}
        ]


def test_the_state_machine_may_encrypt_alerts_with_the_topic_key_through_sns_only(template):
    """CDK's SnsPublish grants sns:Publish only; SNS refuses it without the encrypted topic's key."""
    key = logical_id(template, "AWS::KMS::Key", "TopicsKey")
    topic = resources(template, "AWS::SNS::Topic")[logical_id(template, "AWS::SNS::Topic", "AlertsTopic")]
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key, "Arn"]}
    role = logical_id(template, "AWS::IAM::Role", "StateMachineRole")
    grants = {
        lid: statement
        for lid, statement in statements(template)
        if any(a.startswith("kms:") for a in as_list(statement["Action"]))
    }
    # the state machine's (PublishAlert) and the digest function's, the same grant
    assert sorted(lid.split("Role")[0] for lid in grants) == ["FloodControlDigest", "WorkflowStateMachine"]
    (grant,) = [statement for lid, statement in grants.items() if lid.startswith("WorkflowStateMachine")]
    (policy,) = [
        lid
        for lid, p in resources(template, "AWS::IAM::Policy").items()
        if grant in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert resources(template, "AWS::IAM::Policy")[policy]["Properties"]["Roles"] == [{"Ref": role}]
    assert sorted(as_list(grant["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert as_list(grant["Resource"]) == [{"Fn::GetAtt": [key, "Arn"]}]
    via_sns = {"Fn::Join": ["", ["sns.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
    assert grant["Condition"] == {"StringEquals": {"kms:ViaService": via_sns}}


def test_detect_reads_only_the_input_bucket(template):
    bucket = logical_id(template, "AWS::S3::Bucket", "InputBucket")
    detect = logical_id(template, "AWS::IAM::Policy", "DetectRole")
    reads = [s for lid, s in statements(template) if lid == detect and "s3:GetObject" in as_list(s["Action"])]
    assert reads
    for statement in reads:
        assert as_list(statement["Resource"]) == [{"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, "/*"]]}]


def test_claims_table_expires_claims_and_is_encrypted(assertions):
    assertions.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
            "SSESpecification": {"SSEEnabled": True},
        },
    )


@pytest.fixture(scope="module")
def nagged_synthesis():
    """The app with cdk.json's own parameters and cdk-nag, synthesized once without cache or
    placeholder (~8 s of processor): (stack, its synthesized template, the validation report)."""
    from labelwatch.local.template import synth_stack

    app, stack = synth_stack(nag=True)
    assembly = app.synth()  # cdk-nag 3 fails synthesis on any unacknowledged finding
    report = json.loads(Path(assembly.directory, "validation-report.json").read_text())
    synthesized = json.loads(Path(assembly.directory, stack.template_file).read_text())
    return stack, synthesized, report


def test_cdk_nag_aws_solutions_has_no_unacknowledged_finding_and_every_acknowledgment_has_a_reason(
    nagged_synthesis,
):
    _stack, synthesized, report = nagged_synthesis
    violations = [v for plugin in report["pluginReports"] for v in plugin["violations"]]
    assert violations == []
    acknowledged = [
        (lid, rule)
        for lid, resource in synthesized["Resources"].items()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    assert len(acknowledged) >= 5
    for lid, rule in acknowledged:
        assert len(rule["reason"]) >= 30, (lid, rule)


def test_cfn_lint_reports_no_errors(template, tmp_path):
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    result = subprocess.run(
        [sys.executable, "-m", "cfnlint", "--format", "parseable", str(path)], capture_output=True, text=True
    )
    findings = [line for line in result.stdout.splitlines() if line.strip()]
    # W3005 (a DependsOn that CDK adds next to a GetAtt) is the only finding CDK output is known to have.
    assert [line for line in findings if ":W3005:" not in line] == [], result.stdout


def test_max_concurrent_detections_reserves_the_detect_functions_concurrency(template, tuned_template):
    def detect(of: dict) -> dict:
        functions = [r["Properties"] for r in of["Resources"].values() if r["Type"].endswith("::Function")]
        return next(f for f in functions if f["Handler"].startswith("detect."))

    assert "ReservedConcurrentExecutions" not in detect(template), "unreserved by default"
    assert detect(tuned_template)["ReservedConcurrentExecutions"] == TUNED["maxConcurrentDetections"]


def without_nag_metadata(template: dict) -> dict:
    """The template as synthesized without cdk-nag, which only adds its acknowledgments as metadata."""
    plain = copy.deepcopy(template)
    for resource in plain["Resources"].values():
        metadata = resource.get("Metadata")
        if metadata is not None:
            metadata.pop("cdk_nag", None)
            if not metadata:
                del resource["Metadata"]
    return plain


def test_one_synthesis_serves_every_model_version_exactly(template, nagged_synthesis):
    """The twin synthesizes once with a placeholder model ARN and writes each model's ARN in: the
    result must be byte for byte what synthesizing with that ARN gives (here cdk.json's model)."""
    from labelwatch.local.template import MODEL_ARN_PLACEHOLDER, cdk_context

    _stack, synthesized, _report = nagged_synthesis
    assert without_nag_metadata(synthesized) == template
    assert MODEL_ARN_PLACEHOLDER not in json.dumps(template)
    assert cdk_context()["modelArn"] in json.dumps(template)


def test_a_misspelt_context_parameter_stops_the_app():
    """`cdk deploy -c minConfidance=90` reaches the app as context; it must not deploy with 70."""
    from aws_cdk import App

    from infra.app import build_app
    from infra.config import ConfigError
    from labelwatch.local.template import cdk_context

    app = App(context={**cdk_context({"minConfidance": 90}), "aws:cdk:bundling-stacks": []})
    with pytest.raises(
        ConfigError, match="minConfidance: 90 is not a parameter; did you mean 'minConfidence'"
    ):
        build_app(app, nag=False)


def test_a_batch_whose_worst_case_exceeds_an_express_execution_stops_the_app():
    """mapConcurrency=4 was the default with batchSize=10: three rounds of an image's ~280 s."""
    from aws_cdk import App

    from infra.app import build_app
    from infra.config import ConfigError
    from labelwatch.local.template import cdk_context

    app = App(context={**cdk_context({"mapConcurrency": 4}), "aws:cdk:bundling-stacks": []})
    with pytest.raises(ConfigError, match="batchSize=10 with mapConcurrency=4 is 3 rounds of images"):
        build_app(app, nag=False)


def _rule_value(expression, refs: dict[str, str]):
    """A CloudFormation rule expression: Fn::Equals/And/Not/Contains over literals and Refs."""
    if not isinstance(expression, dict):
        return [_rule_value(e, refs) for e in expression] if isinstance(expression, list) else expression
    ((function, argument),) = expression.items()
    if function == "Ref":
        return refs[argument]
    values = _rule_value(argument, refs)
    operations = {
        "Fn::Equals": lambda: values[0] == values[1],
        "Fn::And": lambda: all(values),
        "Fn::Not": lambda: not values[0],
        "Fn::Contains": lambda: values[1] in values[0],
    }
    return operations[function]()


def failed_rules(template: dict, *, partition: str, region: str) -> list[str]:
    """The AssertDescriptions CloudFormation would report when creating the stack in that region
    (bootstrapped with the current version)."""
    refs = {"AWS::Partition": partition, "AWS::Region": region, "BootstrapVersion": "30"}
    return [
        assertion["AssertDescription"]
        for rule in template.get("Rules", {}).values()
        for assertion in rule["Assertions"]
        if not _rule_value(assertion["Assert"], refs)
    ]


def test_the_stack_deploys_only_where_the_model_is(template):
    """Custom Labels answers only in the model's region: elsewhere every image would fail."""
    assert MODEL_ARN.split(":")[2:4] == ["rekognition", "us-east-1"]
    assert failed_rules(template, partition="aws", region="us-east-1") == []
    (refused,) = failed_rules(template, partition="aws", region="eu-west-1")
    assert "us-east-1" in refused and "modelArn" in refused
    assert failed_rules(template, partition="aws-us-gov", region="us-gov-west-1") != []


@pytest.mark.parametrize(
    ("arn_region", "partition", "console"),
    [
        (
            "us-east-1",
            "aws",
            "https://${AWS::Region}.console.aws.amazon.com/states/home?region=${AWS::Region}",
        ),
        (
            "us-gov-west-1",
            "aws-us-gov",
            "https://console.amazonaws-us-gov.com/states/home?region=${AWS::Region}",
        ),
    ],
)
def test_executions_console_url_is_the_partitions(arn_region, partition, console):
    from labelwatch.local.template import synth_template

    arn = f"arn:{partition}:rekognition:{arn_region}:123456789012:project/p/version/v.1/1761955200000"
    template = synth_template({"modelArn": arn}, by_placeholder=False)
    url = template["Outputs"]["ExecutionsConsoleUrl"]["Value"]["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else "${" + part["Ref"] + "}" for part in url)
    assert text.startswith(console + "#/statemachines/view/")
    assert failed_rules(template, partition=partition, region=arn_region) == []


def test_the_ops_topic_is_an_output(template):
    (ops_topic,) = [lid for lid in resources(template, "AWS::SNS::Topic") if "OpsTopic" in lid]
    assert template["Outputs"]["OpsTopicArn"]["Value"] == {"Ref": ops_topic}


def test_synth_warns_when_no_one_receives_the_alarms(nagged_synthesis):
    """cdk.json's parameters have no opsEmail: every alarm would notify an ops topic nobody reads."""
    from aws_cdk.assertions import Annotations

    from labelwatch.local.template import cdk_context

    assert "opsEmail" not in cdk_context()
    stack, _synthesized, _report = nagged_synthesis
    (warning,) = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("opsEmail"))
    assert warning.id == "/Labelwatch/Monitoring"
    assert "OpsTopicArn" in warning.entry.data and "notifies nobody" in warning.entry.data


def _resolved(value, refs: dict[str, str]) -> str:
    """A string of the template with Ref/Fn::Join/Fn::GetAtt Arn resolved for one deployment."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return refs[value["Ref"]]
    if "Fn::GetAtt" in value:
        return refs[value["Fn::GetAtt"][0]]
    separator, parts = value["Fn::Join"]
    return separator.join(_resolved(part, refs) for part in parts)


US_EAST_1 = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "111122223333",
    "AWS::URLSuffix": "amazonaws.com",
}


def test_log_groups_are_encrypted_with_a_key_only_cloudwatch_logs_may_use_for_them(template):
    """The documented key policy: the Logs service principal, limited by the encryption context
    (kms:EncryptionContext:aws:logs:arn, the log group's ARN) to this stack's log groups."""
    import fnmatch

    log_groups = resources(template, "AWS::Logs::LogGroup")
    # the executions, the Pipe, the detect, link, autopilot, apply-cooldown and digest functions
    assert len(log_groups) == 7
    for lid, log_group in log_groups.items():
        props = log_group["Properties"]
        (key_id, attribute) = props["KmsKeyId"]["Fn::GetAtt"]
        assert attribute == "Arn", lid
        policy = template["Resources"][key_id]["Properties"]["KeyPolicy"]["Statement"]
        (logs,) = [s for s in policy if "logs." in json.dumps(s.get("Principal", {}))]
        assert _resolved(logs["Principal"]["Service"], US_EAST_1) == "logs.us-east-1.amazonaws.com"
        assert sorted(logs["Action"]) == [
            "kms:Decrypt*",
            "kms:Describe*",
            "kms:Encrypt*",
            "kms:GenerateDataKey*",
            "kms:ReEncrypt*",
        ]
        (allowed,) = as_list(logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
        group_arn = (
            f"arn:aws:logs:us-east-1:111122223333:log-group:{_resolved(props['LogGroupName'], US_EAST_1)}"
        )
        assert fnmatch.fnmatchcase(group_arn, _resolved(allowed, US_EAST_1)), lid
        assert not fnmatch.fnmatchcase(
            "arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/other", _resolved(allowed, US_EAST_1)
        )


def _presigned_link() -> str:
    """A link as the detect function signs it (SigV4, a role session's credentials)."""
    import boto3
    from botocore.config import Config

    s3 = boto3.session.Session(
        aws_access_key_id="ASIAEXAMPLEEXAMPLE00",
        aws_secret_access_key="secret",
        aws_session_token="token",
        region_name="us-east-1",
    ).client("s3", config=Config(signature_version="s3v4"))
    return s3.generate_presigned_url(
        "get_object", Params={"Bucket": "uploads", "Key": "leaf 1.jpg"}, ExpiresIn=3600
    )


def test_log_groups_mask_image_link_tokens_and_presigned_signatures(template):
    """Execution logs (level ALL with data) hold the alert text and its links: masked, a link is
    useless to anyone with logs:GetLogEvents alone."""
    from links.token import TOKEN_CHARS

    token = "Ab-_9" * 10 + "xYz0"
    assert len(token) == TOKEN_CHARS
    short = f"https://abc.lambda-url.us-east-1.on.aws/i/{token}"
    link = _presigned_link()
    signature = link.rpartition("X-Amz-Signature=")[2]
    as_written = json.dumps({"alertMessage": f"leaf-smut 93.1 %\nImage: {link}\n{short}\n{short}?view\n"})
    html_escaped = as_written.replace("=", "\\u003d").replace("&", "\\u0026")  # as some JSON writers do
    for lid, log_group in resources(template, "AWS::Logs::LogGroup").items():
        policy = log_group["Properties"]["DataProtectionPolicy"]
        custom = {c["Name"]: c["Regex"] for c in policy["Configuration"]["CustomDataIdentifier"]}
        (deidentify,) = [s for s in policy["Statement"] if "Deidentify" in s["Operation"]]
        assert deidentify["Operation"]["Deidentify"] == {"MaskConfig": {}}, lid
        masking = [custom[name] for name in deidentify["DataIdentifier"] if name in custom]
        for logged in (as_written, html_escaped):
            masked = logged
            for regex in masking:
                masked = re.sub(regex, "****", masked)
            assert signature[:32] not in masked and signature[-32:] not in masked, (lid, masked)
            assert token[:20] not in masked and token[-20:] not in masked, (lid, masked)
            assert "X-Amz-Credential" in masked, "only the signature is masked"
