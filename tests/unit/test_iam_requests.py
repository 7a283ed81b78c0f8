"""Request classification on the requests botocore really sends (captured before sending)."""

from __future__ import annotations

from urllib.parse import urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from labelwatch.local.iam.requests import classify

ACCOUNT = "123456789012"
ENDPOINT = "http://127.0.0.1:4566"


class _Captured(Exception):
    pass


def sent(service: str, operation: str, *, endpoint: str = ENDPOINT, config: Config | None = None, **params):
    """The ApiCall classify() makes of the request boto3 sends for ``operation``."""
    client = boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="ASIAEXAMPLEEXAMPLE",
        aws_secret_access_key="secret",
        config=config or Config(retries={"max_attempts": 1}),
    )
    captured = {}

    def capture(request, **_kwargs):
        captured["request"] = request
        raise _Captured

    client.meta.events.register("before-send", capture)
    with pytest.raises(_Captured):
        getattr(client, operation)(**params)
    request = captured["request"]
    url = urlsplit(request.url)
    headers = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}
    headers.setdefault("host", url.netloc)
    body = request.body or b""
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode()
    call = classify(
        request.method,
        url.path or "/",
        url.query,
        headers,
        body,
        account=ACCOUNT,
        kms_key_arn=lambda key, region: f"arn:aws:kms:{region}:{ACCOUNT}:key/{key.rsplit('/', 1)[-1]}",
    )
    assert call is not None
    assert call.access_key_id == "ASIAEXAMPLEEXAMPLE"
    return call


def accesses(call):
    return [(a.action, a.resource) for a in call.accesses]


_ = AWSResponse  # botocore's response type, for readers: nothing is answered, the send is interrupted


def test_s3_object_operations():
    assert accesses(sent("s3", "head_object", Bucket="in", Key="a b/ü+x.jpg")) == [
        ("s3:GetObject", "arn:aws:s3:::in/a b/ü+x.jpg")
    ]
    call = sent("s3", "get_object", Bucket="in", Key="k.jpg", VersionId="v1", Range="bytes=0-9")
    assert call.operation == "GetObject"
    assert accesses(call) == [("s3:GetObjectVersion", "arn:aws:s3:::in/k.jpg")]
    assert call.accesses[0].context["s3:versionid"] == "v1"
    call = sent("s3", "put_object", Bucket="res", Key="results/dt=1/x.json", Body=b"{}")
    assert (call.operation, accesses(call)) == (
        "PutObject",
        [("s3:PutObject", "arn:aws:s3:::res/results/dt=1/x.json")],
    )
    assert call.accesses[0].context["s3:tlsversion"] == "1.3"
    assert accesses(sent("s3", "delete_object", Bucket="b", Key="k")) == [
        ("s3:DeleteObject", "arn:aws:s3:::b/k")
    ]
    assert accesses(sent("s3", "delete_object", Bucket="b", Key="k", VersionId="v")) == [
        ("s3:DeleteObjectVersion", "arn:aws:s3:::b/k")
    ]
    copy = sent("s3", "copy_object", Bucket="b", Key="dst", CopySource={"Bucket": "a", "Key": "src"})
    assert accesses(copy) == [("s3:PutObject", "arn:aws:s3:::b/dst"), ("s3:GetObject", "arn:aws:s3:::a/src")]
    assert accesses(sent("s3", "get_object_tagging", Bucket="b", Key="k")) == [
        ("s3:GetObjectTagging", "arn:aws:s3:::b/k")
    ]
    deleted = sent("s3", "delete_objects", Bucket="b", Delete={"Objects": [{"Key": "x"}, {"Key": "y&z"}]})
    assert accesses(deleted) == [
        ("s3:DeleteObject", "arn:aws:s3:::b/x"),
        ("s3:DeleteObject", "arn:aws:s3:::b/y&z"),
    ]


def test_s3_bucket_operations():
    listing = sent("s3", "list_objects_v2", Bucket="in", Prefix="up/")
    assert (listing.operation, accesses(listing)) == ("ListObjectsV2", [("s3:ListBucket", "arn:aws:s3:::in")])
    assert listing.accesses[0].context["s3:prefix"] == "up/"
    assert accesses(sent("s3", "list_object_versions", Bucket="in")) == [
        ("s3:ListBucketVersions", "arn:aws:s3:::in")
    ]
    assert accesses(sent("s3", "head_bucket", Bucket="in")) == [("s3:ListBucket", "arn:aws:s3:::in")]
    assert accesses(sent("s3", "list_buckets")) == [("s3:ListAllMyBuckets", "*")]
    assert accesses(
        sent("s3", "put_bucket_notification_configuration", Bucket="in", NotificationConfiguration={})
    ) == [("s3:PutBucketNotification", "arn:aws:s3:::in")]
    assert accesses(sent("s3", "get_bucket_policy", Bucket="in")) == [
        ("s3:GetBucketPolicy", "arn:aws:s3:::in")
    ]


def test_s3_virtual_hosted_style():
    virtual = Config(s3={"addressing_style": "virtual"}, retries={"max_attempts": 1})
    call = sent(
        "s3",
        "get_object",
        Bucket="photos",
        Key="a/b.jpg",
        endpoint="https://s3.amazonaws.com",
        config=virtual,
    )
    assert accesses(call) == [("s3:GetObject", "arn:aws:s3:::photos/a/b.jpg")]
    call = sent("s3", "list_objects_v2", Bucket="photos", endpoint="https://s3.amazonaws.com", config=virtual)
    assert accesses(call) == [("s3:ListBucket", "arn:aws:s3:::photos")]


def test_presigned_s3_url_is_attributed_to_its_signer():
    client = boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id="ASIAPRESIGNER",
        aws_secret_access_key="s",
    )
    url = urlsplit(client.generate_presigned_url("get_object", Params={"Bucket": "in", "Key": "k.jpg"}))
    call = classify("GET", url.path, url.query, {"host": url.netloc}, b"", account=ACCOUNT)
    assert call.access_key_id == "ASIAPRESIGNER" and call.presigned
    assert accesses(call) == [("s3:GetObject", "arn:aws:s3:::in/k.jpg")]
    assert call.accesses[0].context["s3:authtype"] == "REST-QUERY-STRING"


def test_sqs_json_protocol():
    url = f"{ENDPOINT}/{ACCOUNT}/ingest"
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:ingest"
    call = sent("sqs", "receive_message", QueueUrl=url)
    assert (call.protocol, call.operation, accesses(call)) == (
        "json",
        "ReceiveMessage",
        [("sqs:ReceiveMessage", arn)],
    )
    assert accesses(sent("sqs", "send_message", QueueUrl=url, MessageBody="x")) == [("sqs:SendMessage", arn)]
    batch = sent("sqs", "delete_message_batch", QueueUrl=url, Entries=[{"Id": "1", "ReceiptHandle": "r"}])
    assert accesses(batch) == [("sqs:DeleteMessage", arn)]
    assert accesses(
        sent("sqs", "change_message_visibility", QueueUrl=url, ReceiptHandle="r", VisibilityTimeout=0)
    ) == [("sqs:ChangeMessageVisibility", arn)]
    assert accesses(sent("sqs", "get_queue_url", QueueName="ingest")) == [("sqs:GetQueueUrl", arn)]


def test_sns_query_protocol():
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts"
    call = sent("sns", "publish", TopicArn=topic, Message="m")
    assert (call.protocol, accesses(call)) == ("query", [("sns:Publish", topic)])
    assert accesses(sent("sns", "create_topic", Name="alerts")) == [("sns:CreateTopic", topic)]


def test_dynamodb_step_functions_kms_logs_rekognition():
    table = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/claims"
    assert accesses(sent("dynamodb", "put_item", TableName="claims", Item={"pk": {"S": "a"}})) == [
        ("dynamodb:PutItem", table)
    ]
    assert accesses(
        sent("dynamodb", "query", TableName="claims", IndexName="byKey", KeyConditionExpression="a")
    ) == [("dynamodb:Query", f"{table}/index/byKey")]
    transact = sent(
        "dynamodb",
        "transact_write_items",
        TransactItems=[
            {"Put": {"TableName": "claims", "Item": {"pk": {"S": "a"}}}},
            {"Delete": {"TableName": "other", "Key": {"pk": {"S": "b"}}}},
        ],
    )
    assert accesses(transact) == [
        ("dynamodb:PutItem", table),
        ("dynamodb:DeleteItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/other"),
    ]
    machine = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:wf"
    assert accesses(sent("stepfunctions", "start_sync_execution", stateMachineArn=machine, input="[]")) == [
        ("states:StartSyncExecution", machine)
    ]
    execution = f"arn:aws:states:us-east-1:{ACCOUNT}:execution:wf:1"
    assert accesses(sent("stepfunctions", "describe_execution", executionArn=execution)) == [
        ("states:DescribeExecution", execution)
    ]
    decrypt = sent("kms", "decrypt", CiphertextBlob=b"x", KeyId="alias/topics", EncryptionContext={"a": "b"})
    assert accesses(decrypt) == [("kms:Decrypt", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/topics")]
    assert decrypt.accesses[0].context["kms:encryptioncontext:a"] == "b"
    put = sent(
        "logs",
        "put_log_events",
        logGroupName="/lw/detect",
        logStreamName="s",
        logEvents=[{"timestamp": 1, "message": "m"}],
    )
    assert accesses(put) == [
        ("logs:PutLogEvents", f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/lw/detect:log-stream:s")
    ]
    model = f"arn:aws:rekognition:us-east-1:{ACCOUNT}:project/p/version/p.1/1"
    detect = sent(
        "rekognition",
        "detect_custom_labels",
        ProjectVersionArn=model,
        Image={"S3Object": {"Bucket": "input", "Name": "a.jpg", "Version": "v"}},
    )
    assert accesses(detect) == [
        ("rekognition:DetectCustomLabels", model),
        ("s3:GetObjectVersion", "arn:aws:s3:::input/a.jpg"),
    ]


def test_lambda_rest_and_cloudwatch_cbor():
    function = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:detect"
    call = sent("lambda", "invoke", FunctionName="detect", Payload=b"{}")
    assert (call.operation, accesses(call)) == ("Invoke", [("lambda:InvokeFunction", function)])
    assert accesses(sent("lambda", "invoke", FunctionName=f"{function}:live")) == [
        ("lambda:InvokeFunction", f"{function}:live")
    ]
    assert accesses(sent("lambda", "invoke", FunctionName="detect", Qualifier="3")) == [
        ("lambda:InvokeFunction", f"{function}:3")
    ]
    assert accesses(sent("lambda", "get_function_configuration", FunctionName="detect")) == [
        ("lambda:GetFunctionConfiguration", function)
    ]
    metrics = sent(
        "cloudwatch", "put_metric_data", Namespace="Labelwatch", MetricData=[{"MetricName": "m", "Value": 1}]
    )
    assert (metrics.operation, accesses(metrics)) == ("PutMetricData", [("cloudwatch:PutMetricData", "*")])


def test_get_caller_identity_needs_no_permission_and_unsigned_requests_are_not_classified():
    assert sent("sts", "get_caller_identity").accesses == []
    assert classify("GET", "/in/k", "", {"host": "127.0.0.1"}, b"", account=ACCOUNT) is None
