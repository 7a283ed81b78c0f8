"""The waits of the workflow's Retry policies, as the twin's interpreter sleeps them: measured, and
compressed when asked.

moto's interpreter sleeps each Retry interval (``IntervalSeconds`` × ``BackoffRate``ⁿ, jittered) in
``retrier_decl`` with ``time.sleep``. ``RetryWaits`` replaces that module's ``time`` with one whose
``sleep`` records the interval and sleeps ``scale`` × it: 1 (the default) is real time; the soak
runs at 0.1 and says so in its report; the workflow tests run at 0 and assert on the intervals.
"""

from __future__ import annotations

import importlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from labelwatch.local.patching import Patch

RETRIER_MODULE = "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl"


@dataclass
class RetryWaits:
    scale: float = 1.0  # how much of each interval is slept: 1 real time, 0 none
    waits: list[float] = field(default_factory=list)  # the intervals the workflow asked for, in order
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)
        if self.scale > 0:
            time.sleep(seconds * self.scale)

    def patches(self) -> list[Patch]:
        waits = self

        class _Time:
            """``time`` for moto's retrier: its sleep is ``RetryWaits.sleep``, the rest is ``time``'s."""

            sleep = staticmethod(waits.sleep)

            def __getattr__(self, name: str) -> Any:
                return getattr(time, name)

        return [Patch(importlib.import_module(RETRIER_MODULE), "time", _Time())]
