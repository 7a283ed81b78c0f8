"""Faults injected into the embedded stack, to prove the workflow absorbs them (tests, `make soak`).

- ``throttle_share``: that share of DetectCustomLabels calls answers ``ThrottlingException``;
- ``sns_failing``: while set, SNS Publish fails with ``InternalError`` (a publishing outage);
- ``deliveries``: every S3 event is delivered that many times (EventBridge is at-least-once);
- the model can be stopped and started through ``custom_labels.REGISTRY`` as on AWS.

Counters record what was injected, so a report can say how much the workflow absorbed.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

from moto.sns.exceptions import SNSException
from moto.sns.models import SNSBackend

from labelwatch.local import custom_labels, s3_events

_original_publish = SNSBackend.publish


class SnsInternalError(SNSException):
    code = "InternalError"
    message = "Injected fault: SNS is failing"


@dataclass
class Faults:
    throttle_share: float = 0.0
    sns_failing: bool = False
    seed: int = 0
    throttled: int = 0
    sns_failures: int = 0
    _rng: random.Random = field(default_factory=random.Random)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self, *, deliveries: int = 1) -> Faults:
        self._rng.seed(self.seed)
        s3_events.DELIVERIES["count"] = deliveries
        custom_labels.REGISTRY.fault = self._detect_fault
        faults = self

        def publish(backend: SNSBackend, *args: Any, **kwargs: Any) -> Any:
            if faults.sns_failing:
                with faults._lock:
                    faults.sns_failures += 1
                raise SnsInternalError()
            return _original_publish(backend, *args, **kwargs)

        SNSBackend.publish = publish
        return self

    def uninstall(self) -> None:
        s3_events.DELIVERIES["count"] = 1
        custom_labels.REGISTRY.fault = None
        SNSBackend.publish = _original_publish

    def _detect_fault(self, arn: str) -> str | None:
        with self._lock:
            if self.throttle_share and self._rng.random() < self.throttle_share:
                self.throttled += 1
                return "ThrottlingException"
        return None
