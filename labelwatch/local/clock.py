"""The twin's clock for the model autopilot: real time, or compressed for demos, tests and the bench.

AWS's autopilot decides once a minute and waits ``modelIdleMinutes`` before it stops the model; a
model takes 10-30 minutes to start. Locally that would make a demo last an hour, so the twin can
compress time: with ``scale`` 60 an autopilot minute lasts one real second. Only what the autopilot
and the model's meter measure runs on this clock (the schedule's minutes, the time it hands the
function, the inference-unit seconds); SQS, Step Functions and Lambda keep real time. Whoever
compresses says so (``describe``): never silently.

``skip`` jumps the clock forward (the bench's quiet hours between bursts, when nothing runs).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class TwinClock:
    scale: float = 1.0  # twin seconds per real second
    start: float | None = None  # the twin's epoch seconds now (default: the real time)
    _origin_real: float = field(default_factory=time.monotonic, repr=False)
    _origin: float = field(default_factory=time.time, repr=False)
    _skipped: float = field(default=0.0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if not self.scale > 0:
            raise ValueError(f"time scale {self.scale!r} must be above 0")
        if self.start is not None:
            self._origin = self.start

    def now(self) -> float:
        """Twin epoch seconds."""
        with self._lock:
            return self._now()

    def _now(self) -> float:
        return self._origin + (time.monotonic() - self._origin_real) * self.scale + self._skipped

    def real_seconds(self, twin_seconds: float) -> float:
        """How long ``twin_seconds`` last in real time."""
        return twin_seconds / self.scale

    def skip(self, twin_seconds: float) -> None:
        """Move the clock forward at once (nothing that runs on it may be mid-way)."""
        if twin_seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._skipped += twin_seconds

    def describe(self) -> str:
        if self.scale == 1:
            return "real time"
        minute = 60 / self.scale
        return f"time compressed {self.scale:g}×: an autopilot minute lasts {minute:g} s"

    def state(self) -> dict[str, float]:
        """What another process needs to read this clock (``labelwatch model usage``)."""
        with self._lock:
            return {"scale": self.scale, "real": time.time(), "twin": self._now()}


def twin_now(state: dict[str, float], real_now: float | None = None) -> float:
    """The twin time of ``state``'s clock at ``real_now`` (default: now), read in another process."""
    real_now = time.time() if real_now is None else real_now
    return state["twin"] + (real_now - state["real"]) * state["scale"]
