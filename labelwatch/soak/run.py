"""The soak: many uploads of every kind through the embedded stack, under faults, then the invariants.

Faults, each triggered by counting events (never by the clock, so a run is the same at any machine
speed): every Nth DetectCustomLabels call throttled, the model stopped at one detection call and
started again after it refused a number of them, a run of consecutive SNS Publish calls failing
(longer than PublishAlert's retries can absorb), every S3 event delivered twice. After the uploads
settle, the dead-letter queues are redriven once (what an operator does after an outage), then:

- every upload has exactly one outcome: one result object (ok or rejected), or a DLQ message;
- the outcome is the expected one for its kind (ok, or the precise rejection reason);
- no duplicate alert (per recipient and image), no duplicate result line or result object;
- every alert matches a rule (label and threshold) and the recipient's label filter, and every
  match was alerted or held back by flood control: one alerted upload per label, folder and window,
  each other match suppressed, and each window that held matches back has one digest counting at
  most those (the digest schedule run once every window is due).
"""

from __future__ import annotations

import json
import re
import resource
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from labelwatch.soak.inputs import OK, PlannedUpload, body_of, plan

Progress = Callable[[str, int, int], None]
# A digest's subject (functions/digest/message.py): "labelwatch: 37 more leaf-smut in field-7/ (...)"
DIGEST_SUBJECT = re.compile(r"^labelwatch: (?P<count>\d+) more (?P<label>.+?) in (?P<folder>.*) \(")


@dataclass
class SoakSettings:
    images: int = 1000
    seed: int = 7
    size: int = 160
    per_label: int = 15
    throttle_every: int = 10  # every 10th DetectCustomLabels call is throttled
    deliveries: int = 2
    # The model stops at the DetectCustomLabels call numbered this share of the uploads that reach the
    # model, and starts again after refusing model_stop_refusals calls (the refused images' own
    # redeliveries among them). Fewer than the ingest queue's maxReceiveCount (12), so no image is
    # refused into the ingest DLQ.
    model_stop_at: float = 0.3
    model_stop_refusals: int = 5
    # SNS Publish fails from the call after this many publishes, for sns_outage_publishes calls
    # (None: just enough that at least one image fails all of PublishAlert's attempts, goes to
    # the failure DLQ and is redriven; see sns_outage_length).
    sns_outage_after_publishes: int = 3
    sns_outage_publishes: int | None = None
    retry_visibility_seconds: int = 2  # time compression: SQS redelivery after 2 s instead of 6 min
    retry_wait_scale: float = 0.1  # time compression: the workflow's Retry waits last 1/10 of their interval
    model_start_seconds: float = 0.5  # time compression: STARTING → RUNNING (AWS: 10-30 minutes)
    timeout: float = 1800.0  # a bound on each wait for the stack to settle, not a trigger


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
    suppressed: int = 0  # result records flood control held back
    digests: int = 0  # digest e-mails (the final digest run's included)
    digests_counted: int = 0  # the matches they count
    executions: int = 0
    batches_with_retries: int = 0
    records_left_for_retry: int = 0
    deliveries_received: int = 0  # SQS records the Pipe handed the workflow (duplicates, retries included)
    throttled_calls: int = 0
    model_refusals: int = 0  # DetectCustomLabels calls the stopped model refused
    sns_outage_publishes: int = 0  # Publish calls the outage was set to fail
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
    from labelwatch.local.home import Home
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
            # the model is driven by the soak's faults (an outage stops it), not by the autopilot
            context={"modelArn": arn, "modelControl": "manual"},
            model_source=StoreModelSource(home.models),
            retry_visibility_seconds=settings.retry_visibility_seconds,
            retry_wait_scale=settings.retry_wait_scale,
            model_start_seconds=settings.model_start_seconds,
        ).start()
        faults = None
        try:
            uploads = plan(settings.images, settings.seed)
            faults = count_triggered_faults(stack, uploads, settings)
            report.sns_outage_publishes = faults.sns_fail_count
            start_stack_model(stack)
            throttled_before = sum(s.throttled for s in stack.emulator.functions.stats().values())
            stack.emulator.inject(faults, deliveries=settings.deliveries)
            report.uploads = len(uploads)
            _upload(stack, uploads, settings, note)
            upload_done = time.monotonic()
            reader = ResultReader.of(stack.client, stack.outputs)
            _wait_until_settled(stack, reader, uploads, settings.timeout, note)
            stack.emulator.clear_faults()  # the outage is over; an operator redrives what is left
            redriven = redrive(stack.client, stack.outputs)
            report.redriven = len(redriven.sent)
            _wait_until_settled(stack, reader, uploads, settings.timeout, note)
            report.seconds_to_settle = time.monotonic() - upload_done
            _check(stack, reader, uploads, report)
            _check_digests(stack, reader, report)
            report.executions = len(stack.pipe.batches)
            report.batches_with_retries = sum(1 for batch in stack.pipe.batches if batch.left_on_queue)
            report.records_left_for_retry = sum(len(batch.left_on_queue) for batch in stack.pipe.batches)
            report.deliveries_received = sum(len(batch.message_ids) for batch in stack.pipe.batches)
            throttled_by_lambda = sum(s.throttled for s in stack.emulator.functions.stats().values())
            report.throttled_calls = faults.throttled + throttled_by_lambda - throttled_before
            report.model_refusals = faults.model_refusals
            report.sns_failures = faults.sns_failures
        finally:
            stack.stop()  # ends the faults too
    report.seconds_total = time.monotonic() - started
    report.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


def count_triggered_faults(stack, uploads: list[PlannedUpload], settings: SoakSettings):
    """The soak's faults, each at an event number the run is certain to reach, whatever its speed.

    Every upload expected to be ``ok`` makes at least one DetectCustomLabels call, so the model stop
    and the first throttled call are placed within that many calls (ValueError if they cannot be).
    """
    from labelwatch.local.faults import Faults

    model_calls = sum(1 for upload in uploads if upload.kind.expected == OK)  # at least this many
    stop_at = max(1, int(model_calls * settings.model_stop_at))
    refused = range(stop_at, stop_at + settings.model_stop_refusals)  # call numbers the model refuses
    first_throttled = _first_throttled_call(settings.throttle_every, refused)
    # Each refused call is an image that needs another call later: the run makes at least this many.
    if first_throttled is not None and first_throttled > model_calls + settings.model_stop_refusals:
        raise ValueError(
            f"throttle_every={settings.throttle_every}: the first throttled call would be number "
            f"{first_throttled}, but only {model_calls + settings.model_stop_refusals} DetectCustomLabels "
            f"calls are certain with {len(uploads)} uploads"
        )
    return Faults(
        throttle_every=settings.throttle_every,
        model_stop_at_call=stop_at if model_calls else 0,
        model_stop_refusals=settings.model_stop_refusals,
        sns_fail_from=settings.sns_outage_after_publishes + 1,
        sns_fail_count=(
            settings.sns_outage_publishes
            if settings.sns_outage_publishes is not None
            else sns_outage_length(stack)
        ),
    )


def _first_throttled_call(every: int, refused: range) -> int | None:
    """The number of the first DetectCustomLabels call throttled (a refused call is not throttled)."""
    if not every:
        return None
    call = every
    while call in refused:
        call += every
    return call


def sns_outage_length(stack) -> int:
    """Consecutive failing Publish calls that are sure to make at least one image fail for good.

    Before the outage every Publish succeeds, so each image publishing during it makes its first
    attempt in it; all of an image's attempts fail if they all fall inside it. The images still
    retrying when it ends are at most the Map iterations running at once (the Map's MaxConcurrency
    times the Pipe's concurrent batches), each with at most ``attempts - 1`` of its calls inside.
    One call more than all of those is an image with every attempt failed, which goes to the
    failure DLQ (and the redrive). If fewer calls come, the outage ends only with the faults, after
    the run settled: the image of its first call then failed every attempt.
    """
    attempts, concurrency = _publish_attempts_and_map_concurrency(stack)
    return (attempts - 1) * concurrency * stack.pipe_concurrency + 1


def _publish_attempts_and_map_concurrency(stack) -> tuple[int, int]:
    """PublishAlert's attempts (1 + its Retry's MaxAttempts) and the Map's MaxConcurrency, as deployed."""
    (arn,) = stack.stack.provisioned.of_type("AWS::StepFunctions::StateMachine").values()
    definition = json.loads(
        stack.client("stepfunctions").describe_state_machine(stateMachineArn=arn)["definition"]
    )
    found: dict[str, dict] = {}

    def walk(states: dict) -> None:
        for name, state in states.items():
            found[name] = state
            for nested in ("ItemProcessor", "Iterator"):
                if nested in state:
                    walk(state[nested]["States"])

    walk(definition["States"])
    publish = found["PublishAlert"]
    attempts = 1 + max((retry.get("MaxAttempts", 3) for retry in publish.get("Retry", [])), default=0)
    (batch_map,) = [state for state in definition["States"].values() if state["Type"] == "Map"]
    return attempts, int(batch_map.get("MaxConcurrency") or 40)


def _upload(stack, uploads, settings, note: Progress) -> None:
    s3 = stack.client("s3")
    bucket = stack.outputs["InputBucketName"]
    total = len(uploads)
    done = 0

    def put(upload: PlannedUpload) -> None:
        body = body_of(upload, settings.seed, settings.size)
        s3.put_object(Bucket=bucket, Key=upload.key, Body=body)
        if upload.kind.delete_after_upload:
            s3.delete_object(Bucket=bucket, Key=upload.key)

    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in pool.map(put, uploads):
            done += 1
            note("uploading", done, total)


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
        # The queue empties only when the last execution has ended: its e-mails are written by then.
        if len(have) == len(keys) and _queue_empty(stack):
            return
        time.sleep(0.25)  # between polls


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

    environment = stack.stack.detect_environment()
    rules = json.loads(environment["LABEL_RULES"])
    cooldown = int(environment.get("ALERT_COOLDOWN_MINUTES") or 0)
    filters = _subscriber_filters(stack)
    expected_mails: Counter[tuple[str, str]] = Counter()  # (recipient, key) -> alerts (one per label)
    every_record = [record for records in objects.values() for record in records]
    for records in objects.values():
        key = records[0]["key"]
        for record in records:
            matched = record["label"] in rules and (record["confidence"] or 0) >= rules[record["label"]]
            if matched != bool(record["alert"] or record.get("suppressed")) or (
                record["alert"] and record.get("suppressed")
            ):
                violations.append(f"{key}: {record['label']} is alerted/suppressed against the rules {rules}")
            if record.get("suppressed") and not cooldown:
                violations.append(f"{key}: {record['label']} suppressed with flood control off")
        alerted = {r["label"] for r in records if r["alert"]}
        for recipient, labels in filters.items():
            for label in alerted:
                if labels is None or label in labels:
                    expected_mails[(recipient, key)] += 1
    if cooldown:
        from labelwatch.flood import flood_problems

        violations.extend(f"flood control: {problem}" for problem in flood_problems(every_record, cooldown))
        report.suppressed = sum(1 for record in every_record if record.get("suppressed"))

    mails = [read_mail(path) for path in sorted(stack.home.outbox.glob("*.eml"))]
    alerts = [mail for mail in mails if not DIGEST_SUBJECT.match(mail["subject"])]
    report.alerts = len(alerts)
    report.digests = len(mails) - len(alerts)
    sent = Counter((mail["to"], mail["subject"].split(" in ", 1)[1]) for mail in alerts)
    for (recipient, key), count in sent.items():
        if count > expected_mails[(recipient, key)]:
            violations.append(
                f"{recipient} got {count} alerts for {key}, expected {expected_mails[(recipient, key)]}"
            )
    for (recipient, key), count in expected_mails.items():
        if sent[(recipient, key)] < count:
            violations.append(f"{recipient} got {sent[(recipient, key)]} alerts for {key}, expected {count}")


def _check_digests(stack, reader, report: SoakReport) -> None:
    """Every window that held matches back gets exactly one digest, counting at most those matches:
    the digest schedule run at a time when every window is due, twice (the second sends nothing)."""
    from labelwatch.flood import matched_by_window
    from labelwatch.local.clock import TwinClock
    from labelwatch.local.outbox import read_mail

    cooldown = int(stack.stack.detect_environment().get("ALERT_COOLDOWN_MINUTES") or 0)
    spec = stack.stack.schedule_of("DigestFunctionName")
    if not cooldown or spec is None:
        return
    later = TwinClock(start=time.time() + (cooldown + 10) * 60)
    scheduler = stack.stack.scheduler(later, [spec])
    for _ in range(2):
        run = scheduler.run_now(spec)
        if run.refused or run.error:
            report.violations.append(f"the digest run failed: {run.refused or run.error} {run.payload}")
    records = [record for records in reader.refresh().values() for record in records]
    held: Counter[tuple[str, str]] = Counter()  # (label, folder) -> suppressed uploads, all windows
    windows: Counter[tuple[str, str]] = Counter()  # (label, folder) -> windows that held any back
    for (label, folder, _start), matched in matched_by_window(records, cooldown).items():
        count = len({(r["image"], r.get("version_id")) for r in matched if r.get("suppressed")})
        held[(label, folder)] += count
        windows[(label, folder)] += 1 if count else 0
    counted: Counter[tuple[str, str, str]] = Counter()  # (recipient, label, folder) -> matches counted
    mails: Counter[tuple[str, str, str]] = Counter()
    for path in sorted(stack.home.outbox.glob("*.eml")):
        mail = read_mail(path)
        match = DIGEST_SUBJECT.match(mail["subject"])
        if match:
            where = (mail["to"], match["label"].casefold(), match["folder"])
            counted[where] += int(match["count"])
            mails[where] += 1
    report.digests_counted = sum(counted.values())
    for (recipient, label, folder), count in counted.items():
        if count > held[(label, folder)]:
            report.violations.append(
                f"{recipient}'s digests of {label} in {folder} count {count}, "
                f"{held[(label, folder)]} held back"
            )
    for recipient, labels in _subscriber_filters(stack).items():
        wanted = None if labels is None else {name.casefold() for name in labels}
        for (label, folder), expected in windows.items():
            got = mails[(recipient, label, folder)]
            if (wanted is None or label in wanted) and got != expected:
                report.violations.append(
                    f"{recipient} got {got} digests of {label} in {folder}, expected {expected}"
                )


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
