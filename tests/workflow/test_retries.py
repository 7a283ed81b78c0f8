"""Transient AWS errors, named as AWS names them, are retried by the workflow instead of failing an image."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from labelwatch.local.faults import Faults
from tests.workflow.conftest import leaf_image
from tests.workflow.helpers import drain_queue, result_objects, upload

pytestmark = pytest.mark.slow


def test_the_twins_dynamodb_fault_answers_as_dynamodb_does(stack):
    faults = stack.emulator.inject(Faults(dynamodb_fail_from=1, dynamodb_fail_count=1))
    table = stack.outputs["ClaimsTableName"]
    item = {"pk": {"S": "fault-test"}}
    # Without SDK retries, as the workflow's task clients call DynamoDB
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=stack.emulator.endpoint,
        region_name=stack.region,
        config=Config(retries={"total_max_attempts": 1}),
    )

    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(TableName=table, Item=item)
    dynamodb.put_item(TableName=table, Item=item)  # the outage was one write long

    assert refused.value.response["Error"]["Code"] == "InternalServerError"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert (faults.dynamodb_writes, faults.dynamodb_failures) == (2, 1)


def test_a_dynamodb_internal_error_on_the_claim_is_retried_and_the_image_alerts_once(
    stack, model, inbox, retry_waits
):
    # The first DynamoDB write of the run is ClaimImage's: DynamoDB answers InternalServerError (500).
    stack.emulator.inject(Faults(dynamodb_fail_from=1, dynamodb_fail_count=1))
    upload(stack, "claim-hiccup.jpg", leaf_image("leaf-smut"))

    stack.pipe().drain()

    assert drain_queue(stack, "FailureDlqUrl") == [], "a transient error is no failure"
    assert len(result_objects(stack)) == 1 and len(inbox.messages()) == 1
    assert len(retry_waits.waits) == 1, "ClaimImage was retried once"


def test_a_claim_whose_answer_was_lost_is_retried_by_its_own_receive_and_the_image_alerts_once(
    stack, model, inbox, retry_waits
):
    """DynamoDB wrote the claim but the answer was a 500: the retry by the same receive of the same
    execution finds its own claim. Before, the condition refused it as a duplicate and the image
    ended as SkipDuplicate, with no outcome."""
    faults = stack.emulator.inject(
        Faults(dynamodb_fail_from=1, dynamodb_fail_count=1, dynamodb_fail_after_write=True)
    )
    upload(stack, "claim-answer-lost.jpg", leaf_image("leaf-smut"))

    stack.pipe().drain()

    assert faults.dynamodb_failures == 1 and len(retry_waits.waits) == 1, "ClaimImage was retried once"
    assert drain_queue(stack, "FailureDlqUrl") == []
    assert len(result_objects(stack)) == 1 and len(inbox.messages()) == 1
