"""Play the EventBridge Pipe's part locally (moto has no Pipes runtime).

Faithful to the Pipe with an SQS source and a Step Functions target in REQUEST_RESPONSE mode:
collect up to ``batch_size`` messages within the batching window, hand the state machine the
JSON array of SQS records the Pipe sends, wait for the execution, then delete only what
succeeded: a failed execution leaves the whole batch on the queue, and the ``itemIdentifier``s
in the output's ``batchItemFailures`` stay on the queue for SQS to redeliver after the
visibility timeout (and after ``maxReceiveCount`` receives, in the ingest DLQ).

The Pipe's state is moto's Pipe (DescribePipe, StartPipe and StopPipe answer from it), moved as the
Pipe service moves it: ``receiving()`` is what the Pipe's pollers (``LocalStack``'s loop) ask before
each batch; ``run_once`` and ``drain`` are a test's "the Pipe polls now" and do not ask. A Pipe
whose desired state is STOPPED receives nothing; it reads ``STOPPING`` while a batch it took is
still running and ``STOPPED`` once none is. StartPipe makes it ``STARTING``, then ``RUNNING`` at its
next poll. moto would advance the state by itself (a stopped Pipe read as RUNNING at once):
``patches()`` turns that off while the twin runs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from labelwatch.local.patching import Patch
from labelwatch.local.provision import ACCOUNT_ID, PipeSpec

MAX_RECEIVE_PER_CALL = 10  # SQS's own limit per ReceiveMessage call, and per entry list of a …Batch call
LONG_POLL_SECONDS = 1  # the longest wait for messages between two receives (as a long poll's)


@dataclass
class BatchOutcome:
    execution_arn: str
    status: str
    message_ids: list[str]
    deleted: list[str]
    left_on_queue: list[str]
    output: Any = None
    error: str | None = None


@dataclass
class LocalPipe:
    spec: PipeSpec
    client: Callable[[str], Any]
    region: str
    # The execution's description once it ended, or None at the timeout: the wait of the Pipe's
    # StartSyncExecution (the twin's ``ExecutionEnds.wait``)
    wait_for_end: Callable[[str, float], dict[str, Any] | None]
    # Between receives that found nothing: wait until the queue may have a message (True), at most
    # the given seconds (the twin's ``QueueWaits.wait``, which a stopping twin ends at once, where
    # SQS's own long poll, ``WaitTimeSeconds``, would hold the stop for its length)
    wait_for_messages: Callable[[float], bool]
    poll_interval: float = 0.05
    # Time compression for tests and the soak: a message left on the queue becomes visible again
    # after this many seconds instead of the queue's visibility timeout (6 minutes by default).
    retry_visibility_seconds: int | None = None
    # Clients signed as the Pipe's role (its SQS calls are authorized as AWS would); None: ``client``
    role_client: Callable[[str], Any] | None = None
    # Whether the Pipe's role may start the target (states:StartSyncExecution): None, or why not
    start_refused: Callable[[], str | None] = lambda: None
    stopping: threading.Event = field(default_factory=threading.Event)  # set: no further receives
    batches: list[BatchOutcome] = field(default_factory=list)
    _names: itertools.count = field(default_factory=itertools.count)
    _active: int = 0  # batches taken and not yet finished
    _state_lock: threading.Lock = field(default_factory=threading.Lock)

    # --- the Pipe's state (DescribePipe's CurrentState) ------------------------------------------
    def receiving(self) -> bool:
        """Whether the Pipe may receive now (its desired state RUNNING); moves its current state."""
        pipe = moto_pipe(self.spec, self.region)
        if pipe is None:  # a Pipe the twin did not create (a hand-made spec): it always runs
            return True
        with self._state_lock:
            if pipe.desired_state == "RUNNING":
                pipe.status = "RUNNING"
                return True
            pipe.status = "STOPPING" if self._active else "STOPPED"
            return False

    @cached_property
    def queue_url(self) -> str:
        arn = self.spec.source_queue_arn
        return self._sqs().get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]

    def _sqs(self) -> Any:
        return (self.role_client or self.client)("sqs")

    def receive_batch(self, *, wait: bool = True) -> list[dict[str, Any]]:
        """Messages for one batch: up to batch_size, waiting at most the batching window.

        Waiting is as SQS long polling does it (the Pipe service's way): after a receive that found
        nothing, ``wait_for_messages`` until a message arrives, at most ``LONG_POLL_SECONDS`` at a
        time, within the window. Short polls every ``poll_interval`` had cost the twin 20 receives a
        second per poller while the queue was empty.
        """
        sqs = self._sqs()
        url = self.queue_url
        deadline = time.monotonic() + (self.spec.batching_window_seconds if wait else 0)
        messages: list[dict[str, Any]] = []
        while len(messages) < self.spec.batch_size and not self.stopping.is_set():
            response = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(MAX_RECEIVE_PER_CALL, self.spec.batch_size - len(messages)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received = response.get("Messages", [])
            messages.extend(received)
            if received:
                continue
            window = deadline - time.monotonic()
            if window <= 0:
                break
            self.wait_for_messages(min(float(LONG_POLL_SECONDS), window))
        return messages

    def to_pipe_records(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The array the Pipe hands its target: SQS records in the Lambda/Pipes event shape."""
        return [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": self.spec.source_queue_arn,
                "awsRegion": self.region,
            }
            for message in messages
        ]

    def run_once(self, *, wait: bool = True, timeout: float = 330.0) -> BatchOutcome | None:
        """One batch through the workflow, whatever the Pipe's state; None when the queue had nothing."""
        with self._state_lock:
            self._active += 1
        try:
            messages = self.receive_batch(wait=wait)
            return self._run(messages, timeout) if messages else None
        finally:
            with self._state_lock:
                self._active -= 1

    def _run(self, messages: list[dict[str, Any]], timeout: float) -> BatchOutcome:
        refused = self.start_refused()
        if refused is not None:  # the Pipe cannot invoke its target: the batch stays on the queue
            outcome = BatchOutcome(
                execution_arn="",
                status="FAILED",
                message_ids=[m["MessageId"] for m in messages],
                deleted=[],
                left_on_queue=sorted(m["MessageId"] for m in messages),
                error=refused,
            )
            self.batches.append(outcome)
            return outcome
        # moto has no StartSyncExecution: the twin starts the execution and waits for it, having
        # authorized the Pipe's StartSyncExecution above
        sfn = self.client("stepfunctions")
        execution_arn = sfn.start_execution(
            stateMachineArn=self.spec.target_state_machine_arn,
            name=f"pipe-{int(time.time() * 1000)}-{next(self._names)}",
            input=json.dumps(self.to_pipe_records(messages)),
        )["executionArn"]
        description = self._wait(execution_arn, timeout)
        status = description["status"]
        ids = [message["MessageId"] for message in messages]
        keep: set[str] = set(ids)
        output = None
        if status == "SUCCEEDED":
            output = json.loads(description.get("output") or "{}")
            failures = output.get("batchItemFailures", []) if isinstance(output, dict) else []
            keep = {item["itemIdentifier"] for item in failures}
        sqs = self._sqs()
        url = self.queue_url
        not_deleted = _in_batches(
            sqs.delete_message_batch,
            url,
            [
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                for n, m in enumerate(messages)
                if m["MessageId"] not in keep
            ],
        )
        keep |= {messages[int(entry_id)]["MessageId"] for entry_id in not_deleted}  # still on the queue
        if self.retry_visibility_seconds is not None:
            _in_batches(
                sqs.change_message_visibility_batch,
                url,
                [
                    {
                        "Id": str(n),
                        "ReceiptHandle": m["ReceiptHandle"],
                        "VisibilityTimeout": self.retry_visibility_seconds,
                    }
                    for n, m in enumerate(messages)
                    if m["MessageId"] in keep
                ],
            )
        outcome = BatchOutcome(
            execution_arn=execution_arn,
            status=status,
            message_ids=ids,
            deleted=[m["MessageId"] for m in messages if m["MessageId"] not in keep],
            left_on_queue=sorted(keep),
            output=output,
            error=description.get("error"),
        )
        self.batches.append(outcome)
        return outcome

    def drain(self, *, max_batches: int = 1000) -> list[BatchOutcome]:
        """Run batches until the queue has no visible message."""
        outcomes = []
        for _ in range(max_batches):
            outcome = self.run_once(wait=False)
            if outcome is None:
                break
            outcomes.append(outcome)
        return outcomes

    def _wait(self, execution_arn: str, timeout: float) -> dict[str, Any]:
        description = self.wait_for_end(execution_arn, timeout)
        if description is None:
            raise TimeoutError(f"execution {execution_arn} still running after {timeout}s")
        return description


def moto_pipe(spec: PipeSpec, region: str) -> Any:
    """The Pipe as moto keeps it (what DescribePipe answers from), or None."""
    from moto.pipes.models import pipes_backends

    return pipes_backends[ACCOUNT_ID][region].pipes.get(spec.name)


def settle(spec: PipeSpec, region: str) -> None:
    """A Pipe just created is in its desired state (CloudFormation waits for it)."""
    pipe = moto_pipe(spec, region)
    if pipe is not None:
        pipe.status = "RUNNING" if pipe.desired_state == "RUNNING" else "STOPPED"


def _plain_status(pipe: Any) -> str | None:
    return pipe._status


def _set_status(pipe: Any, value: str) -> None:
    pipe._status = value


def patches() -> list[Patch]:
    """moto's Pipe status as set (by StartPipe, StopPipe and the local Pipe), never advanced by reading."""
    from moto.pipes.models import Pipe

    return [Patch(Pipe, "status", property(_plain_status, _set_status), missing_ok=True)]


def _in_batches(call: Callable[..., dict[str, Any]], url: str, entries: list[dict[str, Any]]) -> list[str]:
    """``call`` (an SQS ``…Batch`` operation) over ``entries``, 10 per request; the ids that failed."""
    failed: list[str] = []
    for start in range(0, len(entries), MAX_RECEIVE_PER_CALL):
        answer = call(QueueUrl=url, Entries=entries[start : start + MAX_RECEIVE_PER_CALL])
        failed += [entry["Id"] for entry in answer.get("Failed", [])]
    return failed
