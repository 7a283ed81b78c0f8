"""The deployable state machine, executed: upload → EventBridge rule → ingest queue → Pipe → workflow."""

from __future__ import annotations

import json

import pytest

from tests.workflow.conftest import leaf_image, scripted_predictor, subscribe_queue
from tests.workflow.helpers import (
    alert_windows,
    drain_queue,
    execution_history_states,
    queue_depth,
    result_objects,
    result_records,
    upload,
    with_detect_timeout,
)

pytestmark = pytest.mark.slow


def test_alert_path_emails_subscribers_and_records_the_result(stack, model, inbox):
    version = upload(stack, "field-7/leaf 001.jpg", leaf_image("leaf-smut"))

    outcome = stack.pipe().run_once(wait=False)

    assert outcome.status == "SUCCEEDED"
    assert outcome.output == {"batchItemFailures": []}
    states = execution_history_states(stack, outcome.execution_arn)
    for name in ("ParseEvent", "ClaimImage", "DetectLabels", "WriteResult", "EvaluateLabels", "PublishAlert"):
        assert name in states

    (alert,) = inbox.messages()
    assert "leaf-smut" in alert["Subject"]
    assert json.loads(alert["MessageAttributes"]["labels"]["Value"]) == ["leaf-smut"]
    assert f"s3://{stack.outputs['InputBucketName']}/field-7/leaf 001.jpg" in alert["Message"]
    assert "93" in alert["Message"]

    records = result_records(stack)
    smut = [r for r in records if r["label"] == "leaf-smut"]
    assert len(smut) == 1 and smut[0]["alert"] is True and smut[0]["status"] == "ok"
    assert smut[0]["key"] == "field-7/leaf 001.jpg"
    assert smut[0]["execution"] == outcome.execution_arn
    assert version and {(r["version_id"], r["image_format"]) for r in records} == {(version, "jpeg")}
    assert queue_depth(stack, "IngestQueueUrl") == (0, 0)
    assert drain_queue(stack, "FailureDlqUrl") == []


def test_no_alert_path_records_the_result_and_sends_nothing(stack, model, inbox):
    upload(stack, "healthy.png", leaf_image("healthy", fmt="PNG"))

    outcome = stack.pipe().run_once(wait=False)

    assert outcome.status == "SUCCEEDED"
    assert "PublishAlert" not in execution_history_states(stack, outcome.execution_arn)
    assert inbox.messages() == []
    records = result_records(stack)
    # MinConfidence is the lowest rule threshold (70): the 3.5 % labels are not returned.
    assert [(r["label"], r["confidence"]) for r in records] == [("healthy", 93.0)]
    assert not any(r["alert"] for r in records)
    assert queue_depth(stack, "IngestQueueUrl") == (0, 0)


def test_one_batch_of_several_images_alerts_only_for_the_match(stack, model, inbox):
    kinds = ["healthy", "healthy", "leaf-smut", "healthy"]
    for number, kind in enumerate(kinds):
        upload(stack, f"batch/img-{number}.jpg", leaf_image(kind))

    outcome = stack.pipe().run_once(wait=False)

    assert len(outcome.message_ids) == 4, "the Pipe hands all four records to one execution"
    assert outcome.status == "SUCCEEDED"
    alerts = inbox.messages()
    assert len(alerts) == 1 and "batch/img-2.jpg" in alerts[0]["Message"]
    assert len(result_objects(stack)) == 4
    assert queue_depth(stack, "IngestQueueUrl") == (0, 0)


def test_subscriber_filter_policy_delivers_only_their_labels(stack, model, aws):
    topic = stack.outputs["AlertsTopicArn"]
    smut_only = subscribe_queue(aws, topic, "smut-only", {"labels": ["leaf-smut"]})
    blight_only = subscribe_queue(aws, topic, "blight-only", {"labels": ["bacterial-leaf-blight"]})
    upload(stack, "a.jpg", leaf_image("leaf-smut"))
    upload(stack, "b.jpg", leaf_image("bacterial-leaf-blight"))

    stack.pipe().drain()

    assert ["a.jpg" in m["Message"] for m in smut_only.messages()] == [True]
    assert ["b.jpg" in m["Message"] for m in blight_only.messages()] == [True]


def test_rejected_image_is_recorded_with_its_reason_not_retried(stack, model, inbox):
    upload(stack, "notes/photo.jpg", b"this is a text file, not a photo\n" * 10)

    outcome = stack.pipe().run_once(wait=False)

    assert outcome.status == "SUCCEEDED" and outcome.output == {"batchItemFailures": []}
    (record,) = result_records(stack)
    assert record["status"] == "rejected" and record["reason"] == "not-an-image"
    assert record["label"] is None and record["alert"] is False
    assert inbox.messages() == []
    assert drain_queue(stack, "FailureDlqUrl") == []
    assert model.calls == 0, "a rejected image never reaches the model"


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param(
            ["a b/c+d.jpg", "prix 100%.jpg", "déjà%20encodée.jpg", "feuille été/叶子.jpg"],
            id="spaces-plus-unicode",
        ),
        # AWS accepts any UTF-8 key, line breaks included; a hostile uploader can make such keys
        pytest.param(["line\nbreak.jpg", "carriage\rreturn.jpg", "tab\tand\x7fdel.jpg"], id="control-chars"),
    ],
)
def test_keys_reach_the_right_object_end_to_end(stack, model, inbox, keys):
    for key in keys:
        upload(stack, key, leaf_image("leaf-smut"))

    stack.pipe().drain()

    records = result_records(stack)
    recorded = {r["key"] for r in records if r["label"] == "leaf-smut"}
    assert recorded == set(keys)
    # one alert per folder (and hour: flood control), whatever the key's characters
    assert len(inbox.messages()) == alert_windows(records) >= len({key[: key.rfind("/") + 1] for key in keys})


def test_a_detection_over_the_functions_timeout_is_killed_and_retried(emulator, template, inbox_for):
    """The detect function's configured Timeout is enforced: the environment is killed (Sandbox.Timedout)
    and the workflow's retry runs it again in a fresh one."""
    import threading

    from labelwatch.local.server import wait_for

    stack = emulator.deploy(with_detect_timeout(template, 2))
    detect = stack.detect_function()
    assert emulator.client("lambda").get_function_configuration(FunctionName=detect)["Timeout"] == 2
    calls = []
    timed_out = threading.Event()

    def slow_first_call(image):
        calls.append(1)
        if len(calls) == 1:  # held until the runtime has killed the invocation waiting for it
            wait_for(lambda: emulator.functions.stats()[detect].timeouts > 0, timeout=120, interval=0.05)
            timed_out.set()
        return scripted_predictor(image)

    emulator.models.register(stack.detect_environment()["MODEL_ARN"], slow_first_call, running=True)
    inbox = inbox_for(stack)
    upload(stack, "slow.jpg", leaf_image("leaf-smut"))

    stack.pipe().drain()

    # the killed invocation's model call may still be returning on its thread: wait for it
    assert timed_out.wait(60) and emulator.functions.stats()[detect].timeouts == 1
    (record,) = result_records(stack)
    assert record["key"] == "slow.jpg" and record["status"] == "ok"
    assert len(inbox.messages()) == 1
    assert drain_queue(stack, "FailureDlqUrl") == []


def test_an_image_that_times_out_twice_is_not_tried_a_third_time(emulator, template, inbox_for):
    """Each attempt costs the function's whole timeout, and what is slow once is slow again: one
    retry in a fresh environment, then the failure DLQ with the error (it was three retries)."""
    from labelwatch.local.server import wait_for

    stack = emulator.deploy(with_detect_timeout(template, 2))
    detect = stack.detect_function()
    calls = []

    def always_too_slow(image):
        calls.append(1)
        seen = len(calls)
        wait_for(lambda: emulator.functions.stats()[detect].timeouts >= seen, timeout=120, interval=0.05)
        return scripted_predictor(image)

    emulator.models.register(stack.detect_environment()["MODEL_ARN"], always_too_slow, running=True)
    inbox = inbox_for(stack)
    upload(stack, "slow.jpg", leaf_image("leaf-smut"))

    stack.pipe().drain()

    assert emulator.functions.stats()[detect].timeouts == 2
    (letter,) = drain_queue(stack, "FailureDlqUrl")
    assert "Sandbox.Timedout" in json.dumps(letter)
    assert result_records(stack) == [] and inbox.messages() == []


def test_throttling_that_clears_is_retried_with_backoff(stack, model, inbox, retry_waits):
    throttles = iter(["ThrottlingException", "ProvisionedThroughputExceededException"])
    stack.emulator.models.fault = lambda arn: next(throttles, None)
    upload(stack, "busy.jpg", leaf_image("leaf-smut"))

    outcome = stack.pipe().run_once(wait=False)

    assert outcome.status == "SUCCEEDED"
    assert len(inbox.messages()) == 1
    assert len(result_objects(stack)) == 1
    # Two retries of DetectLabels, full jitter: each wait in [0, 2 * 2**n] seconds.
    assert len(retry_waits.waits) == 2
    assert 0 <= retry_waits.waits[0] <= 2 and 0 <= retry_waits.waits[1] <= 4
    assert drain_queue(stack, "FailureDlqUrl") == []


def test_throttling_that_outlasts_the_retries_goes_back_to_the_queue_not_to_a_dlq(
    stack, model, inbox, retry_waits, aws
):
    stack.emulator.models.fault = lambda arn: "ThrottlingException"
    upload(stack, "always-busy.jpg", leaf_image("leaf-smut"))

    outcome = stack.pipe().run_once(wait=False)

    (message_id,) = outcome.message_ids
    assert outcome.output == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    assert len(retry_waits.waits) == 2, "two retries with backoff first (the retry budget)"
    assert 0 <= retry_waits.waits[0] <= 2 and 0 <= retry_waits.waits[1] <= 4
    assert drain_queue(stack, "FailureDlqUrl") == [], "overload is not a failure"
    assert inbox.messages() == [] and result_objects(stack) == []
    table_name = stack.outputs["ClaimsTableName"]
    assert aws("dynamodb").scan(TableName=table_name)["Items"] == [], "the claim was released"
    assert queue_depth(stack, "IngestQueueUrl") == (0, 1), "waiting on the queue for the visibility timeout"

    stack.emulator.models.fault = None  # the burst is over
    _make_all_visible(stack, stack.outputs["IngestQueueUrl"])
    stack.pipe().drain()
    assert len(inbox.messages()) == 1 and len(result_objects(stack)) == 1


def test_an_unexpected_error_goes_to_the_failure_dlq_with_context(stack, model, inbox, aws):
    stack.emulator.models.fault = lambda arn: "AccessDeniedException"
    upload(stack, "denied.jpg", leaf_image("leaf-smut"))

    outcome = stack.pipe().run_once(wait=False)

    assert outcome.status == "SUCCEEDED" and outcome.output == {"batchItemFailures": []}
    (failure,) = drain_queue(stack, "FailureDlqUrl")
    assert failure["error"] == "DetectorMisconfigured"
    assert "AccessDeniedException" in failure["cause"]
    assert failure["image"] == f"s3://{stack.outputs['InputBucketName']}/denied.jpg"
    assert failure["execution"] == outcome.execution_arn
    assert failure["event"]["detail"]["object"]["key"] == "denied.jpg"
    assert failure["claimKey"].startswith(f"s3://{stack.outputs['InputBucketName']}#")
    assert inbox.messages() == [] and result_objects(stack) == []
    table_name = stack.outputs["ClaimsTableName"]
    assert aws("dynamodb").scan(TableName=table_name)["Items"] == [], "released, so a redrive can do the work"
    assert queue_depth(stack, "IngestQueueUrl") == (0, 0), "the image is accounted for in the DLQ"


def test_model_not_running_leaves_only_that_record_on_the_queue(stack, model, inbox):
    upload(stack, "first.jpg", leaf_image("healthy"))
    first = stack.pipe().run_once(wait=False)
    assert first.status == "SUCCEEDED"
    stack.emulator.models.stop(model.arn)
    upload(stack, "while-stopped.jpg", leaf_image("leaf-smut"))

    outcome = stack.pipe().run_once(wait=False)

    assert outcome.status == "SUCCEEDED"
    assert outcome.output["batchItemFailures"] == [{"itemIdentifier": outcome.message_ids[0]}]
    assert outcome.left_on_queue == outcome.message_ids
    assert queue_depth(stack, "IngestQueueUrl") == (0, 1), "invisible until the visibility timeout"
    assert drain_queue(stack, "FailureDlqUrl") == []
    assert len(result_objects(stack)) == 1 and inbox.messages() == []


def test_model_not_running_in_a_mixed_batch_fails_only_that_record(stack, model, inbox):
    calls = iter(["ResourceNotReadyException"])  # the model stops for exactly one call
    stack.emulator.models.fault = lambda arn: next(calls, None)
    for number in range(3):
        upload(stack, f"mixed-{number}.jpg", leaf_image("healthy"))

    outcome = stack.pipe().run_once(wait=False)

    failures = outcome.output["batchItemFailures"]
    assert len(failures) == 1 and failures[0]["itemIdentifier"] in outcome.message_ids
    assert len(outcome.deleted) == 2
    assert len(result_objects(stack)) == 2
    assert queue_depth(stack, "IngestQueueUrl") == (0, 1)


def test_redelivered_model_not_ready_record_is_processed_once_the_model_runs(stack, model, inbox, aws):
    stack.emulator.models.stop(model.arn)
    upload(stack, "waits.jpg", leaf_image("leaf-smut"))
    pipe = stack.pipe()
    first = pipe.run_once(wait=False)
    assert first.left_on_queue == first.message_ids
    # SQS makes the message visible again after the visibility timeout; simulate its expiry.
    stack.emulator.models.start(model.arn)
    _make_all_visible(stack, stack.outputs["IngestQueueUrl"])

    second = pipe.run_once(wait=False)

    assert second.message_ids == first.message_ids, "the same SQS message came back"
    assert second.output == {"batchItemFailures": []}
    assert len(inbox.messages()) == 1 and len(result_objects(stack)) == 1


def test_the_same_upload_event_delivered_twice_alerts_once(stack, model, inbox, aws):
    upload(stack, "dup.jpg", leaf_image("leaf-smut"))
    pipe = stack.pipe()
    queue_url = stack.outputs["IngestQueueUrl"]
    (original,) = aws("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    _make_all_visible(stack, queue_url)
    # EventBridge delivers at least once: the same event arrives as a second SQS message.
    aws("sqs").send_message(QueueUrl=queue_url, MessageBody=original["Body"])

    first = pipe.run_once(wait=False)
    later = pipe.drain()

    assert sum(len(batch.message_ids) for batch in [first, *later]) == 2
    assert len(inbox.messages()) == 1
    assert len(result_objects(stack)) == 1
    assert len([r for r in result_records(stack) if r["label"] == "leaf-smut"]) == 1
    assert queue_depth(stack, "IngestQueueUrl") == (0, 0), "the duplicate is consumed, not retried"


def test_duplicate_delivery_in_separate_batches_is_skipped(stack, model, inbox, aws):
    upload(stack, "dup2.jpg", leaf_image("leaf-smut"))
    queue_url = stack.outputs["IngestQueueUrl"]
    (original,) = aws("sqs").receive_message(QueueUrl=queue_url)["Messages"]
    _make_all_visible(stack, queue_url)
    pipe = stack.pipe()
    pipe.run_once(wait=False)

    aws("sqs").send_message(QueueUrl=queue_url, MessageBody=original["Body"])
    repeat = pipe.run_once(wait=False)

    assert "SkipDuplicate" in execution_history_states(stack, repeat.execution_arn)
    assert len(inbox.messages()) == 1 and len(result_objects(stack)) == 1


def test_a_new_upload_of_the_same_key_is_a_new_event(stack, model, inbox):
    upload(stack, "same-key.jpg", leaf_image("leaf-smut"))
    stack.pipe().drain()
    upload(stack, "same-key.jpg", leaf_image("leaf-smut"))
    stack.pipe().drain()

    assert len(result_objects(stack)) == 2
    records = [r for r in result_records(stack) if r["label"] == "leaf-smut"]
    assert len({r["version_id"] for r in records}) == 2  # two uploads, each recorded
    # within the hour the second is held back by flood control (suppressed), else alerted too
    assert len(inbox.messages()) == alert_windows(records)


def _make_all_visible(stack, queue_url: str) -> None:
    """What the visibility timeout's expiry does: in-flight messages become receivable again."""
    stack.emulator.expire_visibility_timeouts(queue_url)


def test_a_key_of_1024_bytes_of_unicode_is_claimed_and_processed(stack, model, inbox):
    key = "é" * 507 + "/leafx.jpg"  # S3's limit: 1,024 UTF-8 bytes (3 KB once URL-encoded)
    assert len(key.encode()) == 1024
    upload(stack, key, leaf_image("leaf-smut"))

    stack.pipe().drain()

    (record,) = result_records(stack)
    assert record["key"] == key and record["status"] == "ok"
    assert len(inbox.messages()) == 1


def test_reserved_concurrency_bounds_model_calls_and_the_excess_waits_on_the_queue(stack, model, inbox, aws):
    from labelwatch.local.server import wait_for

    def throttled() -> int:
        stats = stack.emulator.functions.stats().get(detect)
        return stats.throttled if stats else 0

    detect = stack.detect_function()
    aws("lambda").put_function_concurrency(FunctionName=detect, ReservedConcurrentExecutions=1)
    predict = model.predictor

    def busy_until_another_call_is_refused(image):
        # The running invocation keeps the one reserved slot until another one was refused for it:
        # the overlap this test is about, by construction at any speed (the bound only ends a run
        # where nothing runs concurrently, which then fails the throttling assertion below).
        wait_for(lambda: throttled() > 0, timeout=60, interval=0.01)
        return predict(image)

    model.predictor = busy_until_another_call_is_refused
    for index, kind in enumerate(["leaf-smut", "healthy", "leaf-smut", "bacterial-leaf-blight"]):
        upload(stack, f"burst/{index}.jpg", leaf_image(kind))

    for _ in range(10):  # the Pipe keeps polling; SQS redelivers what was left after its timeout
        stack.pipe().drain()
        if len(result_objects(stack)) == 4:
            break
        _make_all_visible(stack, stack.outputs["IngestQueueUrl"])

    assert stack.emulator.functions.stats()[detect].peak_concurrency == 1, "never more at once than reserved"
    assert throttled() > 0, "the burst was throttled"
    assert len(result_objects(stack)) == 4, "and still every image was processed"
    # two leaf-smut in burst/ (one alert, the other held back unless an hour began between them) and
    # one blight: no image alerted twice
    assert len(inbox.messages()) == alert_windows(result_records(stack)) in (2, 3)
    assert drain_queue(stack, "FailureDlqUrl") == []


def test_an_image_deleted_before_processing_is_rejected_not_processed(stack, model, inbox):
    upload(stack, "oops.jpg", leaf_image("leaf-smut"))
    stack.client("s3").delete_object(Bucket=stack.outputs["InputBucketName"], Key="oops.jpg")

    stack.pipe().drain()

    (record,) = result_records(stack)
    assert (record["status"], record["reason"]) == ("rejected", "object-missing")
    assert inbox.messages() == [], "no alert for an image the user deleted"
