"""Faults injected into the embedded stack, to prove the workflow absorbs them (tests, `make soak`).

Every fault is triggered by counting events, never by the clock, so a run injects the same faults
at any machine speed:

- ``throttle_every``: every Nth DetectCustomLabels call answers ``ThrottlingException``;
- ``model_stop_at_call`` / ``model_stop_refusals``: the model is stopped at that DetectCustomLabels
  call, which it refuses (``ResourceNotReadyException``) like the calls after it, and started
  again by the first call after that many refusals. The refused images go back to the ingest queue
  and their redeliveries are the calls that end the outage, so it cannot outlast the traffic;
- ``sns_fail_from`` / ``sns_fail_count``: SNS Publish calls number ``sns_fail_from`` up to
  ``sns_fail_from + sns_fail_count - 1`` fail with ``InternalError`` (a publishing outage);
- ``dynamodb_fail_from`` / ``dynamodb_fail_count``: DynamoDB writes (PutItem, UpdateItem, DeleteItem)
  number ``dynamodb_fail_from`` up to ``dynamodb_fail_from + dynamodb_fail_count - 1`` fail with
  ``InternalServerError`` (HTTP 500), as DynamoDB answers a failure on its side; with
  ``dynamodb_fail_after_write`` those writes are made first (the answer was lost, not the write);
- ``deliveries`` (``Emulator.inject``): every S3 event is delivered that many times (EventBridge is
  at-least-once).

Counters record what was injected, so a report can say how much the workflow absorbed.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
from moto.dynamodb.responses import DynamoHandler
from moto.sns.exceptions import SNSException
from moto.sns.models import SNSBackend

from labelwatch.local.patching import Patch

_original_publish = SNSBackend.publish
DYNAMODB_WRITES = ("put_item", "update_item", "delete_item")
_original_dynamodb_writes = {name: getattr(DynamoHandler, name) for name in DYNAMODB_WRITES}

THROTTLED = "ThrottlingException"
NOT_READY = "ResourceNotReadyException"


class SnsInternalError(SNSException):
    code = "InternalError"
    message = "Injected fault: SNS is failing"


class DynamodbInternalServerError(DynamodbException):
    code = 500

    def __init__(self) -> None:
        super().__init__(ERROR_TYPE_PREFIX + "InternalServerError", "Injected fault: DynamoDB is failing")


@dataclass
class Faults:
    throttle_every: int = 0  # every Nth DetectCustomLabels call is throttled (0: none)
    model_stop_at_call: int = 0  # the DetectCustomLabels call (1-based) at which the model stops (0: never)
    model_stop_refusals: int = 1  # calls refused before the model is started again
    sns_fail_from: int = 0  # the first failing SNS Publish call (1-based; 0: no outage)
    sns_fail_count: int = 0  # consecutive Publish calls that fail
    dynamodb_fail_from: int = 0  # the first failing DynamoDB write (1-based; 0: no outage)
    dynamodb_fail_count: int = 0  # consecutive writes that fail
    dynamodb_fail_after_write: bool = False  # the failing writes are applied, then answered with a 500
    # what happened
    detect_calls: int = 0
    throttled: int = 0
    model_refusals: int = 0
    publishes: int = 0
    sns_failures: int = 0
    dynamodb_writes: int = 0
    dynamodb_failures: int = 0
    _stopped: str | None = None  # the ARN of the model this stopped, until it is started again
    _model_stopped_once: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # the model registry whose versions the model faults stop and start (set by Emulator.inject)
    models: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if min(self.throttle_every, self.model_stop_at_call, self.sns_fail_from, self.dynamodb_fail_from) < 0:
            raise ValueError("fault call numbers are 1-based counts (0 disables the fault)")
        if self.throttle_every == 1:
            raise ValueError("throttle_every=1 throttles every call: no image could ever be detected")
        if self.model_stop_at_call and self.model_stop_refusals < 1:
            raise ValueError("a stopped model refuses at least the call that stopped it")

    def end(self) -> None:
        """The faults are over: a model they stopped is started again."""
        with self._lock:
            stopped, self._stopped = self._stopped, None
        if stopped is not None and self.models is not None:
            self.models.start(stopped)

    def _publish_fails(self) -> bool:
        with self._lock:
            self.publishes += 1
            number = self.publishes
            if self.sns_fail_from and self.sns_fail_from <= number < self.sns_fail_from + self.sns_fail_count:
                self.sns_failures += 1
                return True
        return False

    def _dynamodb_write_fails(self) -> bool:
        with self._lock:
            self.dynamodb_writes += 1
            first, count = self.dynamodb_fail_from, self.dynamodb_fail_count
            if first and first <= self.dynamodb_writes < first + count:
                self.dynamodb_failures += 1
                return True
        return False

    def detect_fault(self, arn: str) -> str | None:
        """The error DetectCustomLabels call number N answers, or None to let the model answer."""
        with self._lock:
            self.detect_calls += 1
            number = self.detect_calls
            if self._stopped is not None:
                if self.model_refusals < self.model_stop_refusals:
                    self.model_refusals += 1
                    return NOT_READY
                self.models.start(self._stopped)  # this call is the first one answered
                self._stopped = None
            elif number == self.model_stop_at_call and not self._model_stopped_once:
                self.models.stop(arn)  # DescribeProjectVersions says STOPPED, as on AWS
                self._stopped = arn
                self._model_stopped_once = True
                self.model_refusals += 1
                return NOT_READY
            if self.throttle_every and number % self.throttle_every == 0:
                self.throttled += 1
                return THROTTLED
        return None


def patches(current: Callable[[], Faults | None]) -> list[Patch]:
    """SNS Publish and DynamoDB writes fail while ``current()`` faults say so (the model faults need
    no patch). The DynamoDB writes fail in moto's request handler, before its backend (and the lock
    ``dynamodb_fixes`` puts around it) is reached."""

    def publish(backend: SNSBackend, *args: Any, **kwargs: Any) -> Any:
        faults = current()
        if faults is not None and faults._publish_fails():
            raise SnsInternalError()
        return _original_publish(backend, *args, **kwargs)

    def failing(name: str) -> Callable[[DynamoHandler], Any]:
        def write(handler: DynamoHandler) -> Any:
            faults = current()
            if faults is not None and faults._dynamodb_write_fails():
                if faults.dynamodb_fail_after_write:
                    _original_dynamodb_writes[name](handler)
                raise DynamodbInternalServerError()
            return _original_dynamodb_writes[name](handler)

        return write

    return [
        Patch(SNSBackend, "publish", publish, signature=str(inspect.signature(_original_publish))),
        *(
            Patch(DynamoHandler, name, failing(name), signature=str(inspect.signature(original)))
            for name, original in _original_dynamodb_writes.items()
        ),
    ]
