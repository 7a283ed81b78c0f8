"""Wait for a queue's messages in a way a stopping twin can end at once.

The Pipe's receive waits between batches as SQS long polling does. moto's long poll
(``ReceiveMessage`` with ``WaitTimeSeconds``) waits inside moto on the queue's condition and
nobody can end it early, so every stop of a stack waited out a Pipe's poll (a second). Here the
Pipe asks with short receives and waits on the same condition, which moto notifies when a message
is added; ``end()`` wakes every waiter. A message whose visibility timeout runs out sends no
notification (in moto's long poll neither): a wait lasts at most its timeout, then the Pipe asks again.
"""

from __future__ import annotations

import threading

from moto.sqs.models import sqs_backends


class QueueWaits:
    def __init__(self, account: str, region: str) -> None:
        self.account = account
        self.region = region
        self._ended = threading.Event()

    def wait(self, queue_name: str, timeout: float) -> bool:
        """Until ``queue_name`` has a visible message (True), the waits are ended or ``timeout`` passes."""
        if self._ended.is_set():
            return False
        queue = sqs_backends[self.account][self.region].get_queue(queue_name)
        with queue._messages_lock:
            queue._messages_lock.wait_for(lambda: self._ended.is_set() or bool(queue.messages), timeout)
        return not self._ended.is_set() and bool(queue.messages)

    def end(self) -> None:
        """Wake every waiter now, and make later waits return at once (the twin is stopping)."""
        self._ended.set()
        for queue in list(sqs_backends[self.account][self.region].queues.values()):
            with queue._messages_lock:
                queue._messages_lock.notify_all()

    def reset(self) -> None:
        self._ended.clear()
