"""The soak: many uploads of every kind through the embedded stack, under faults, then the invariants.

Faults: a share of DetectCustomLabels calls throttled, a window where SNS publishing fails, the
model stopped for a while and started again, every S3 event delivered twice. After the uploads
settle, the dead-letter queues are redriven once (what an operator does after an outage), then:

- every upload has exactly one outcome: one result object (ok or rejected), or a DLQ message;
- the outcome is the expected one for its kind (ok, or the precise rejection reason);
- no duplicate alert (per recipient and image), no duplicate result line or result object;
- every alert matches a rule (label and threshold) and the recipient's label filter, and every
  match was alerted.
"""

from __future__ import annotations

import json
import resource
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from labelwatch.soak.inputs import OK, PlannedUpload, body_of, plan

Progress = Callable[[str, int, int], None]


@dataclass
class SoakSettings:
    images: int = 1000
    seed: int = 7
    size: int = 160
    per_label: int = 15
    throttle_share: float = 0.1
    deliveries: int = 2
    model_stop_at: float = 0.3  # share of uploads done when the model is stopped
    model_stop_seconds: float = 8.0
    sns_outage_after_alerts: int = 3  # the SNS outage starts once this many alert e-mails went out
    sns_outage_seconds: float = 10.0  # longer than PublishAlert's retries: some go to the DLQ, then redrive
    retry_visibility_seconds: int = 2  # time compression: SQS redelivery after 2 s instead of 6 min
    timeout: float = 1800.0


@dataclass
class SoakReport:
    settings: SoakSettings
    uploads: int = 0
    outcomes: Counter[str] = field(
        default_factory=Counter
    )  # ok / rejected:<reason> / failure-dlq / ingest-dlq
    by_kind: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    violations: list[str] = field(default_factory=list)
    alerts: int = 0
    executions: int = 0
    batches_with_retries: int = 0
    records_left_for_retry: int = 0
    deliveries_received: int = 0  # SQS records the Pipe handed the workflow (duplicates, retries included)
    throttled_calls: int = 0
    sns_failures: int = 0
    redriven: int = 0
    seconds_to_settle: float = 0.0
    seconds_total: float = 0.0
    peak_rss_mb: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.violations


def run_soak(settings: SoakSettings, *, progress: Progress | None = None) -> SoakReport:
    from labelwatch.cli.local_cmd import start_stack_model
    from labelwatch.demo.leaves import generate_dataset
    from labelwatch.dlq import redrive
    from labelwatch.local import custom_labels
    from labelwatch.local.faults import Faults
    from labelwatch.local.home import Home
    from labelwatch.local.lambdas import CONCURRENCY
    from labelwatch.local.model_source import StoreModelSource
    from labelwatch.local.server import LocalStack
    from labelwatch.model import ModelStore, train
    from labelwatch.outcomes import ResultReader

    report = SoakReport(settings)
    started = time.monotonic()
    note = progress or (lambda stage, done, total: None)
    with tempfile.TemporaryDirectory(prefix="labelwatch-soak-") as scratch:
        home = Home.resolve(Path(scratch) / "home")
        note("training the model", 0, 1)
        generate_dataset(
            Path(scratch) / "training", settings.per_label, settings.seed, "JPEG", size=settings.size
        )
        arn = train(Path(scratch) / "training", ModelStore(home.models), project="soak", seed=0).arn
        stack = LocalStack(
            home,
            context={"modelArn": arn},
            model_source=StoreModelSource(home.models),
            retry_visibility_seconds=settings.retry_visibility_seconds,
        ).start()
        faults = Faults(throttle_share=settings.throttle_share, seed=settings.seed)
        try:
            start_stack_model(stack)
            CONCURRENCY.reset()
            faults.install(deliveries=settings.deliveries)
            uploads = plan(settings.images, settings.seed)
            report.uploads = len(uploads)
            _upload_with_faults(stack, uploads, settings, faults, arn, custom_labels.REGISTRY, note)
            upload_done = time.monotonic()
            reader = ResultReader.of(stack.client, stack.outputs)
            _wait_until_settled(stack, reader, uploads, settings.timeout, note)
            faults.uninstall()  # the outage is over; an operator redrives what is left
            redriven = redrive(stack.client, stack.outputs)
            report.redriven = len(redriven.sent)
            _wait_until_settled(stack, reader, uploads, settings.timeout, note)
            report.seconds_to_settle = time.monotonic() - upload_done
            _check(stack, reader, uploads, report)
            report.executions = len(stack.pipe.batches)
            report.batches_with_retries = sum(1 for batch in stack.pipe.batches if batch.left_on_queue)
            report.records_left_for_retry = sum(len(batch.left_on_queue) for batch in stack.pipe.batches)
            report.deliveries_received = sum(len(batch.message_ids) for batch in stack.pipe.batches)
            report.throttled_calls = faults.throttled + sum(CONCURRENCY.throttled.values())
            report.sns_failures = faults.sns_failures
        finally:
            faults.uninstall()
            stack.stop()
    report.seconds_total = time.monotonic() - started
    report.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


def _upload_with_faults(stack, uploads, settings, faults, arn, registry, note: Progress) -> None:
    s3 = stack.client("s3")
    bucket = stack.outputs["InputBucketName"]
    total = len(uploads)
    stop_at = max(1, int(total * settings.model_stop_at))
    done = 0
    lock = threading.Lock()

    def put(upload: PlannedUpload) -> None:
        nonlocal done
        body = body_of(upload, settings.seed, settings.size)
        s3.put_object(Bucket=bucket, Key=upload.key, Body=body)
        if upload.kind.delete_after_upload:
            s3.delete_object(Bucket=bucket, Key=upload.key)
        with lock:
            done += 1
            current = done
        note("uploading", current, total)
        if current == stop_at:
            registry.stop(arn)
            threading.Timer(settings.model_stop_seconds, registry.start, args=(arn,)).start()

    threading.Thread(target=_sns_outage_while_alerting, args=(stack, faults, settings), daemon=True).start()
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(put, uploads))


def _sns_outage_while_alerting(stack, faults, settings: SoakSettings) -> None:
    """SNS fails for a while once alerts flow, so the outage hits real publishes."""
    deadline = time.monotonic() + settings.timeout
    while len(list(stack.home.outbox.glob("*.eml"))) < settings.sns_outage_after_alerts:
        if time.monotonic() > deadline:
            return
        time.sleep(0.1)
    faults.sns_failing = True
    time.sleep(settings.sns_outage_seconds)
    faults.sns_failing = False


def _outcomes(stack, reader) -> dict[str, list[str]]:
    """Outcome labels by key (ok, rejected:<reason>, failure-dlq, ingest-dlq): one per outcome."""
    from labelwatch.outcomes import collect_outcomes

    found = collect_outcomes(stack.client, stack.outputs, reader)
    return {key: [_outcome_label(outcome) for outcome in outcomes] for key, outcomes in found.items()}


def _outcome_label(outcome) -> str:
    from labelwatch.outcomes import FAILED, REJECTED, UNDELIVERED

    if outcome.kind == REJECTED:
        return f"rejected:{outcome.detail}"
    return {FAILED: "failure-dlq", UNDELIVERED: "ingest-dlq"}.get(outcome.kind, OK)


def _queue_empty(stack) -> bool:
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.outputs["IngestQueueUrl"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        attributes["ApproximateNumberOfMessages"] == "0"
        and attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    )


def _wait_until_settled(stack, reader, uploads: list[PlannedUpload], timeout: float, note: Progress) -> None:
    keys = {upload.key for upload in uploads}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        have = keys & set(_outcomes(stack, reader))
        note("processing", len(have), len(keys))
        if len(have) == len(keys) and _queue_empty(stack):
            time.sleep(1.0)  # let the last alert e-mails of the last batch be written
            return
        time.sleep(1.0)


def _check(stack, reader, uploads: list[PlannedUpload], report: SoakReport) -> None:
    from labelwatch.local.outbox import read_mail

    violations = report.violations
    outcomes = _outcomes(stack, reader)
    for upload in uploads:
        found = outcomes.get(upload.key, [])
        report.outcomes.update(found or ["none"])
        report.by_kind[upload.kind.name].update(found or ["none"])
        if len(found) != 1:
            violations.append(f"{upload.key}: {len(found)} outcomes {found}, expected exactly one")
            continue
        expected = OK if upload.kind.expected == OK else f"rejected:{upload.kind.expected}"
        if found[0] != expected and not (upload.kind.delete_after_upload and found[0] == OK):
            violations.append(f"{upload.key}: outcome {found[0]}, expected {expected}")

    objects = reader.refresh()
    for object_key, records in objects.items():
        lines = [json.dumps(record, sort_keys=True) for record in records]
        if len(lines) != len(set(lines)):
            violations.append(f"{object_key}: duplicate result lines")

    rules = json.loads(stack.stack.detect_environment()["LABEL_RULES"])
    filters = _subscriber_filters(stack)
    expected_mails: set[tuple[str, str]] = set()
    for records in objects.values():
        key = records[0]["key"]
        matched = {
            r["label"] for r in records if r["label"] in rules and (r["confidence"] or 0) >= rules[r["label"]]
        }
        if any(r["alert"] for r in records) != bool(matched):
            violations.append(f"{key}: alert flag disagrees with the rules {rules}")
        for recipient, labels in filters.items():
            if matched and (labels is None or matched & labels):
                expected_mails.add((recipient, key))

    mails = [read_mail(path) for path in sorted(stack.home.outbox.glob("*.eml"))]
    report.alerts = len(mails)
    sent = Counter((mail["to"], mail["subject"].split(" in ", 1)[1]) for mail in mails)
    for (recipient, key), count in sent.items():
        if count > 1:
            violations.append(f"{recipient} got {count} alerts for {key}")
        if (recipient, key) not in expected_mails:
            violations.append(f"{recipient} got an alert for {key} that matches no rule or filter")
    for recipient, key in expected_mails - set(sent):
        violations.append(f"{recipient} got no alert for {key}, which matched a rule")


def _subscriber_filters(stack) -> dict[str, set[str] | None]:
    """Recipient -> the labels their filter lets through (None: everything)."""
    sns = stack.client("sns")
    filters: dict[str, set[str] | None] = {}
    topic = stack.outputs["AlertsTopicArn"]
    for subscription in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]:
        if subscription["Protocol"] != "email":
            continue
        attributes = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])[
            "Attributes"
        ]
        policy = json.loads(attributes["FilterPolicy"]) if attributes.get("FilterPolicy") else None
        filters[subscription["Endpoint"]] = set(policy["labels"]) if policy else None
    return filters
