"""EventBridge Scheduler's part, locally: run the template's schedules on the twin's clock.

moto stores schedules but never fires them. ``LocalScheduler`` fires each ``rate(…)`` schedule of the
template (the model autopilot's, once a minute) the way Scheduler does for a Lambda target: as the
schedule's role, which must be assumable by Scheduler for this schedule (its trust policy, as the
authorizer judges it) and allowed ``lambda:InvokeFunction`` on the target; with the target's Input,
its ``<aws.scheduler.scheduled-time>`` replaced by the scheduled time. A run that is refused or fails
is recorded and not retried (the template's schedules have ``MaximumRetryAttempts`` 0).

Time is the ``TwinClock``'s: with ``scale`` 60 a one-minute rate fires every real second and hands the
function the twin's time, so the function's idle countdown runs 60 times faster too.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from labelwatch.local.clock import TwinClock
from labelwatch.local.provision import ScheduleSpec

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


def rate_seconds(expression: str) -> int:
    """The period of a ``rate(…)`` expression, in seconds; ValueError for anything else (cron, at)."""
    match = _RATE.match(expression.strip())
    if not match:
        raise ValueError(f"the twin runs rate(…) schedules only, not {expression!r}")
    count, unit = int(match.group(1)), match.group(2).rstrip("s")
    if count < 1 or (count != 1) != match.group(2).endswith("s"):
        raise ValueError(f"{expression!r} is not a valid rate expression")
    return count * _UNIT_SECONDS[unit]


def target_input(template: str, scheduled: float) -> str:
    """The target's Input with the context attribute Scheduler fills in."""
    stamp = datetime.fromtimestamp(int(scheduled), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return template.replace(SCHEDULED_TIME, stamp)


@dataclass
class ScheduleRun:
    schedule: str
    scheduled: float  # twin time
    refused: str | None = None  # why Scheduler could not invoke the target
    error: str | None = None  # the function's error type, if it failed
    payload: Any = None


@dataclass
class LocalScheduler:
    specs: list[ScheduleSpec]
    clock: TwinClock
    # (spec, input JSON) -> (payload JSON, function error or None); the Lambda invoke, done as AWS does
    invoke: Callable[[ScheduleSpec, str], tuple[str, str | None]]
    # why the schedule's role may not invoke the target (trust or identity policy), or None
    refused: Callable[[ScheduleSpec], str | None] = lambda spec: None
    runs: deque[ScheduleRun] = field(default_factory=lambda: deque(maxlen=1000))  # the latest
    fired: int = 0  # runs since the start (``runs`` keeps the latest 1,000)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> LocalScheduler:
        for spec in self.specs:
            if spec.state != "ENABLED":
                continue
            period = rate_seconds(spec.expression)
            thread = threading.Thread(
                target=self._loop, args=(spec, period), name=f"local-scheduler-{spec.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """No further run starts; a run under way finishes (at most ``timeout`` seconds)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def run_now(self, spec: ScheduleSpec) -> ScheduleRun:
        """Fire ``spec`` once at the clock's time (what each period does)."""
        scheduled = self.clock.now()
        run = ScheduleRun(spec.name, scheduled)
        run.refused = self.refused(spec)
        if run.refused is None:
            try:
                payload, run.error = self.invoke(spec, target_input(spec.input, scheduled))
                run.payload = json.loads(payload) if payload else None
            except Exception as error:  # the twin itself failed: recorded like a failed delivery
                run.error = f"{type(error).__name__}: {error}"
        with self._changed:
            self.runs.append(run)
            self.fired += 1
            self._changed.notify_all()
        return run

    def wait_for_runs(self, count: int, timeout: float) -> bool:
        """Block until at least ``count`` runs were fired since the start (True), or ``timeout``."""
        with self._changed:
            return self._changed.wait_for(lambda: self.fired >= count, timeout)

    def _loop(self, spec: ScheduleSpec, period: int) -> None:
        # the first run a period after the start, then every period, on the twin's clock (a run
        # that takes long, or a clock that skips ahead, does not make runs pile up)
        due = self.clock.now() + period
        while not self._stop.is_set():
            wait = self.clock.real_seconds(due - self.clock.now())
            if wait > 0 and self._stop.wait(wait):
                return
            if self._stop.is_set():
                return
            self.run_now(spec)
            due = max(due + period, self.clock.now())
