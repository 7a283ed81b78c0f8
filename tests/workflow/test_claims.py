"""Claims when deliveries race or outlive an execution: no image is lost, none alerts twice.

A claim is one SQS receive's lease on an upload event (docs/contracts.md, "Claims"). These tests
drive the cases the lease is for with the Pipe's own records: an execution that dies without its
Catch (its time limit, fast-forwarded), SQS's DLQ redrive (the same body as a new message), a
message received twice at once, and another delivery while the claim's execution is alive. Every
wait is on a condition; the only clock is the lease's, waited out for the takeover test.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid

import pytest

from labelwatch.local.server import wait_for
from statemachine.definition import DEFAULT_CLAIM_LEASE_SECONDS
from tests.workflow.conftest import leaf_image, scripted_predictor
from tests.workflow.helpers import execution_history_states, result_objects, upload

pytestmark = pytest.mark.slow

WAIT = 120  # generous: the bound only ends a broken run


def with_claim_lease(template: dict, seconds: int) -> dict:
    """The template with ClaimImage's lease shortened (a test cannot wait out minutes)."""
    changed = copy.deepcopy(template)
    old = f'":lease":{{"N":"{DEFAULT_CLAIM_LEASE_SECONDS * 1000}"}}'
    new = f'":lease":{{"N":"{seconds * 1000}"}}'
    (machine,) = [
        resource
        for resource in changed["Resources"].values()
        if resource["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    (index,) = [n for n, part in enumerate(parts) if isinstance(part, str) and old in part]
    parts[index] = parts[index].replace(old, new)
    return changed


def claims(stack) -> list[dict]:
    return stack.client("dynamodb").scan(TableName=stack.outputs["ClaimsTableName"], ConsistentRead=True)[
        "Items"
    ]


def dies_in_detection(stack, model) -> None:
    """The first model call ends its execution as the 5-minute limit would: no Catch, the claim stays."""
    predict = model.predictor
    calls = []

    def predictor(image):
        calls.append(image)
        if len(calls) == 1:
            assert stack.emulator.time_out_executions() == 1
        return predict(image)

    model.predictor = predictor


def held_in_detection(model) -> tuple[threading.Event, threading.Event]:
    """The first model call waits, its execution alive, until ``release`` is set."""
    entered, release = threading.Event(), threading.Event()
    predict = model.predictor
    first = threading.Lock()

    def predictor(image):
        if first.acquire(blocking=False):
            entered.set()
            assert release.wait(WAIT)
        return predict(image)

    model.predictor = predictor
    return entered, release


def redrive_as_a_new_message(stack) -> None:
    """What SQS's own DLQ redrive does with the message: its body comes back as a new message, with
    a new message id (and a new first receive)."""
    sqs = stack.client("sqs")
    url = stack.outputs["IngestQueueUrl"]
    stack.emulator.expire_visibility_timeouts(url)
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    sqs.send_message(QueueUrl=url, MessageBody=message["Body"])


def start(stack, records: list[dict]) -> str:
    """Start the workflow with the Pipe's records, as the Pipe does."""
    return stack.client("stepfunctions").start_execution(
        stateMachineArn=stack.pipe().spec.target_state_machine_arn,
        name=f"test-{uuid.uuid4()}",
        input=json.dumps(records),
    )["executionArn"]


def ended(stack, execution_arn: str) -> dict:
    description = stack.emulator.execution_ends.wait(execution_arn, WAIT)
    assert description is not None, f"{execution_arn} still running"
    return description


def test_a_claim_left_by_a_dead_execution_is_taken_over_after_its_lease_by_a_redrive(
    emulator, template, inbox_for
):
    stack = emulator.deploy(with_claim_lease(template, 1))
    model = emulator.models.register(
        stack.detect_environment()["MODEL_ARN"], scripted_predictor, running=True
    )
    inbox = inbox_for(stack)
    dies_in_detection(stack, model)
    upload(stack, "orphan.jpg", leaf_image("leaf-smut"))

    died = stack.pipe().run_once(wait=False)
    assert died.status == "TIMED_OUT"
    (claim,) = claims(stack)
    assert claim["status"]["S"] == "claimed", "the dead execution's claim stays"
    redrive_as_a_new_message(stack)
    lease_until = int(claim.get("leaseUntil", {"N": "0"})["N"])
    assert wait_for(lambda: time.time() * 1000 > lease_until, timeout=WAIT, interval=0.05)

    (redriven,) = stack.pipe().drain()

    assert redriven.message_ids != died.message_ids
    assert "SkipDuplicate" not in execution_history_states(stack, redriven.execution_arn)
    assert len(result_objects(stack)) == 1 and len(inbox.messages()) == 1, "processed once, alerted once"
    (claim,) = claims(stack)
    assert claim["status"]["S"] == "done" and claim["messageId"]["S"] == redriven.message_ids[0]


def test_the_same_message_back_after_its_execution_died_is_processed_once(stack, model, inbox):
    dies_in_detection(stack, model)
    upload(stack, "died-once.jpg", leaf_image("leaf-smut"))
    pipe = stack.pipe()
    died = pipe.run_once(wait=False)
    assert died.status == "TIMED_OUT"
    stack.emulator.expire_visibility_timeouts(stack.outputs["IngestQueueUrl"])

    (again,) = pipe.drain()

    assert again.message_ids == died.message_ids, "SQS redelivered the same message (receive count 2)"
    assert len(result_objects(stack)) == 1 and len(inbox.messages()) == 1


def test_a_message_received_twice_at_once_alerts_once(stack, model, inbox):
    entered, release = held_in_detection(model)
    upload(stack, "received-twice.jpg", leaf_image("leaf-smut"))
    pipe = stack.pipe()
    records = pipe.to_pipe_records(pipe.receive_batch(wait=False))
    assert len(records) == 1

    first = start(stack, records)
    assert entered.wait(WAIT), "the first execution is in DetectLabels, alive"
    second = start(stack, records)  # the same receive of the same message, handed over twice
    second_end = ended(stack, second)
    release.set()
    first_end = ended(stack, first)

    assert (first_end["status"], second_end["status"]) == ("SUCCEEDED", "SUCCEEDED")
    assert "SkipDuplicate" in execution_history_states(stack, second)
    assert len(inbox.messages()) == 1 and len(result_objects(stack)) == 1


def test_another_delivery_while_the_claim_is_alive_is_skipped(stack, model, inbox):
    entered, release = held_in_detection(model)
    upload(stack, "delivered-twice.jpg", leaf_image("leaf-smut"))
    pipe = stack.pipe()
    (message,) = pipe.receive_batch(wait=False)
    first = start(stack, pipe.to_pipe_records([message]))
    assert entered.wait(WAIT)
    # EventBridge delivers at least once: the same event as a second message, within the lease
    stack.client("sqs").send_message(QueueUrl=stack.outputs["IngestQueueUrl"], MessageBody=message["Body"])

    duplicate = pipe.run_once(wait=False)
    release.set()
    ended(stack, first)

    assert duplicate.message_ids != [message["MessageId"]]
    assert "SkipDuplicate" in execution_history_states(stack, duplicate.execution_arn)
    assert len(inbox.messages()) == 1 and len(result_objects(stack)) == 1
