"""Service limits AWS enforces, enforced by the twin (``labelwatch.local.limits``): each test trips one
through boto3 against moto's server (the twin's endpoint) and checks the error AWS answers."""

from __future__ import annotations

import json
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from labelwatch.local.limits import Limits, patches
from labelwatch.local.patching import PatchSet

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/sfn"
WAIT = 60.0  # generous bound on an execution that ends in well under a second


@pytest.fixture
def limits():
    return Limits()


@pytest.fixture
def endpoint(limits, monkeypatch):
    patch_set = PatchSet(patches(limits))
    patch_set.apply()  # before the server builds its URL maps
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv("MOTO_PORT", str(port))
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    request = urllib.request.Request(
        f"{url}/moto-api/config",
        data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).read()
    reset = urllib.request.Request(f"{url}/moto-api/reset", data=b"{}", method="POST")
    urllib.request.urlopen(reset, timeout=10).read()  # moto's backends are process-wide
    urllib.request.urlopen(request, timeout=10).read()
    try:
        yield url
    finally:
        server.stop()
        patch_set.restore()


@pytest.fixture
def client(endpoint):
    config = Config(retries={"max_attempts": 1})

    def make(service: str):
        return boto3.client(service, endpoint_url=endpoint, region_name=REGION, config=config)

    return make


def error_code(error: pytest.ExceptionInfo) -> str:
    return error.value.response["Error"]["Code"]


# --- Step Functions ------------------------------------------------------------------------------------


def run(client, definition: dict, *, kind: str = "STANDARD", execution_input: str = "{}") -> dict:
    sfn = client("stepfunctions")
    arn = sfn.create_state_machine(
        name=f"sm-{time.monotonic_ns()}", definition=json.dumps(definition), roleArn=ROLE, type=kind
    )["stateMachineArn"]
    execution = sfn.start_execution(
        stateMachineArn=arn, name=f"run-{time.monotonic_ns()}", input=execution_input
    )
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        description = sfn.describe_execution(executionArn=execution["executionArn"])
        if description["status"] != "RUNNING":
            return description
        time.sleep(0.05)
    raise AssertionError(f"still running after {WAIT} s")


def failed_error(client, description: dict) -> str:
    history = client("stepfunctions").get_execution_history(executionArn=description["executionArn"])
    (failed,) = [event for event in history["events"] if event["type"] == "ExecutionFailed"]
    return failed["executionFailedEventDetails"]["error"]


def big_branch(size: int, *, catch: bool) -> dict:
    parallel: dict = {
        "Type": "Parallel",
        "Branches": [
            {"StartAt": "Big", "States": {"Big": {"Type": "Pass", "Result": "x" * size, "End": True}}}
        ],
        "End": True,
    }
    if catch:
        parallel["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]
        parallel.pop("End")
        parallel["Next"] = "Done"
    states = {"Work": parallel, "Caught": {"Type": "Pass", "Result": "caught", "End": True}}
    states["Done"] = {"Type": "Succeed"}
    return {"StartAt": "Work", "States": states}


def test_a_state_output_over_256_kib_fails_the_execution_with_data_limit_exceeded(client):
    description = run(
        client,
        {"StartAt": "Big", "States": {"Big": {"Type": "Pass", "Result": "x" * (256 * 1024), "End": True}}},
    )
    assert description["status"] == "FAILED"
    assert failed_error(client, description) == "States.DataLimitExceeded"


def test_a_state_output_of_exactly_256_kib_passes(client):
    result = "x" * (256 * 1024 - 2)  # the JSON string with its quotes is 262,144 bytes
    description = run(
        client, {"StartAt": "Big", "States": {"Big": {"Type": "Pass", "Result": result, "End": True}}}
    )
    assert description["status"] == "SUCCEEDED"


def test_states_all_does_not_catch_data_limit_exceeded(client, limits):
    for index in range(5):
        client("s3").create_bucket(Bucket=f"listed-bucket-{index}")
    limits.sfn_payload_bytes = 200  # the ListBuckets result is larger
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:s3:listBuckets",
        "Parameters": {},
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
        "End": True,
    }
    definition = {"StartAt": "List", "States": {"List": task, "Caught": {"Type": "Succeed"}}}
    description = run(client, definition)
    assert description["status"] == "FAILED"
    assert failed_error(client, description) == "States.DataLimitExceeded"


def test_states_all_still_catches_other_errors(client, limits):
    definition = big_branch(10, catch=True)
    definition["States"]["Work"]["Branches"][0]["States"]["Big"] = {"Type": "Fail", "Error": "Custom"}
    description = run(client, definition)
    assert description["status"] == "SUCCEEDED"


def test_start_execution_with_input_over_256_kib_is_a_validation_exception(client):
    sfn = client("stepfunctions")
    arn = sfn.create_state_machine(
        name="small",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
        roleArn=ROLE,
        type="EXPRESS",
    )["stateMachineArn"]
    body = json.dumps(
        {"data": "é" * (128 * 1024)}, ensure_ascii=False
    )  # fewer characters than bytes: counted in UTF-8
    assert len(body) < 256 * 1024 < len(body.encode())
    with pytest.raises(ClientError) as error:
        sfn.start_execution(stateMachineArn=arn, name="too-big", input=body)
    assert error_code(error) == "ValidationException"


def test_an_express_execution_over_its_time_limit_times_out(client, limits):
    limits.express_max_seconds = 0.5  # AWS: 5 minutes
    definition = {"StartAt": "Long", "States": {"Long": {"Type": "Wait", "Seconds": 60, "End": True}}}
    description = run(client, definition, kind="EXPRESS")
    assert description["status"] == "TIMED_OUT"


def test_a_standard_execution_has_no_such_limit(client, limits):
    limits.express_max_seconds = 0.01
    definition = {"StartAt": "Short", "States": {"Short": {"Type": "Wait", "Seconds": 1, "End": True}}}
    assert run(client, definition)["status"] == "SUCCEEDED"


# --- S3 ---------------------------------------------------------------------------------------------------


@pytest.fixture
def bucket(client):
    client("s3").create_bucket(Bucket="limits-bucket")
    return "limits-bucket"


@pytest.mark.parametrize("key", ["line\nfeed.jpg", "carriage\rreturn.jpg", "both\r\n.jpg", "tab\tand\x01ctl"])
def test_keys_with_line_breaks_and_control_characters_are_stored(client, bucket, key):
    s3 = client("s3")
    s3.put_object(Bucket=bucket, Key=key, Body=b"image")
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"image"
    assert [item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [key]


def test_a_key_over_1024_bytes_is_key_too_long(client, bucket):
    s3 = client("s3")
    s3.put_object(Bucket=bucket, Key="é" * 512, Body=b"ok")  # 1,024 bytes in UTF-8: the limit
    with pytest.raises(ClientError) as error:
        s3.put_object(Bucket=bucket, Key="é" * 512 + "x", Body=b"no")
    assert error_code(error) == "KeyTooLongError"
    with pytest.raises(ClientError) as error:
        s3.create_multipart_upload(Bucket=bucket, Key="k" * 1025)
    assert error_code(error) == "KeyTooLongError"


# --- SQS --------------------------------------------------------------------------------------------------


def test_an_sqs_message_over_its_queue_maximum_is_invalid_parameter_value(client):
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="limits")["QueueUrl"]
    default = int(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MaximumMessageSize"])["Attributes"][
            "MaximumMessageSize"
        ]
    )
    assert default == 1024 * 1024  # AWS's default (and maximum) since August 2025
    sqs.send_message(QueueUrl=url, MessageBody="x" * default)
    with pytest.raises(ClientError) as error:
        sqs.send_message(QueueUrl=url, MessageBody="é" * (default // 2 + 1))  # over it in bytes only
    assert error_code(error) == "InvalidParameterValue"


def test_sqs_message_attributes_count_toward_the_size(client):
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="small", Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x" * 1000)
    with pytest.raises(ClientError) as error:
        sqs.send_message(
            QueueUrl=url,
            MessageBody="x" * 1000,
            MessageAttributes={"note": {"DataType": "String", "StringValue": "y" * 100}},
        )
    assert error_code(error) == "InvalidParameterValue"
    with pytest.raises(ClientError) as error:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "é" * 600}])
    assert error_code(error) == "InvalidParameterValue"


# --- SNS --------------------------------------------------------------------------------------------------


@pytest.fixture
def topic(client):
    return client("sns").create_topic(Name="limits")["TopicArn"]


@pytest.mark.parametrize(
    "subject", ["x" * 101, "two\nlines", "carriage\rreturn", "tab\there", "caf\u00e9", ""], ids=repr
)
def test_a_subject_sns_refuses_is_invalid_parameter(client, topic, subject):
    with pytest.raises(ClientError) as error:
        client("sns").publish(TopicArn=topic, Message="m", Subject=subject)
    assert error_code(error) == "InvalidParameter"
    assert error.value.response["Error"]["Message"] == "Invalid parameter: Subject"


def test_a_subject_of_100_printable_characters_is_accepted(client, topic):
    client("sns").publish(TopicArn=topic, Message="m", Subject="labelwatch: " + "~" * 88)


def test_an_sns_message_over_256_kib_in_bytes_is_invalid_parameter(client, topic):
    sns = client("sns")
    sns.publish(TopicArn=topic, Message="x" * (256 * 1024))
    with pytest.raises(ClientError) as error:
        sns.publish(TopicArn=topic, Message="é" * (128 * 1024 + 1))  # under it in characters
    assert error_code(error) == "InvalidParameter"
    with pytest.raises(ClientError) as error:
        sns.publish(
            TopicArn=topic,
            Message="x" * (256 * 1024 - 10),
            MessageAttributes={"labels": {"DataType": "String", "StringValue": "y" * 20}},
        )
    assert error_code(error) == "InvalidParameter"


def test_the_patches_match_moto_and_restore_it():
    from moto.sns.responses import SNSResponse

    patch_set = PatchSet(patches(Limits()))
    assert patch_set.check_signatures() == []
    before = SNSResponse.publish
    patch_set.apply()
    patch_set.restore()
    assert SNSResponse.publish is before
