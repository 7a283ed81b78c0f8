"""The flood-control digest: each window that held matches back is e-mailed once, when due.

Against moto: the cooldown table with its digest index (keys only, as the stack declares it), the
alerts topic with an SQS queue subscribed (raw delivery off), so each test reads what subscribers
would get: the envelope's Subject, Message and MessageAttributes. The digest's SQL is also run on
the local Athena stand-in, so its escaped literals are shown to mean the uploader's text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from detect.alert import SUBJECT_MAX
from digest import handler as digest_handler
from digest.message import DigestWindow, build_subject, suppressed_query
from digest.sender import claim, release, send_due_digests
from digest.settings import SettingsError, load_settings
from moto import mock_aws

from labelwatch.analytics.local_query import LocalQueryEngine
from labelwatch.analytics.results_source import ResultObject
from labelwatch.clients import boto3_session

TABLE = "labelwatch-cooldowns"
INDEX = "DigestsDue"
BUCKET = "labelwatch-input"
START = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
DUE = END + timedelta(minutes=5)
HOSTILE_FOLDER = "field\n7/'x%_"
HOSTILE_LABEL = 'leaf"smut\nURGENT'


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def environment(topic_arn: str, **changes: str) -> dict[str, str]:
    env = {
        "COOLDOWN_TABLE": TABLE,
        "DIGEST_INDEX": INDEX,
        "ALERTS_TOPIC_ARN": topic_arn,
        "ANALYTICS_DATABASE": "labelwatch",
        "RESULTS_TABLE": "results",
        "ATHENA_WORKGROUP": "labelwatch",
        "QUERY_CONSOLE_URL": "https://console.aws.amazon.com/athena/home?region=us-east-1#/query-editor",
        "ALERT_COOLDOWN_MINUTES": "60",
    }
    env.update(changes)
    return env


class Stack:
    """The table, the topic and a subscribed queue, in moto."""

    def __init__(self, projection: str = "KEYS_ONLY") -> None:
        session = boto3_session(region_name="us-east-1")
        self.dynamodb = session.client("dynamodb")
        self.sns = session.client("sns")
        self.sqs = session.client("sqs")
        self.dynamodb.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "digest", "AttributeType": "S"},
                {"AttributeName": "digestDue", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": INDEX,
                    "KeySchema": [
                        {"AttributeName": "digest", "KeyType": "HASH"},
                        {"AttributeName": "digestDue", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": projection},
                }
            ],
        )
        self.topic_arn = self.sns.create_topic(Name="labelwatch-alerts")["TopicArn"]
        self.queue_url = self.sqs.create_queue(QueueName="subscriber")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn)
        self.settings = load_settings(environment(self.topic_arn))

    def put_window(
        self,
        *,
        label: str = "leaf-smut",
        folder: str = "field-7/",
        start: datetime = START,
        minutes: int = 60,
        suppressed: list[str] | None = None,
        due: datetime | None = None,
        alert_image: str | None = "img-alerted",
    ) -> str:
        end = start + timedelta(minutes=minutes)
        pk = f"window#{abs(hash((label, folder))):040x}#{iso(start)}"
        item = {
            "pk": {"S": pk},
            "label": {"S": label},
            "folder": {"S": folder},
            "bucket": {"S": BUCKET},
            "windowStart": {"S": iso(start)},
            "windowEnd": {"S": iso(end)},
            "digest": {"S": "pending"},
            "digestDue": {"S": iso(due or end + timedelta(minutes=5))},
            "expiresAt": {"N": "1900000000"},
        }
        if alert_image:
            item["alertImage"] = {"S": alert_image}
            item["alertImageUri"] = {"S": f"s3://{BUCKET}/{folder}alerted.jpg"}
        ids = ["img-1", "img-2", "img-3"] if suppressed is None else suppressed
        if ids:
            item["suppressed"] = {"SS": ids}
        self.dynamodb.put_item(TableName=TABLE, Item=item)
        return pk

    def item(self, pk: str) -> dict:
        return self.dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": pk}}, ConsistentRead=True)["Item"]

    def published(self) -> list[dict]:
        """What the subscriber received since the last call: Subject, Message, labels attribute."""
        out = []
        while True:
            answer = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                return out
            for message in messages:
                envelope = json.loads(message["Body"])
                labels = envelope.get("MessageAttributes", {}).get("labels", {})
                out.append(
                    {
                        "subject": envelope.get("Subject"),
                        "message": envelope["Message"],
                        "labels_type": labels.get("Type"),
                        "labels": json.loads(labels["Value"]) if labels else None,
                    }
                )
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def run(self, at: datetime, *, dynamodb=None, sns=None):
        return send_due_digests(dynamodb or self.dynamodb, sns or self.sns, self.settings, at.timestamp())


@pytest.fixture
def stack():
    with mock_aws():
        yield Stack()


def publish_error() -> ClientError:
    return ClientError({"Error": {"Code": "InternalError", "Message": "SNS is having a bad day"}}, "Publish")


class FlakySNS:
    """The real client, except that its first publish fails."""

    def __init__(self, real) -> None:
        self.real = real
        self.calls = 0

    def publish(self, **request):
        self.calls += 1
        if self.calls == 1:
            raise publish_error()
        return self.real.publish(**request)


# --- exactly once, when due ---------------------------------------------------------------------


def test_a_due_window_is_sent_once_and_a_second_run_sends_nothing(stack):
    pk = stack.put_window()
    run = stack.run(DUE)
    assert [window.pk for window in run.sent] == [pk]
    assert (run.skipped, run.failed) == (0, [])
    [mail] = stack.published()
    assert mail["subject"] == "labelwatch: 3 more leaf-smut in field-7/ (10:00-11:00 UTC)"
    assert (mail["labels_type"], mail["labels"]) == ("String.Array", ["leaf-smut"])
    text = mail["message"]
    assert '3 more images matching "leaf-smut"' in text
    assert 'in the folder "field-7/" of bucket "labelwatch-input"' in text
    assert "between 2026-12-02 10:00:00 UTC and 2026-12-02 11:00:00 UTC" in text
    assert "every 60 minutes" in text and "alertCooldownMinutes" in text
    assert f'"s3://{BUCKET}/field-7/alerted.jpg"' in text
    assert "List them in Athena" in text and stack.settings.query_console_url in text
    assert suppressed_query("labelwatch", "results", "leaf-smut", "field-7/", START, END) in text
    item = stack.item(pk)
    assert "digest" not in item and item["digestSentAt"] == {"S": iso(DUE)}

    again = stack.run(DUE + timedelta(minutes=1))
    assert (again.sent, again.skipped, again.failed) == ([], 0, [])
    assert stack.published() == []


def test_a_window_not_yet_due_waits_until_it_is_due(stack):
    stack.put_window()
    early = stack.run(DUE - timedelta(minutes=1))
    assert (early.sent, early.skipped) == ([], 0)
    assert stack.published() == []
    assert len(stack.run(DUE).sent) == 1  # due at digestDue itself
    assert len(stack.published()) == 1


def test_the_count_is_the_size_of_the_held_back_set(stack):
    stack.put_window(suppressed=[f"img-{n}" for n in range(37)])
    stack.put_window(label="healthy", folder="field-8/", suppressed=["only-one"])
    stack.run(DUE)
    mails = {mail["labels"][0]: mail for mail in stack.published()}
    assert mails["leaf-smut"]["subject"].startswith("labelwatch: 37 more leaf-smut in field-7/ ")
    assert "37 more images" in mails["leaf-smut"]["message"]
    assert mails["healthy"]["subject"].startswith("labelwatch: 1 more healthy in field-8/ ")
    assert "1 more image matching" in mails["healthy"]["message"]


def test_the_index_may_project_everything():
    """The sender reads the item from its claim, so the index's projection does not matter."""
    with mock_aws():
        stack = Stack(projection="ALL")
        stack.put_window()
        assert len(stack.run(DUE).sent) == 1
        assert len(stack.published()) == 1


# --- races and failures ---------------------------------------------------------------------------


class RacingDynamoDB:
    """The real client; once its query has answered, ``before_claim`` runs (another run, the workflow)."""

    def __init__(self, real, before_claim) -> None:
        self.real = real
        self.before_claim = before_claim

    def query(self, **request):
        page = self.real.query(**request)
        self.before_claim()
        return page

    def update_item(self, **request):
        return self.real.update_item(**request)


def test_a_window_another_run_claimed_first_is_skipped_and_mailed_once(stack):
    pk = stack.put_window()
    competitor = []
    racing = RacingDynamoDB(stack.dynamodb, lambda: competitor.append(stack.run(DUE)))
    run = stack.run(DUE, dynamodb=racing)
    assert (run.sent, run.skipped, run.failed) == ([], 1, [])
    assert [window.pk for window in competitor[0].sent] == [pk]
    assert len(stack.published()) == 1


def test_a_window_reopened_for_later_is_skipped_until_then(stack):
    pk = stack.put_window()
    later = iso(DUE + timedelta(minutes=10))

    def reopen():  # as the workflow's RecordSuppressed does for a late detection
        stack.dynamodb.update_item(
            TableName=TABLE,
            Key={"pk": {"S": pk}},
            UpdateExpression="ADD suppressed :ids SET digestDue = :due",
            ExpressionAttributeValues={":ids": {"SS": ["img-late"]}, ":due": {"S": later}},
        )

    run = stack.run(DUE, dynamodb=RacingDynamoDB(stack.dynamodb, reopen))
    assert (run.sent, run.skipped) == ([], 1)
    assert stack.item(pk)["digest"] == {"S": "pending"}
    assert stack.published() == []
    stack.run(DUE + timedelta(minutes=10))
    [mail] = stack.published()
    assert mail["subject"].startswith("labelwatch: 4 more leaf-smut")


def test_a_failed_publish_leaves_the_window_pending_and_the_next_run_sends_it_once(stack):
    first = stack.put_window(folder="a/")
    second = stack.put_window(folder="b/")
    flaky = FlakySNS(stack.sns)
    run = stack.run(DUE, sns=flaky)
    [failure] = run.failed
    assert failure.pending and "InternalError" in failure.error
    assert len(run.sent) == 1  # the other window went out all the same
    assert len(stack.published()) == 1
    failed_pk = failure.pk
    assert {failed_pk, run.sent[0].pk} == {first, second}
    item = stack.item(failed_pk)
    assert item["digest"] == {"S": "pending"} and "digestSentAt" not in item

    retry = stack.run(DUE + timedelta(minutes=1), sns=flaky)
    assert [window.pk for window in retry.sent] == [failed_pk] and retry.failed == []
    [mail] = stack.published()
    assert mail["labels"] == ["leaf-smut"]
    assert stack.run(DUE + timedelta(minutes=2), sns=flaky).sent == []
    assert stack.published() == []


def test_a_claim_is_only_released_by_the_run_that_holds_it(stack):
    pk = stack.put_window()
    key = {"pk": {"S": pk}}
    assert claim(stack.dynamodb, stack.settings, key, iso(DUE)) is not None
    assert claim(stack.dynamodb, stack.settings, key, iso(DUE)) is None  # already claimed
    assert release(stack.dynamodb, stack.settings, key, iso(DUE + timedelta(minutes=1))) is False
    assert "digest" not in stack.item(pk)
    assert release(stack.dynamodb, stack.settings, key, iso(DUE)) is True
    assert stack.item(pk)["digest"] == {"S": "pending"}


class CountingDynamoDB:
    """The real client, with small query pages."""

    def __init__(self, real, page_size: int) -> None:
        self.real = real
        self.page_size = page_size
        self.pages = 0

    def query(self, **request):
        self.pages += 1
        return self.real.query(**request, Limit=self.page_size)

    def update_item(self, **request):
        return self.real.update_item(**request)


def test_many_due_windows_across_pages_are_all_sent_once(stack):
    folders = [f"field-{n}/" for n in range(23)]
    for number, folder in enumerate(folders):
        stack.put_window(folder=folder, due=DUE - timedelta(minutes=number))
    stack.put_window(folder="not-yet/", due=DUE + timedelta(minutes=1))
    counting = CountingDynamoDB(stack.dynamodb, page_size=4)
    run = stack.run(DUE, dynamodb=counting)
    assert counting.pages >= 6
    assert sorted(window.folder for window in run.sent) == sorted(folders)
    subjects = [mail["subject"] for mail in stack.published()]
    assert sorted(subjects) == sorted(
        f"labelwatch: 3 more leaf-smut in {folder} (10:00-11:00 UTC)" for folder in folders
    )
    assert stack.run(DUE).sent == []


class FailingSecondPage(CountingDynamoDB):
    def query(self, **request):
        if "ExclusiveStartKey" in request:
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "Query")
        return super().query(**request)


def test_an_unreadable_index_keeps_what_was_sent_and_leaves_the_rest_pending(stack):
    for number in range(5):
        stack.put_window(folder=f"f{number}/")
    run = stack.run(DUE, dynamodb=FailingSecondPage(stack.dynamodb, page_size=2))
    assert len(run.sent) == 2 and "ProvisionedThroughputExceededException" in run.query_error
    assert len(stack.published()) == 2
    assert len(stack.run(DUE).sent) == 3
    assert len(stack.published()) == 3


def test_a_window_with_nothing_held_back_is_claimed_and_not_sent(stack):
    absent = stack.put_window(folder="a/", suppressed=[])
    run = stack.run(DUE)
    assert (run.sent, run.skipped, run.failed) == ([], 1, [])
    assert stack.published() == []
    assert "digest" not in stack.item(absent)


def test_a_malformed_item_is_reported_and_not_retried(stack):
    pk = stack.put_window()
    stack.dynamodb.update_item(TableName=TABLE, Key={"pk": {"S": pk}}, UpdateExpression="REMOVE windowStart")
    run = stack.run(DUE)
    [failure] = run.failed
    assert failure.pk == pk and not failure.pending and "windowStart" in failure.error
    assert stack.published() == []
    assert stack.run(DUE).failed == []


def test_a_window_without_its_alert_on_record_is_still_sent(stack):
    stack.put_window(alert_image=None)
    stack.run(DUE)
    [mail] = stack.published()
    assert "The alert sent for this window is not on record." in mail["message"]


# --- hostile text, long folders, the top level, days -----------------------------------------------


def assert_safe_subject(subject: str) -> None:
    assert len(subject) <= SUBJECT_MAX
    assert all(" " <= char <= "~" for char in subject), subject


def test_hostile_label_and_folder_give_a_one_line_subject_and_escaped_sql(stack):
    stack.put_window(label=HOSTILE_LABEL, folder=HOSTILE_FOLDER)
    stack.run(DUE)
    [mail] = stack.published()
    assert mail["subject"] == "labelwatch: 3 more leaf\"smut?URGENT in field?7/'x%_ (10:00-11:00 UTC)"
    assert_safe_subject(mail["subject"])
    assert mail["labels"] == [HOSTILE_LABEL]
    text = mail["message"]
    assert not any(line.startswith(("URGENT", "7/")) for line in text.splitlines())
    assert 'matching "leaf\\"smut\\nURGENT"' in text
    assert '"field\\n7/\'x%_"' in text
    # the SQL's literals: quotes doubled, the line break as a Unicode escape, % and _ as they are
    assert "AND lower(trim(label)) = U&'leaf\"smut\\000Aurgent'\n" in text
    assert "AND starts_with(key, U&'field\\000A7/''x%_')\n" in text
    assert "AND strpos(substr(key, 13), '/') = 0\n" in text


def test_plain_literals_double_their_quotes_and_identifiers_too():
    sql = suppressed_query('lab"db', "results", " Leaf'Smut ", "o'brien/", START, END)
    assert 'FROM "lab""db"."results"\n' in sql
    assert "AND lower(trim(label)) = 'leaf''smut'\n" in sql
    assert "AND starts_with(key, 'o''brien/')\n" in sql
    assert "WHERE dt BETWEEN '2026-12-02' AND '2026-12-02'\n" in sql
    assert "from_iso8601_timestamp(uploaded_at) >= from_iso8601_timestamp('2026-12-02T10:00:00Z')" in sql
    assert "from_iso8601_timestamp(uploaded_at) < from_iso8601_timestamp('2026-12-02T11:00:00Z')" in sql
    assert sql.endswith("ORDER BY uploaded_at;")


def records_object(rows: list[dict]) -> ResultObject:
    body = "".join(json.dumps({"bucket": BUCKET, "confidence": 91.0, **row}) + "\n" for row in rows)
    return ResultObject(key="results/dt=2026-12-02/batch.json", body=body.encode())


def listed(folder: str, label: str, rows: list[dict]) -> list[str]:
    with LocalQueryEngine([records_object(rows)]) as engine:
        result = engine.run(suppressed_query("labelwatch", "results", label, folder, START, END))
    return [row[0] for row in result.rows]


def row(key: str, *, label: str = "Leaf-Smut", minute: int = 5, suppressed: bool = True) -> dict:
    uploaded = START + timedelta(minutes=minute)
    return {
        "key": key,
        "image": f"s3://{BUCKET}/{key}",
        "label": label,
        "suppressed": suppressed,
        "alert": not suppressed,
        "uploaded_at": iso(uploaded),
    }


def test_the_query_lists_exactly_the_windows_held_back_matches_of_a_hostile_folder():
    folder = HOSTILE_FOLDER
    rows = [
        row(f"{folder}a.jpg", minute=1),
        row(f"{folder}b.jpg", label=' leaf"smut\nurgent ', minute=2),  # the other label: not listed
        row(f"{folder}c.jpg", minute=59),
        row(f"{folder}sub/d.jpg"),  # a subfolder: its own windows
        row("field\n7/'xy_e.jpg"),  # % and _ are not wildcards
        row(f"{folder}f.jpg", minute=60),  # the next window
        row(f"{folder}g.jpg", minute=-1),  # the previous one
        row(f"{folder}h.jpg", suppressed=False),  # the alerted one
    ]
    assert listed(folder, "leaf-smut", rows) == [f"{folder}a.jpg", f"{folder}c.jpg"]
    assert listed(folder, HOSTILE_LABEL, rows) == [f"{folder}b.jpg"]


def test_the_top_level_is_named_so_and_its_query_lists_only_top_level_keys(stack):
    stack.put_window(folder="")
    stack.run(DUE)
    [mail] = stack.published()
    assert mail["subject"] == "labelwatch: 3 more leaf-smut in (top level) (10:00-11:00 UTC)"
    assert 'at the top level of bucket "labelwatch-input"' in mail["message"]
    assert "AND strpos(key, '/') = 0\n" in mail["message"] and "starts_with" not in mail["message"]
    assert listed("", "leaf-smut", [row("a.jpg"), row("field-7/b.jpg"), row("c.jpg", minute=30)]) == [
        "a.jpg",
        "c.jpg",
    ]


def window(**changes) -> DigestWindow:
    values = {
        "pk": "window#x",
        "label": "leaf-smut",
        "folder": "field-7/",
        "bucket": BUCKET,
        "window_start": START,
        "window_end": END,
        "count": 37,
    }
    values.update(changes)
    return DigestWindow(**values)


def test_a_long_folder_is_shortened_from_the_left_keeping_count_and_times():
    folder = "farm/" + "north-field-section/" * 8 + "row-12/"
    subject = build_subject(window(folder=folder))
    assert_safe_subject(subject)
    assert subject.startswith("labelwatch: 37 more leaf-smut in ...")
    assert subject.endswith("section/row-12/ (10:00-11:00 UTC)")
    assert len(subject) == SUBJECT_MAX


def test_an_absurd_label_is_cut_but_the_times_stay():
    subject = build_subject(window(label="smut-" * 40, folder="f/"))
    assert_safe_subject(subject)
    assert subject.startswith("labelwatch: 37 more smut-smut")
    assert subject.endswith("... (10:00-11:00 UTC)")


def test_a_window_across_midnight_shows_its_dates():
    start = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)
    subject = build_subject(window(window_start=start, window_end=start + timedelta(hours=1)))
    assert subject == "labelwatch: 37 more leaf-smut in field-7/ (2026-12-02 23:30 - 2026-12-03 00:30 UTC)"
    sql = suppressed_query(
        "labelwatch", "results", "leaf-smut", "field-7/", start, start + timedelta(hours=1)
    )
    assert "WHERE dt BETWEEN '2026-12-02' AND '2026-12-03'\n" in sql


def test_without_a_console_the_message_still_has_the_query(stack):
    stack.settings = load_settings(environment(stack.topic_arn, QUERY_CONSOLE_URL=""))
    stack.put_window()
    stack.run(DUE)
    [mail] = stack.published()
    assert "https://" not in mail["message"]
    assert 'List them in Athena (workgroup "labelwatch"):\n\nSELECT key, label' in mail["message"]


# --- the handler and its settings -----------------------------------------------------------------


def logged(caplog) -> str:
    """The handler's log lines as Powertools writes them (caplog: its stream may be bound elsewhere)."""
    formatter = digest_handler.logger.registered_formatter
    return "\n".join(formatter.format(record) for record in caplog.records)


def test_the_handler_sends_at_the_schedules_time_and_logs_counts_not_image_ids(
    stack, monkeypatch, lambda_context, caplog
):
    ids = [f"img-{n:04d}" for n in range(50)]
    stack.put_window(suppressed=ids)
    for name, value in environment(stack.topic_arn).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(
        digest_handler.clients, "for_digest", lambda: {"dynamodb": stack.dynamodb, "sns": stack.sns}
    )
    early = digest_handler.lambda_handler({"time": iso(DUE - timedelta(minutes=1))}, lambda_context)
    assert early == {"sent": 0, "skipped": 0, "failed": 0}
    result = digest_handler.lambda_handler({"time": iso(DUE)}, lambda_context)
    assert result == {"sent": 1, "skipped": 0, "failed": 0}
    log = logged(caplog)
    assert '"folder":"field-7/"' in log.replace(" ", "") and '"held":50' in log.replace(" ", "")
    assert not any(image in log for image in ids)
    assert len(stack.published()) == 1


def test_the_handler_fails_after_the_run_when_a_digest_failed(stack, monkeypatch, lambda_context, caplog):
    stack.put_window()
    for name, value in environment(stack.topic_arn).items():
        monkeypatch.setenv(name, value)
    flaky = FlakySNS(stack.sns)
    monkeypatch.setattr(
        digest_handler.clients, "for_digest", lambda: {"dynamodb": stack.dynamodb, "sns": flaky}
    )
    with pytest.raises(digest_handler.DigestsFailed, match="1 digest"):
        digest_handler.lambda_handler({"time": iso(DUE)}, lambda_context)
    assert "InternalError" in logged(caplog)
    assert digest_handler.lambda_handler({"time": iso(DUE)}, lambda_context)["sent"] == 1
    assert len(stack.published()) == 1


def test_a_bad_schedule_time_is_refused_by_name():
    with pytest.raises(ValueError, match="the schedule's time 'soon' is not an ISO 8601 timestamp"):
        digest_handler.scheduled_time({"time": "soon"})


ARN = "arn:aws:sns:us-east-1:123456789012:labelwatch-alerts"


def test_the_settings_are_read_from_the_environment():
    settings = load_settings(environment(ARN, QUERY_CONSOLE_URL="", ALERT_COOLDOWN_MINUTES=" 15 "))
    assert (settings.cooldown_table, settings.digest_index, settings.topic_arn) == (TABLE, INDEX, ARN)
    assert (settings.query_console_url, settings.cooldown_minutes) == ("", 15)


@pytest.mark.parametrize(
    "name",
    [
        "COOLDOWN_TABLE",
        "DIGEST_INDEX",
        "ALERTS_TOPIC_ARN",
        "ANALYTICS_DATABASE",
        "RESULTS_TABLE",
        "ATHENA_WORKGROUP",
        "ALERT_COOLDOWN_MINUTES",
    ],
)
def test_a_missing_setting_is_named(name):
    env = environment(ARN)
    del env[name]
    with pytest.raises(SettingsError, match=f"^{name} is not set: it must name the "):
        load_settings(env)


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("ALERT_COOLDOWN_MINUTES", "0", "must be at least 1, got 0"),
        ("ALERT_COOLDOWN_MINUTES", "an hour", "must be a whole number, got 'an hour'"),
        ("ALERTS_TOPIC_ARN", "labelwatch-alerts", "must be an SNS topic ARN"),
        ("ALERTS_TOPIC_ARN", "arn:aws:sqs:us-east-1:123456789012:q", "must be an SNS topic ARN"),
        ("QUERY_CONSOLE_URL", "console.aws.amazon.com", "must be empty or an http(s):// URL"),
    ],
)
def test_a_bad_setting_is_named_with_its_rule(name, value, rule):
    with pytest.raises(SettingsError) as caught:
        load_settings(environment(ARN, **{name: value}))
    assert str(caught.value).startswith(f"{name} {rule}")
