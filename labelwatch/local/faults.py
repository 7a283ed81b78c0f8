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
- ``deliveries``: every S3 event is delivered that many times (EventBridge is at-least-once).

Counters record what was injected, so a report can say how much the workflow absorbed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from moto.sns.exceptions import SNSException
from moto.sns.models import SNSBackend

from labelwatch.local import custom_labels, s3_events

_original_publish = SNSBackend.publish

THROTTLED = "ThrottlingException"
NOT_READY = "ResourceNotReadyException"


class SnsInternalError(SNSException):
    code = "InternalError"
    message = "Injected fault: SNS is failing"


@dataclass
class Faults:
    throttle_every: int = 0  # every Nth DetectCustomLabels call is throttled (0: none)
    model_stop_at_call: int = 0  # the DetectCustomLabels call (1-based) at which the model stops (0: never)
    model_stop_refusals: int = 1  # calls refused before the model is started again
    sns_fail_from: int = 0  # the first failing SNS Publish call (1-based; 0: no outage)
    sns_fail_count: int = 0  # consecutive Publish calls that fail
    # what happened
    detect_calls: int = 0
    throttled: int = 0
    model_refusals: int = 0
    publishes: int = 0
    sns_failures: int = 0
    _stopped: str | None = None  # the ARN of the model this stopped, until it is started again
    _model_stopped_once: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.throttle_every < 0 or self.model_stop_at_call < 0 or self.sns_fail_from < 0:
            raise ValueError("fault call numbers are 1-based counts (0 disables the fault)")
        if self.throttle_every == 1:
            raise ValueError("throttle_every=1 throttles every call: no image could ever be detected")
        if self.model_stop_at_call and self.model_stop_refusals < 1:
            raise ValueError("a stopped model refuses at least the call that stopped it")

    def install(self, *, deliveries: int = 1) -> Faults:
        s3_events.DELIVERIES["count"] = deliveries
        custom_labels.REGISTRY.fault = self._detect_fault
        faults = self

        def publish(backend: SNSBackend, *args: Any, **kwargs: Any) -> Any:
            if faults._publish_fails():
                raise SnsInternalError()
            return _original_publish(backend, *args, **kwargs)

        SNSBackend.publish = publish
        return self

    def uninstall(self) -> None:
        """Remove the faults; a model they stopped is started again (the outage is over)."""
        s3_events.DELIVERIES["count"] = 1
        custom_labels.REGISTRY.fault = None
        SNSBackend.publish = _original_publish
        with self._lock:
            stopped, self._stopped = self._stopped, None
        if stopped is not None:
            custom_labels.REGISTRY.start(stopped)

    def _publish_fails(self) -> bool:
        with self._lock:
            self.publishes += 1
            number = self.publishes
            if self.sns_fail_from and self.sns_fail_from <= number < self.sns_fail_from + self.sns_fail_count:
                self.sns_failures += 1
                return True
        return False

    def _detect_fault(self, arn: str) -> str | None:
        """The error DetectCustomLabels call number N answers, or None to let the model answer."""
        with self._lock:
            self.detect_calls += 1
            number = self.detect_calls
            if self._stopped is not None:
                if self.model_refusals < self.model_stop_refusals:
                    self.model_refusals += 1
                    return NOT_READY
                custom_labels.REGISTRY.start(self._stopped)  # this call is the first one answered
                self._stopped = None
            elif number == self.model_stop_at_call and not self._model_stopped_once:
                custom_labels.REGISTRY.stop(arn)  # DescribeProjectVersions says STOPPED, as on AWS
                self._stopped = arn
                self._model_stopped_once = True
                self.model_refusals += 1
                return NOT_READY
            if self.throttle_every and number % self.throttle_every == 0:
                self.throttled += 1
                return THROTTLED
        return None
