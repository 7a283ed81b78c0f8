"""The twin's calls to itself skip the socket, and nothing else about them changes.

The interpreter's tasks, the Pipe and provisioning are served in the twin's process
(``labelwatch.local.in_process``): the same signed request reaches the same authorizer and moto, so
the answers, the refusals and the error codes are those a client over HTTP gets.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from labelwatch.local.emulator import Emulator

pytestmark = pytest.mark.xdist_group("local-stack")

KEYS = ["plain.jpg", "field 7/ünïcode + plus.jpg", "line\nbreak.jpg", "pct%20not-decoded.jpg"]


@pytest.fixture
def deployed(template):
    with Emulator() as emulator:
        yield emulator, emulator.deploy(template)


def test_answers_are_the_same_in_process_and_over_http(deployed):
    emulator, stack = deployed
    bucket = stack.outputs["InputBucketName"]
    over_http, in_process = emulator.client("s3"), emulator.internal_client("s3")
    served_before = emulator.transport.requests

    for key in KEYS:
        in_process.put_object(Bucket=bucket, Key=key, Body=b"\xff\xd8 bytes of " + key.encode())
    listed = over_http.list_objects_v2(Bucket=bucket)["Contents"]
    assert sorted(item["Key"] for item in listed) == sorted(KEYS), "keys arrive exactly as sent"
    for key in KEYS:
        http_object = over_http.get_object(Bucket=bucket, Key=key, Range="bytes=2-")
        local_object = in_process.get_object(Bucket=bucket, Key=key, Range="bytes=2-")
        assert local_object["Body"].read() == http_object["Body"].read() == b" bytes of " + key.encode()
        assert local_object["ContentRange"] == http_object["ContentRange"]
        assert in_process.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(key.encode()) + 12
    assert emulator.transport.requests - served_before == len(KEYS) * 3, "served without the socket"

    queue = stack.outputs["FailureDlqUrl"]
    body = '{"image": "s3://bucket/ünïcode key.jpg"}'
    emulator.internal_client("sqs").send_message(
        QueueUrl=queue, MessageBody=body, MessageAttributes={"n": {"DataType": "Number", "StringValue": "7"}}
    )
    (message,) = emulator.client("sqs").receive_message(QueueUrl=queue, MessageAttributeNames=["All"])[
        "Messages"
    ]
    assert message["Body"] == body and message["MessageAttributes"]["n"]["StringValue"] == "7"


def test_a_refusal_in_process_is_the_refusal_over_http(deployed):
    emulator, stack = deployed
    detect_role = next(
        resource.properties["Role"]
        for resource in stack.provisioned.resources.values()
        if resource.type == "AWS::Lambda::Function"
    )
    results = stack.outputs["ResultsBucketName"]
    codes = []
    for in_process in (False, True):
        s3 = emulator.clients_for(detect_role, in_process=in_process)("s3")
        with pytest.raises(ClientError) as refused:
            s3.put_object(Bucket=results, Key="not-the-detect-functions-to-write.json", Body=b"{}")
        error = refused.value.response
        codes.append((error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]))
    assert codes[0] == codes[1] == ("AccessDenied", 403)


def test_a_stopped_twin_serves_nothing_in_process(template):
    emulator = Emulator().start()
    client = emulator.internal_client("sqs")
    emulator.stop()
    with pytest.raises(Exception) as failed:  # botocore's connection error, as for any stopped endpoint
        client.list_queues()
    assert "Could not connect" in str(failed.value) or "Connection" in type(failed.value).__name__
