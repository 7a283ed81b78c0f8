"""The authorizer on the real synthesized template, in front of moto's server: calls signed with the
stack's role credentials are allowed or refused as AWS would, with AWS's error codes."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import replace

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from labelwatch.clients import boto3_session, new_client
from labelwatch.local.iam import Authorizer, AuthorizingApp
from labelwatch.local.provision import ACCOUNT_ID, Provisioner
from labelwatch.local.template import synth_template

REGION = "us-east-1"


class AuthorizingServer(ThreadedMotoServer):
    """moto's threaded server with the authorizing middleware around its app."""

    def __init__(self) -> None:
        super().__init__(ip_address="127.0.0.1", port=0, verbose=False)
        self.app = AuthorizingApp(DomainDispatcherApplication(create_backend_app))

    def _server_entry(self) -> None:
        self._server = make_server(
            self._ip_address, self._port, self.app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


def _post(endpoint: str, path: str, body: dict) -> None:
    request = urllib.request.Request(
        f"{endpoint}{path}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


class Stack:
    def __init__(self, endpoint: str, app: AuthorizingApp, provisioned, template: dict) -> None:
        self.endpoint = endpoint
        self.app = app
        self.provisioned = provisioned
        self.template = template
        self.authorizer: Authorizer = app.authorizer
        self._clients: dict[tuple[str, str | None, bool], object] = {}

    def client(self, service: str, role: str | None = None, *, host_prefix: bool = True):
        """A client signed as ``role`` (None: the administrator), made once per service and role on
        the process-wide botocore loader (a new default session re-read the models: ~8 s a run)."""
        made = self._clients.get((service, role, host_prefix))
        if made is not None:
            return made
        if role is None:
            key, secret = "testing", "testing"
        else:
            key, secret = self.authorizer.credentials_for(self.authorizer.role_arn(role))
        made = new_client(
            boto3_session(region_name=REGION, aws_access_key_id=key, aws_secret_access_key=secret),
            service,
            endpoint_url=self.endpoint,
            config=Config(retries={"max_attempts": 1}, inject_host_prefix=host_prefix),
        )
        self._clients[(service, role, host_prefix)] = made
        return made

    def resource(self, type_: str, prefix: str):
        (match,) = [
            r
            for r in self.provisioned.resources.values()
            if r.type == type_ and r.logical_id.startswith(prefix)
        ]
        return match


@pytest.fixture(scope="module")
def stack():
    template = synth_template()
    server = AuthorizingServer()
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    _post(endpoint, "/moto-api/reset", {})
    admin = Stack(endpoint, server.app, None, template)
    provisioned = Provisioner(admin.client, region=REGION, stack_name="labelwatch").provision(
        {
            **template,
            "Resources": {
                k: v for k, v in template["Resources"].items() if not v["Type"].startswith("Custom::")
            },
        }
    )
    server.app.authorizer = Authorizer(provisioned, region=REGION)
    try:
        yield Stack(endpoint, server.app, provisioned, template)
    finally:
        _post(endpoint, "/moto-api/reset", {})
        server.stop()


def _error(excinfo) -> tuple[str, str, int]:
    error = excinfo.value.response["Error"]
    return (
        error["Code"],
        error.get("Message", ""),
        excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"],
    )


def test_state_machine_publishes_alerts_through_sns_with_the_topic_key(stack):
    """The grant of the topic's key (kms:ViaService sns) lets the state machine publish; the key
    itself is not usable outside SNS."""
    topic = stack.resource("AWS::SNS::Topic", "AlertsTopic").arn
    key = stack.resource("AWS::KMS::Key", "TopicsKey").arn
    stack.client("sns", "WorkflowStateMachineRole").publish(TopicArn=topic, Message="{}")
    with pytest.raises(ClientError) as excinfo:
        stack.client("kms", "WorkflowStateMachineRole").generate_data_key(KeyId=key, KeySpec="AES_256")
    code, message, status = _error(excinfo)
    assert (code, status) == ("AccessDeniedException", 400)
    assert f"kms:GenerateDataKey on resource: {key}" in message


def test_without_the_key_grant_the_publish_is_refused_because_of_the_key(stack):
    """The bug the template had until the key grant: sns:Publish alone. SNS answers KMSAccessDenied."""
    role_policy = stack.resource("AWS::IAM::Policy", "WorkflowStateMachineRoleDefaultPolicy")
    document = role_policy.properties["PolicyDocument"]
    without_key = {
        **document,
        "Statement": [s for s in document["Statement"] if "kms:" not in str(s["Action"])],
    }
    assert len(without_key["Statement"]) < len(document["Statement"])
    resources = dict(stack.provisioned.resources)
    resources[role_policy.logical_id] = replace(
        role_policy, properties={**role_policy.properties, "PolicyDocument": without_key}
    )
    authorizer = Authorizer(resources, region=REGION)
    role = authorizer.role_arn("WorkflowStateMachineRole")
    authorizer.credentials_for(role)  # the same deterministic key the client signs with
    topic = stack.resource("AWS::SNS::Topic", "AlertsTopic").arn
    key = stack.resource("AWS::KMS::Key", "TopicsKey").arn
    saved, stack.app.authorizer = stack.app.authorizer, authorizer
    try:
        with pytest.raises(ClientError) as excinfo:
            stack.client("sns", "WorkflowStateMachineRole").publish(TopicArn=topic, Message="{}")
    finally:
        stack.app.authorizer = saved
    code, message, status = _error(excinfo)
    assert (code, status) == ("KMSAccessDenied", 400)
    assert f"kms:GenerateDataKey on resource: {key}" in message
    assert "because no identity-based policy allows the kms:GenerateDataKey action" in message
    denial = authorizer.denials[-1]
    assert denial.kms and denial.action == "kms:GenerateDataKey" and denial.resource == key
    assert denial.principal.startswith(f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/")
    # the topic itself lets the role publish: it is the key that refuses
    principal, _ = authorizer.principal_for(authorizer.credentials_for(role)[0])
    assert authorizer.check(principal, "sns:Publish", topic).allowed


def test_state_machine_writes_results_only_under_results(stack):
    bucket = stack.resource("AWS::S3::Bucket", "AnalyticsResultsBucket").ref
    s3 = stack.client("s3", "WorkflowStateMachineRole")
    s3.put_object(Bucket=bucket, Key="results/x.json", Body=b"{}")
    with pytest.raises(ClientError) as excinfo:
        s3.put_object(Bucket=bucket, Key="other/x.json", Body=b"{}")
    code, message, status = _error(excinfo)
    assert (code, status) == ("AccessDenied", 403)
    assert f"s3:PutObject on resource: arn:aws:s3:::{bucket}/other/x.json" in message
    assert message.endswith("because no identity-based policy allows the s3:PutObject action")
    # the administrator may, and nothing reached moto for the refused call
    assert stack.client("s3").list_objects_v2(Bucket=bucket)["KeyCount"] == 1


def test_state_machine_claims_and_invokes_detect_but_nothing_else(stack):
    table = stack.resource("AWS::DynamoDB::Table", "WorkflowClaims").ref
    dynamodb = stack.client("dynamodb", "WorkflowStateMachineRole")
    dynamodb.update_item(  # ClaimImage's call
        TableName=table,
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET #status = :claimed",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":claimed": {"S": "claimed"}},
    )
    with pytest.raises(ClientError) as excinfo:
        dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}})
    code, message, status = _error(excinfo)
    assert (code, status) == ("AccessDeniedException", 400)
    assert f"dynamodb:GetItem on resource: arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{table}" in message
    detect = stack.resource("AWS::Lambda::Function", "WorkflowDetect").ref
    with pytest.raises(ClientError) as excinfo:  # the Pipe role may not invoke the function
        stack.client("lambda", "IngestionPipeRole").invoke(FunctionName=detect, Payload=b"{}")
    code, message, status = _error(excinfo)
    assert (code, status) == ("AccessDeniedException", 403)
    assert (
        f"lambda:InvokeFunction on resource: arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{detect}"
        in message
    )


def test_detect_role_runs_the_model_on_input_images(stack):
    model_arn = stack.resource("AWS::Lambda::Function", "WorkflowDetect").properties["Environment"][
        "Variables"
    ]["MODEL_ARN"]
    input_bucket = stack.resource("AWS::S3::Bucket", "IngestionInputBucket").ref
    results_bucket = stack.resource("AWS::S3::Bucket", "AnalyticsResultsBucket").ref
    stack.client("s3").put_object(Bucket=input_bucket, Key="a.jpg", Body=b"jpeg")
    rekognition = stack.client("rekognition", "WorkflowDetectRole")
    image = {"S3Object": {"Bucket": input_bucket, "Name": "a.jpg"}}
    rekognition.detect_custom_labels(ProjectVersionArn=model_arn, Image=image)
    s3 = stack.client("s3", "WorkflowDetectRole")
    assert s3.head_object(Bucket=input_bucket, Key="a.jpg")["ContentLength"] == 4
    with pytest.raises(ClientError) as excinfo:
        rekognition.detect_custom_labels(
            ProjectVersionArn=model_arn.replace("plant-leaves", "other"), Image=image
        )
    assert _error(excinfo)[:1] == ("AccessDeniedException",)
    with pytest.raises(ClientError) as excinfo:  # an object the role may not read
        rekognition.detect_custom_labels(
            ProjectVersionArn=model_arn, Image={"S3Object": {"Bucket": results_bucket, "Name": "a.jpg"}}
        )
    assert _error(excinfo)[0] == "InvalidS3ObjectException"
    assert stack.authorizer.denials[-1].action == "s3:GetObject"
    with pytest.raises(ClientError) as excinfo:  # HEAD: S3 answers 403 without a body
        s3.head_object(Bucket=results_bucket, Key="results/x.json")
    assert _error(excinfo)[2] == 403
    with pytest.raises(ClientError) as excinfo:  # CloudWatch (query-compatible JSON): AccessDenied
        stack.client("cloudwatch", "WorkflowDetectRole").put_metric_data(
            Namespace="Labelwatch", MetricData=[{"MetricName": "m", "Value": 1.0}]
        )
    assert _error(excinfo)[:1] == ("AccessDenied",)


def test_pipe_role_reads_the_ingest_queue_and_may_not_write_it(stack):
    queue = stack.resource("AWS::SQS::Queue", "IngestionIngestQueue")
    stack.client("sqs").send_message(QueueUrl=queue.ref, MessageBody="m")
    sqs = stack.client("sqs", "IngestionPipeRole")
    messages = sqs.receive_message(QueueUrl=queue.ref, MaxNumberOfMessages=1)["Messages"]
    sqs.delete_message(QueueUrl=queue.ref, ReceiptHandle=messages[0]["ReceiptHandle"])
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=queue.ref, MessageBody="m")
    code, message, status = _error(excinfo)
    assert (code, status) == ("AccessDenied", 403)
    assert f"sqs:sendmessage on resource: {queue.arn}" in message
    with pytest.raises(ClientError) as excinfo:
        stack.client("stepfunctions", "WorkflowDetectRole", host_prefix=False).start_sync_execution(
            stateMachineArn=stack.resource("AWS::StepFunctions::StateMachine", "WorkflowStateMachine").arn,
            input="[]",
        )
    assert _error(excinfo)[:1] == ("AccessDeniedException",)


def test_event_rule_delivery_to_the_ingest_queue(stack):
    queue = stack.resource("AWS::SQS::Queue", "IngestionIngestQueue").arn
    rule = stack.resource("AWS::Events::Rule", "IngestionObjectCreatedRule").arn
    authorizer = stack.authorizer
    assert authorizer.check_service_delivery("events.amazonaws.com", rule, "sqs:SendMessage", queue).allowed
    refused = authorizer.check_service_delivery(
        "events.amazonaws.com", rule + "-other", "sqs:SendMessage", queue
    )
    assert not refused.allowed
    assert refused.reason == "because no resource-based policy allows the sqs:SendMessage action"
    bus = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/default"
    assert authorizer.check_service_delivery(
        "s3.amazonaws.com", "arn:aws:s3:::in", "events:PutEvents", bus
    ).allowed


def test_permissive_mode_records_without_refusing(stack):
    authorizer = stack.authorizer
    bucket = stack.resource("AWS::S3::Bucket", "AnalyticsResultsBucket").ref
    authorizer.permissive = True
    try:
        stack.client("s3", "WorkflowStateMachineRole").put_object(
            Bucket=bucket, Key="other/y.json", Body=b"{}"
        )
    finally:
        authorizer.permissive = False
    assert not authorizer.denials[-1].enforced and authorizer.denials[-1].resource.endswith("/other/y.json")


def test_stats_and_warnings(stack):
    # one allowed and one refused call of its own: the module's other tests may run on another worker
    input_bucket = stack.resource("AWS::S3::Bucket", "IngestionInputBucket").ref
    results_bucket = stack.resource("AWS::S3::Bucket", "AnalyticsResultsBucket").ref
    stack.client("s3").put_object(Bucket=input_bucket, Key="stats.jpg", Body=b"jpeg")
    s3 = stack.client("s3", "WorkflowDetectRole")
    s3.head_object(Bucket=input_bucket, Key="stats.jpg")
    with pytest.raises(ClientError):
        s3.head_object(Bucket=results_bucket, Key="results/stats.json")
    stats = stack.app.stats()
    assert stats["checks"] > 0 and stats["requests"] > 0 and stats["refused"] > 0
    assert stats["mean_us_per_check"] > 0  # its size is the bench's to report (`make bench`), not a test's
    assert stack.authorizer.warnings == []  # AWSLambdaBasicExecutionRole is known
