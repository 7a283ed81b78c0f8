"""Flood control on the strict twin: at most one alert per label per folder per window, every further
match recorded as suppressed and counted, once, into the window's one digest e-mail.

Upload times are set on the events (the ingest queue's messages are replaced by copies whose
``time`` is chosen), so which window an image falls in never depends on when the test runs.
"""

from __future__ import annotations

import copy
import json
import time

import pytest

from labelwatch import dlq
from labelwatch.flood import flood_problems
from labelwatch.local.clock import TwinClock
from labelwatch.local.faults import Faults
from tests.workflow.conftest import leaf_image, scripted_predictor, subscribe_queue
from tests.workflow.helpers import drain_queue, result_records, upload
from tests.workflow.test_grants import actions

pytestmark = pytest.mark.slow

DAY = "2026-11-25"


def at(clock: str) -> str:
    return f"{DAY}T{clock}Z"


def upload_at(stack, uploads: list[tuple[str, str, str]], copies: int = 1) -> dict[str, str]:
    """Upload ``(key, kind, HH:MM:SS)`` images and give each event (``copies`` of it: EventBridge's
    duplicates) that upload time; version ids by key."""
    versions = {upload(stack, key, leaf_image(kind)): (key, when) for key, kind, when in uploads}
    sqs = stack.client("sqs")
    queue_url = stack.outputs["IngestQueueUrl"]
    seen: list[dict] = []
    deadline = time.monotonic() + 60
    while len(seen) < len(uploads) * copies and time.monotonic() < deadline:
        seen += sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    assert len(seen) == len(uploads) * copies, "every upload's event reached the ingest queue"
    for message in seen:
        event = json.loads(message["Body"])
        _key, when = versions[event["detail"]["object"]["version-id"]]
        event["time"] = at(when)
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(event))
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return {key: version for version, (key, _when) in versions.items()}


def alert_mails(inbox) -> list[dict]:
    return [m for m in inbox.messages() if " more " not in m["Subject"]]


def digest_mails(messages: list[dict]) -> list[dict]:
    return [m for m in messages if " more " in m["Subject"]]


def windows(stack) -> dict[tuple[str, str, str], dict]:
    """The cooldown table's items by (label, folder, window start)."""
    items = stack.client("dynamodb").scan(TableName=stack.outputs["CooldownsTableName"])["Items"]
    return {(i["label"]["S"], i["folder"]["S"], i["windowStart"]["S"]): i for i in items}


def run_digests(stack, *, minutes_from_now: float = 10):
    """The digest schedule's run at a time when every window above is due (the twin's clock ahead)."""
    spec = stack.schedule_of("DigestFunctionName")
    scheduler = stack.scheduler(TwinClock(start=time.time() + minutes_from_now * 60), [spec])
    run = scheduler.run_now(spec)
    assert (run.refused, run.error) == (None, None), run.payload
    return run


def test_one_alert_per_label_per_folder_per_window_the_rest_suppressed_and_one_digest_each(
    stack, model, inbox
):
    upload_at(
        stack,
        [
            ("field-7/a.jpg", "leaf-smut", "10:05:00"),
            ("field-7/b.jpg", "leaf-smut", "10:20:00"),
            ("field-7/c.jpg", "leaf-smut", "10:59:59"),
            ("field-7/d.jpg", "bacterial-leaf-blight", "10:30:00"),  # another label: its own alert
            ("field-8/e.jpg", "leaf-smut", "10:10:00"),  # another folder: its own alert
            ("field-7/sub/f.jpg", "leaf-smut", "10:15:00"),  # a subfolder is another folder
            ("field-7/g.jpg", "leaf-smut", "11:00:00"),  # the next window
            ("field-7/h.jpg", "leaf-smut", "11:30:00"),
        ],
    )
    stack.pipe().drain()

    records = [r for r in result_records(stack) if r["alert"] or r["suppressed"]]
    assert flood_problems(records, 60) == []
    suppressed = sorted(r["key"] for r in records if r["suppressed"])
    assert len(suppressed) == 3 and set(suppressed) <= {f"field-7/{n}.jpg" for n in "abcgh"}
    assert all(r["alert"] is False for r in records if r["suppressed"])
    mails = alert_mails(inbox)
    assert (
        len(mails) == 5
    )  # smut in field-7 at 10h and 11h, blight in field-7, smut in field-8 and field-7/sub
    assert sorted(json.loads(m["MessageAttributes"]["labels"]["Value"])[0] for m in mails) == [
        "bacterial-leaf-blight",
        *["leaf-smut"] * 4,
    ]
    held = windows(stack)
    assert len(held[("leaf-smut", "field-7/", at("10:00:00"))]["suppressed"]["SS"]) == 2
    assert len(held[("leaf-smut", "field-7/", at("11:00:00"))]["suppressed"]["SS"]) == 1
    assert "suppressed" not in held[("leaf-smut", "field-8/", at("10:00:00"))]
    assert drain_queue(stack, "FailureDlqUrl") == []

    run_digests(stack)
    digests = digest_mails(inbox.messages())
    assert sorted(m["Subject"] for m in digests) == [
        "labelwatch: 1 more leaf-smut in field-7/ (11:00-12:00 UTC)",
        "labelwatch: 2 more leaf-smut in field-7/ (10:00-11:00 UTC)",
    ]
    assert all(json.loads(m["MessageAttributes"]["labels"]["Value"]) == ["leaf-smut"] for m in digests)
    assert all("suppressed = true" in m["Message"] and '"field-7/"' in m["Message"] for m in digests)

    run_digests(stack, minutes_from_now=20)  # the next minute's run, and any after it: nothing again
    assert inbox.messages() == []


def test_duplicate_deliveries_alert_once_and_count_once(emulator, stack, model, inbox):
    emulator.inject(Faults(), deliveries=2)  # EventBridge delivers every S3 event twice
    upload_at(stack, [("f/a.jpg", "leaf-smut", "10:05:00")], copies=2)
    stack.pipe().drain()
    upload_at(stack, [("f/b.jpg", "leaf-smut", "10:06:00")], copies=2)
    stack.pipe().drain()

    assert len(alert_mails(inbox)) == 1
    (window,) = windows(stack).values()
    assert len(window["suppressed"]["SS"]) == 1
    run_digests(stack)
    (digest,) = digest_mails(inbox.messages())
    assert "1 more leaf-smut in f/" in digest["Subject"]


def test_a_lost_answer_to_recording_a_suppression_counts_it_once(emulator, stack, model, inbox):
    upload_at(stack, [("f/a.jpg", "leaf-smut", "10:05:00")])
    stack.pipe().drain()
    # DynamoDB writes from here: ClaimImage, CheckCooldown (refused: a holds the alert), then
    # RecordSuppressed, which is made and its answer lost (a 500)
    emulator.inject(Faults(dynamodb_fail_from=3, dynamodb_fail_count=1, dynamodb_fail_after_write=True))
    upload_at(stack, [("f/b.jpg", "leaf-smut", "10:06:00")])
    stack.pipe().drain()

    assert emulator.faults.dynamodb_failures == 1, "the answer was lost once, and RecordSuppressed retried"
    (window,) = windows(stack).values()
    assert len(window["suppressed"]["SS"]) == 1  # a set: the retry added the same image id
    assert len(alert_mails(inbox)) == 1 and drain_queue(stack, "FailureDlqUrl") == []


def test_the_alerted_image_redriven_after_a_failed_publish_alerts_once_and_others_stay_held(
    emulator, stack, model, inbox
):
    # PublishAlert and its two retries fail: the image holds its window's alert and goes to the DLQ
    emulator.inject(Faults(sns_fail_from=1, sns_fail_count=3))
    upload_at(stack, [("f/a.jpg", "leaf-smut", "10:05:00")])
    stack.pipe().drain()
    assert inbox.messages() == [] and len(dlq.list_dead_letters(stack.client, stack.outputs)) == 1
    upload_at(stack, [("f/b.jpg", "leaf-smut", "10:06:00")])
    stack.pipe().drain()

    dlq.redrive(stack.client, stack.outputs)
    stack.pipe().drain()

    (mail,) = alert_mails(inbox)
    assert "f/a.jpg" in mail["Message"], "the redriven image still holds its window's alert"
    records = [r for r in result_records(stack) if r["label"] == "leaf-smut"]
    assert sorted((r["key"], r["alert"], r["suppressed"]) for r in records) == [
        ("f/a.jpg", True, False),
        ("f/b.jpg", False, True),
    ]


# --- every grant flood control adds, proven necessary by the strict twin ---------------------------


def without_resource(template: dict, owner: str, action: str, resource_part: str) -> dict:
    """A copy of ``template`` whose ``owner`` policy no longer grants ``action`` on the resources
    naming ``resource_part`` (the statement keeps its other resources, or goes if none is left)."""
    changed = copy.deepcopy(template)
    removed = 0
    for logical_id, resource in changed["Resources"].items():
        if resource["Type"] != "AWS::IAM::Policy" or owner not in logical_id:
            continue
        kept = []
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            if action in actions(statement):
                resources = (
                    statement["Resource"]
                    if isinstance(statement["Resource"], list)
                    else [statement["Resource"]]
                )
                left = [r for r in resources if resource_part not in json.dumps(r)]
                removed += len(resources) - len(left)
                if not left:
                    continue
                statement["Resource"] = left
            kept.append(statement)
        resource["Properties"]["PolicyDocument"]["Statement"] = kept
    assert removed, f"{owner} has no {action} on {resource_part}"
    return changed


def alert_twice_in_a_folder(emulator, template):
    stack = emulator.deploy(template)
    stack.emulator.models.register(stack.detect_environment()["MODEL_ARN"], scripted_predictor, running=True)
    inbox = subscribe_queue(emulator.client, stack.outputs["AlertsTopicArn"], "inbox")
    upload_at(stack, [("f/a.jpg", "leaf-smut", "10:05:00"), ("f/b.jpg", "leaf-smut", "10:06:00")])
    stack.pipe().drain()
    return stack, inbox


@pytest.mark.parametrize(
    ("action", "resource_part"),
    [("dynamodb:UpdateItem", "FloodControlCooldowns"), ("lambda:InvokeFunction", "FloodControlApply")],
)
def test_without_its_flood_control_grants_the_state_machine_sends_the_images_to_the_failure_dlq(
    emulator, template, action, resource_part
):
    stack, inbox = alert_twice_in_a_folder(
        emulator, without_resource(template, "StateMachineRole", action, resource_part)
    )
    failures = drain_queue(stack, "FailureDlqUrl")
    assert len(failures) == 2 and inbox.messages() == []
    assert all("AccessDenied" in f["error"] + f["cause"] and action in f["cause"] for f in failures)


@pytest.mark.parametrize(
    ("action", "resource_part", "error"),
    [
        ("dynamodb:Query", "DigestsDue", "AccessDeniedException"),
        ("dynamodb:UpdateItem", "FloodControlCooldowns", "AccessDeniedException"),
        ("sns:Publish", "AlertsTopic", "AuthorizationError"),
        ("kms:GenerateDataKey*", "TopicsKey", "KMSAccessDenied"),
    ],
)
def test_without_each_of_its_grants_the_digest_is_not_sent_and_says_why(
    emulator, template, action, resource_part, error
):
    stack, inbox = alert_twice_in_a_folder(
        emulator, without_resource(template, "FloodControlDigestRole", action, resource_part)
    )
    assert len(alert_mails(inbox)) == 1

    spec = stack.schedule_of("DigestFunctionName")
    run = stack.scheduler(TwinClock(start=time.time() + 600), [spec]).run_now(spec)

    assert run.error is not None and error in run.payload["errorMessage"], run.payload
    assert digest_mails(inbox.messages()) == []
    (window,) = windows(stack).values()
    if action != "dynamodb:UpdateItem":  # a digest not claimed, or released: the next minute tries again
        assert window["digest"]["S"] == "pending"


def test_the_unmodified_template_sends_the_digest(emulator, template):
    stack, inbox = alert_twice_in_a_folder(emulator, template)
    assert len(alert_mails(inbox)) == 1
    run_digests(stack)
    (digest,) = digest_mails(inbox.messages())
    assert digest["Subject"] == "labelwatch: 1 more leaf-smut in f/ (10:00-11:00 UTC)"
