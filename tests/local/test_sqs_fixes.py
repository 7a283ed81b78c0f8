"""moto's SQS with the twin's speed fixes answers exactly as moto does (sqs_fixes)."""

from __future__ import annotations

import pytest
from moto.sqs.models import sqs_backends

from labelwatch.local import sqs_fixes
from labelwatch.local.emulator import Emulator
from labelwatch.local.provision import ACCOUNT_ID

pytestmark = pytest.mark.xdist_group("local-stack")

NAMES = [
    ["ApproximateNumberOfMessages"],
    ["ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed", "MessageRetentionPeriod"],
    ["VisibilityTimeout", "Policy"],
    ["All"],
]


def test_queue_attributes_and_retention_are_those_moto_computes():
    with Emulator() as emulator:
        sqs = emulator.client("sqs")
        url = sqs.create_queue(QueueName="q", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
        for number in range(5):
            sqs.send_message(QueueUrl=url, MessageBody=str(number), DelaySeconds=900 if number == 4 else 0)
        in_flight = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
        backend = sqs_backends[ACCOUNT_ID][emulator.region]
        for names in NAMES:
            expected = sqs_fixes._original_get_attributes(backend, "q", names)
            assert sqs_fixes.get_queue_attributes(backend, "q", names) == expected, names
        assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=NAMES[1])["Attributes"] == {
            "ApproximateNumberOfMessagesNotVisible": str(len(in_flight)),
            "ApproximateNumberOfMessagesDelayed": "1",
            "MessageRetentionPeriod": "60",
        }
        with pytest.raises(Exception, match="InvalidAttributeName"):
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["NoSuchAttribute"])

        # the retention check: a message within the queue's 60 s and one older than that
        fresh, aged = backend.get_queue("q")._messages[2:4]
        aged.sent_timestamp -= 61_000
        for message, valid in ((fresh, True), (aged, False)):
            assert sqs_fixes._original_retention_check(backend, "q", message) is valid
            assert sqs_fixes.is_message_valid_based_on_retention_period(backend, "q", message) is valid


def test_queue_counts_are_those_moto_computes():
    """Visible, in flight, delayed, and a message whose visibility timeout has run out, in one queue."""
    with Emulator() as emulator:
        sqs = emulator.client("sqs")
        url = sqs.create_queue(QueueName="counted")["QueueUrl"]
        for number in range(6):
            sqs.send_message(QueueUrl=url, MessageBody=str(number), DelaySeconds=900 if number == 5 else 0)
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3, VisibilityTimeout=600)["Messages"]
        queue = sqs_backends[ACCOUNT_ID][emulator.region].get_queue("counted")
        expired = next(m for m in queue._messages if m.id == received[0]["MessageId"])
        expired.visible_at -= 601_000  # received, its visibility timeout long over: visible again
        for name in sqs_fixes.COUNTS:
            assert vars(type(queue))[name] is not sqs_fixes._original_counts[name]  # the twin's count
            replaced = getattr(queue, name)
            original = sqs_fixes._original_counts[name].fget(queue)
            assert replaced == original, name
        assert [m.body for m in queue.messages] == ["0", "3", "4"]
        assert queue.approximate_number_of_messages_not_visible == 2
        assert queue.approximate_number_of_messages_delayed == 1
        assert queue.attributes["ApproximateNumberOfMessages"] == 3


def test_the_inlined_message_states_are_still_motos():
    """The counts compare visible_at/delayed_until with the clock as Message.visible/.delayed do."""
    import inspect

    visible, delayed = (inspect.getsource(prop.fget) for prop in sqs_fixes._original_message_state)
    assert "if current_time > self.visible_at:\n            return True\n        return False" in visible
    assert "if current_time < self.delayed_until:\n            return True\n        return False" in delayed


def _receivers_racing(monkeypatch, *, fixed: bool) -> list[int]:
    """Two threads receive from a queue of one message; both reach the marking step before either
    marks, if they can. The receive counts each got."""
    import contextlib
    import threading

    import boto3
    from moto import mock_aws
    from moto.sqs.models import Message

    from labelwatch.local.patching import PatchSet

    both_marking = threading.Barrier(2)
    original = Message.mark_received

    def mark_received(self, *args, **kwargs):
        # Unlocked, the two meet here; locked, the second waits outside and the first goes on alone.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_marking.wait(timeout=1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Message, "mark_received", mark_received)
    fix = PatchSet(sqs_fixes.patches() if fixed else [])
    fix.apply()
    try:
        with mock_aws():
            sqs = boto3.client("sqs", region_name="us-east-1")
            url = sqs.create_queue(QueueName="ingest")["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody="one upload")
            clients = [boto3.client("sqs", region_name="us-east-1") for _ in range(2)]
            counts: list[int] = []

            def receive(index: int) -> None:
                answer = clients[index].receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"]
                )
                counts.extend(
                    int(m["Attributes"]["ApproximateReceiveCount"]) for m in answer.get("Messages", [])
                )

            threads = [threading.Thread(target=receive, args=(index,)) for index in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            return counts
    finally:
        fix.restore()


@pytest.mark.xdist_group("local-stack")  # patches moto process-wide
def test_one_message_goes_to_one_of_two_concurrent_receivers(monkeypatch):
    assert _receivers_racing(monkeypatch, fixed=True) == [1]


@pytest.mark.xdist_group("local-stack")
def test_without_the_fix_moto_hands_one_message_to_both(monkeypatch):
    # Both got the one message (each answer reads the shared count after marking, so the first may
    # already see 2: [1, 2] or [2, 2] depending on the threads' timing; one receiver is the fix's).
    counts = _receivers_racing(monkeypatch, fixed=False)
    assert len(counts) == 2 and max(counts) == 2, f"moto's receive is not atomic: {counts}"
