"""The "now" of a function that EventBridge Scheduler runs once a minute.

The schedules hand in their own time (``{"time": "<aws.scheduler.scheduled-time>"}``,
``infra/schedules.py``), and the functions measure in it rather than in the clock: a late or retried
invocation still decides for the minute it was scheduled for, and the twin compresses time by
handing in its own clock's time. Shared by the model autopilot and the digest sender.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any


def scheduled_time(event: Any) -> float:
    """The invocation's minute: the event's ``time`` (ISO 8601), else the clock."""
    text = event.get("time") if isinstance(event, dict) else None
    if not text:
        return time.time()
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ValueError(f"the schedule's time {text!r} is not an ISO 8601 timestamp") from None
