"""Make moto's SQS as fast per call as it is correct: no queue-wide recount per message.

moto's ``ReceiveMessage`` asks ``get_queue_attributes(queue, ["MessageRetentionPeriod"])`` for every
message it returns, and ``get_queue_attributes`` builds the whole attribute map (which counts the
visible, in-flight and delayed messages: a pass over the queue each) three times for each name asked.
A receive of 10 messages from a queue holding n messages cost 10 × 3 × 3 passes over n; with a
backlog of a few hundred uploads that was most of the twin's processor time. Here the retention
period is read from the queue itself and the map is built once per call.

The map itself (``Queue.attributes``, which ``SendMessage`` also builds, for every message sent, to
read ``ContentBasedDeduplication``) counts with ``Message.visible`` and ``Message.delayed``, each of
which reads the clock through ``datetime`` arithmetic for every message of the queue. The counts
(``Queue.messages`` and the two ``approximate_number_of_messages_*``) read the clock once per pass
and compare each message's ``visible_at``/``delayed_until`` with it, as those properties do.
Answers are unchanged.

One fix makes moto as strict as SQS: ``ReceiveMessage`` picks visible messages and marks them
received without a lock, and moto's server answers on concurrent threads, so two receivers (the
local Pipe runs two batches at once) could both take one message, the second with a higher receive
count: two live executions of one image, which the claims then let through as a redelivery. SQS
hides a received message from every other receiver for its visibility timeout. Here receives are
serialised (each pass over the queue is short: a long poll waits between passes, outside the lock).
"""

from __future__ import annotations

import inspect
import threading
from typing import Any

from moto.core.utils import unix_time, unix_time_millis
from moto.sqs.models import Message, Queue, SQSBackend

from labelwatch.local.patching import Patch

_original_get_attributes = SQSBackend.get_queue_attributes
_original_receive = SQSBackend.receive_message
_receive_lock = threading.Lock()
_original_retention_check = SQSBackend.is_message_valid_based_on_retention_period
# The properties the counts replace (and the Message properties they inline), for the equivalence test
COUNTS = ("messages", "approximate_number_of_messages_not_visible", "approximate_number_of_messages_delayed")
_original_counts = {name: vars(Queue)[name] for name in COUNTS}
_original_message_state = (vars(Message)["visible"], vars(Message)["delayed"])


def is_message_valid_based_on_retention_period(self: SQSBackend, queue_name: str, message: Any) -> bool:
    queue = self.get_queue(queue_name)
    retain_until = int(queue.message_retention_period) + message.sent_timestamp / 1000
    return retain_until > unix_time()


def get_queue_attributes(self: SQSBackend, queue_name: str, attribute_names: list[str]) -> dict[str, Any]:
    if not attribute_names or "All" in attribute_names:
        return _original_get_attributes(self, queue_name, attribute_names)
    queue = self.get_queue(queue_name)
    valid = ["All", *queue.BASE_ATTRIBUTES, *queue.FIFO_ATTRIBUTES, *queue.KMS_ATTRIBUTES]
    if any(name not in valid for name in attribute_names):  # moto's own InvalidAttributeName
        return _original_get_attributes(self, queue_name, attribute_names)
    current = queue.attributes  # once, not three times per name
    return {name: current[name] for name in attribute_names if current.get(name) is not None}


def messages(self: Queue) -> list[Any]:
    """The visible messages that are not delayed (moto: ``message.visible and not message.delayed``)."""
    now = unix_time_millis()
    return [
        message for message in self._messages if now > message.visible_at and now >= message.delayed_until
    ]


def approximate_number_of_messages_not_visible(self: Queue) -> int:
    now = unix_time_millis()
    return sum(1 for message in self._messages if now <= message.visible_at)


def approximate_number_of_messages_delayed(self: Queue) -> int:
    now = unix_time_millis()
    return sum(1 for message in self._messages if now < message.delayed_until)


def receive_message(
    self: SQSBackend,
    queue_name: str,
    count: int,
    wait_seconds_timeout: int,
    visibility_timeout: int,
    message_attribute_names: list[str] | None = None,
) -> list[Message]:
    """moto's receive, one pass at a time under a lock; a long poll waits for messages between passes
    (as moto does, a second at most each time) without holding it."""
    deadline = unix_time() + wait_seconds_timeout
    while True:
        with _receive_lock:
            received = _original_receive(
                self, queue_name, count, 0, visibility_timeout, message_attribute_names
            )
        remaining = deadline - unix_time()
        if received or remaining <= 0:
            return received
        self.get_queue(queue_name).wait_for_messages(min(1, remaining))


def patches() -> list[Patch]:
    counts = {
        "messages": messages,
        "approximate_number_of_messages_not_visible": approximate_number_of_messages_not_visible,
        "approximate_number_of_messages_delayed": approximate_number_of_messages_delayed,
    }
    return [
        *(Patch(Queue, name, property(count)) for name, count in counts.items()),
        Patch(
            SQSBackend,
            "is_message_valid_based_on_retention_period",
            is_message_valid_based_on_retention_period,
            signature=str(inspect.signature(_original_retention_check)),
        ),
        Patch(
            SQSBackend,
            "get_queue_attributes",
            get_queue_attributes,
            signature=str(inspect.signature(_original_get_attributes)),
        ),
        Patch(
            SQSBackend,
            "receive_message",
            receive_message,
            signature=str(inspect.signature(_original_receive)),
        ),
    ]
