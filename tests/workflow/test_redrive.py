"""`labelwatch dlq list|redrive` against the executed workflow: nothing lost, nothing sent twice."""

from __future__ import annotations

import json

import pytest

from labelwatch import dlq
from tests.workflow.conftest import leaf_image
from tests.workflow.helpers import drain_queue, result_objects, upload

pytestmark = pytest.mark.slow


def fail_once(stack, key: str) -> None:
    """An image the workflow gives up on (the model refuses access), then the cause is fixed."""
    stack.emulator.models.fault = lambda arn: "AccessDeniedException"
    upload(stack, key, leaf_image("leaf-smut"))
    stack.pipe().drain()
    stack.emulator.models.fault = None


def test_list_shows_the_image_the_error_and_when_and_leaves_the_message(stack, model):
    fail_once(stack, "field 1/leaf+1.jpg")

    (letter,) = dlq.list_dead_letters(stack.client, stack.outputs)
    assert letter.queue == dlq.FAILURE
    assert letter.image == f"s3://{stack.outputs['InputBucketName']}/field 1/leaf+1.jpg"
    assert letter.error == "DetectorMisconfigured" and "AccessDeniedException" in letter.cause
    assert letter.when.startswith("20") and letter.execution
    assert letter.redrives == 0
    assert [again.id for again in dlq.list_dead_letters(stack.client, stack.outputs)] == [letter.id]


def test_redrive_processes_the_image_once_and_empties_the_dlq(stack, model, inbox):
    fail_once(stack, "retry-me.jpg")
    assert result_objects(stack) == []

    report = dlq.redrive(stack.client, stack.outputs)
    stack.pipe().drain()

    assert [letter.image.rsplit("/", 1)[1] for letter in report.sent] == ["retry-me.jpg"]
    assert len(result_objects(stack)) == 1
    assert len(inbox.messages()) == 1, "one alert"
    assert dlq.list_dead_letters(stack.client, stack.outputs) == []


def test_redrive_by_id_prefix_leaves_the_others(stack, model):
    fail_once(stack, "a.jpg")
    fail_once(stack, "b.jpg")
    letters = {
        letter.image.rsplit("/", 1)[1]: letter
        for letter in dlq.list_dead_letters(stack.client, stack.outputs)
    }

    report = dlq.redrive(stack.client, stack.outputs, [letters["a.jpg"].id[:8], "nope"])

    assert [letter.id for letter in report.sent] == [letters["a.jpg"].id]
    assert report.unknown_ids == ["nope"]
    remaining = dlq.list_dead_letters(stack.client, stack.outputs)
    assert [letter.id for letter in remaining] == [letters["b.jpg"].id]


def test_redrive_releases_a_claim_left_behind_by_a_dead_execution(stack, model, inbox, aws):
    fail_once(stack, "stuck.jpg")
    (letter,) = dlq.list_dead_letters(stack.client, stack.outputs)
    table = stack.outputs["ClaimsTableName"]
    # An execution that hit the 5-minute timeout never ran its Catch: its claim stays 'claimed'.
    aws("dynamodb").put_item(
        TableName=table,
        Item={"pk": {"S": letter.claim_key}, "status": {"S": "claimed"}, "messageId": {"S": "x"}},
    )

    report = dlq.redrive(stack.client, stack.outputs)
    stack.pipe().drain()

    assert report.claims_released == [letter.claim_key]
    assert len(result_objects(stack)) == 1 and len(inbox.messages()) == 1


def test_redriving_an_image_that_was_processed_after_all_sends_nothing_twice(stack, model, inbox, aws):
    upload(stack, "done.jpg", leaf_image("leaf-smut"))
    stack.pipe().drain()
    assert len(inbox.messages()) == 1
    (claim,) = aws("dynamodb").scan(TableName=stack.outputs["ClaimsTableName"])["Items"]
    # The same event shows up in the ingest DLQ (say SQS gave up on a duplicate delivery of it).
    event = _event_of_claim(stack, claim)
    aws("sqs").send_message(QueueUrl=stack.outputs["IngestDlqUrl"], MessageBody=json.dumps(event))

    report = dlq.redrive(stack.client, stack.outputs)
    stack.pipe().drain()

    assert [letter.queue for letter in report.already_done] == [dlq.INGEST]
    assert inbox.messages() == [] and len(result_objects(stack)) == 1
    assert drain_queue(stack, "IngestDlqUrl") == []


def test_redrive_of_an_ingest_dlq_event_processes_it(stack, model, inbox, aws):
    stack.emulator.models.stop(model.arn)
    upload(stack, "waited-too-long.jpg", leaf_image("leaf-smut"))
    sqs = aws("sqs")
    (message,) = sqs.receive_message(QueueUrl=stack.outputs["IngestQueueUrl"])["Messages"]
    # What SQS does after maxReceiveCount receives: the event moves to the ingest DLQ.
    sqs.send_message(QueueUrl=stack.outputs["IngestDlqUrl"], MessageBody=message["Body"])
    sqs.delete_message(QueueUrl=stack.outputs["IngestQueueUrl"], ReceiptHandle=message["ReceiptHandle"])
    (letter,) = dlq.list_dead_letters(stack.client, stack.outputs)
    assert letter.queue == dlq.INGEST and letter.image.endswith("/waited-too-long.jpg")
    stack.emulator.models.start(model.arn)

    dlq.redrive(stack.client, stack.outputs)
    stack.pipe().drain()

    assert len(result_objects(stack)) == 1 and len(inbox.messages()) == 1


def test_the_claim_key_matches_the_workflows(stack, model):
    fail_once(stack, "ké y+%2B.jpg")
    (letter,) = dlq.list_dead_letters(stack.client, stack.outputs)
    assert dlq.claim_key_of(letter.event) == letter.claim_key


def _event_of_claim(stack, claim) -> dict:
    """The S3 event of the one upload so far, rebuilt from the claim (bucket, version, sequencer)."""
    _, version_id, sequencer = claim["pk"]["S"].rsplit("#", 2)
    bucket = stack.outputs["InputBucketName"]
    return {
        "version": "0",
        "id": "redelivered",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "time": "2026-11-26T00:00:00Z",
        "detail": {
            "bucket": {"name": bucket},
            "object": {"key": "done.jpg", "size": 1, "version-id": version_id, "sequencer": sequencer},
        },
    }
