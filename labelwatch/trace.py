"""The path one execution, and each image in it, took through the workflow, from its log events.

An Express execution's history is only in the state machine's log group (Step Functions writes one
JSON event per history event there; the twin does the same, ``labelwatch.local.execution_logs``).
Each event names the one before it (``previous_event_id``), so an event belongs to the Map iteration
its chain leads back to, which is how one image's states are told from its batch's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

FAILURE_EVENTS = ("Failed", "TimedOut", "StartFailed", "SubmitFailed", "ScheduleFailed")
ITERATION_ENDS = frozenset({"MapIterationSucceeded", "MapIterationFailed", "MapIterationAborted"})
ENDS = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}


@dataclass
class Attempt:
    """One failed try of a task state: the error and cause its task reported."""

    error: str
    cause: str


@dataclass
class StateVisit:
    name: str
    entered_ms: int
    exited_ms: int | None = None
    failures: list[Attempt] = field(default_factory=list)
    input: str | None = None
    output: str | None = None
    caught: str | None = None  # the error a Catch took to the next state
    last_try_failed: bool = False

    @property
    def duration_ms(self) -> int | None:
        return None if self.exited_ms is None else self.exited_ms - self.entered_ms

    @property
    def retries(self) -> int:
        """Tries after a failure (the last one, caught or not, was not retried)."""
        return len(self.failures) - (1 if self.last_try_failed else 0)


@dataclass
class ImageTrace:
    """One Map iteration: one image of the batch."""

    index: int
    key: str | None = None  # from ParseEvent's output (None when the log has no execution data)
    bucket: str | None = None
    visits: list[StateVisit] = field(default_factory=list)
    status: str = "RUNNING"  # the iteration's end: SUCCEEDED, FAILED, ABORTED

    @property
    def outcome(self) -> str:
        """The last state the image reached (Done, Failed, RetryLater, SkipDuplicate)."""
        return self.visits[-1].name if self.visits else "-"


@dataclass
class ExecutionTrace:
    arn: str
    started_ms: int | None = None
    ended_ms: int | None = None
    status: str = "UNKNOWN"  # without an end event (a log level that leaves it out, or still running)
    visits: list[StateVisit] = field(default_factory=list)  # the states outside the Map's iterations
    unplaced: list[Attempt] = field(default_factory=list)  # failures logged without their state (ERROR)
    images: list[ImageTrace] = field(default_factory=list)
    has_data: bool = False

    @property
    def duration_ms(self) -> int | None:
        if self.started_ms is None or self.ended_ms is None:
            return None
        return self.ended_ms - self.started_ms

    def image(self, key: str) -> ImageTrace | None:
        return next((image for image in self.images if image.key == key), None)


EXECUTION_ARN = re.compile(r"^arn:[\w-]+:states:[\w-]+:\d{12}:(execution|express):[^:]+:.+$")


def is_execution_arn(text: str) -> bool:
    """A Standard (``:execution:``) or Express (``:express:``) execution's ARN."""
    return EXECUTION_ARN.match(text) is not None


def parse_events(messages: Iterable[str | dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Log events (their JSON text, or parsed) by execution ARN, each execution's in id order."""
    by_execution: dict[str, list[dict[str, Any]]] = {}
    for message in messages:
        event = json.loads(message) if isinstance(message, str) else message
        by_execution.setdefault(event["execution_arn"], []).append(event)
    for events in by_execution.values():
        events.sort(key=lambda event: int(event["id"]))
    return by_execution


def trace_execution(arn: str, events: list[dict[str, Any]]) -> ExecutionTrace:
    """The trace of one execution from its log events (any level; what was not logged is missing)."""
    trace = ExecutionTrace(arn=arn)
    by_id = {int(event["id"]): event for event in events}
    # The innermost Map iteration each event is in (its MapIterationStarted event's id), read in id
    # order: an event is in its previous event's iteration, unless that one started an iteration
    # (then in it) or ended one (then in the iteration around that one: nested Maps, an image's
    # alerts). An image is an iteration of the outermost Map.
    scope_of: dict[int, int | None] = {}
    parent_of: dict[int, int | None] = {}
    for event_id in sorted(by_id):
        event = by_id[event_id]
        previous = int(event.get("previous_event_id") or 0)
        before = by_id.get(previous)
        outer = scope_of.get(previous) if before is not None else None
        if before is not None and before["type"] in ITERATION_ENDS and outer is not None:
            outer = parent_of.get(outer)
        elif before is not None and before["type"] == "MapIterationStarted":
            outer = previous
        if event["type"] == "MapIterationStarted":
            parent_of[event_id] = outer
            scope_of[event_id] = event_id
        else:
            scope_of[event_id] = outer

    def image_index(scope: int | None) -> int | None:
        """The outermost Map iteration around ``scope``: the image's index in its batch."""
        if scope is None:
            return None
        while parent_of.get(scope) is not None:
            scope = parent_of[scope]
        return int(by_id[scope]["details"].get("index", 0))

    images: dict[int, ImageTrace] = {}
    open_visit: dict[int | None, StateVisit] = {}  # by innermost iteration: alerts run side by side

    for event in events:
        event_id, kind, details = int(event["id"]), event["type"], event.get("details") or {}
        at = int(event["event_timestamp"])
        scope = scope_of.get(event_id)
        where = image_index(scope)
        top_level_iteration = scope is not None and parent_of.get(scope) is None
        if kind == "ExecutionStarted":
            trace.started_ms = at
        elif kind in ENDS:
            trace.ended_ms, trace.status = at, ENDS[kind]
        if kind.startswith("MapIteration"):
            if kind == "MapIterationStarted" and top_level_iteration:
                images.setdefault(where, ImageTrace(index=where))
            elif top_level_iteration:
                ended = images.setdefault(where, ImageTrace(index=where))
                ended.status = kind.removeprefix("MapIteration").upper()
            continue
        visits = trace.visits if where is None else images.setdefault(where, ImageTrace(index=where)).visits
        if kind.endswith("StateEntered"):
            visit = StateVisit(name=details.get("name", "?"), entered_ms=at, input=details.get("input"))
            previous = open_visit.get(scope)
            if previous is not None and previous.exited_ms is None:
                previous.exited_ms = at  # left without an exit event: a Catch
            if previous is not None and previous.last_try_failed and previous.caught is None:
                previous.caught = previous.failures[-1].error
            visits.append(visit)
            open_visit[scope] = visit
            trace.has_data = trace.has_data or "input" in details
        elif kind.endswith("StateExited"):
            visit = open_visit.get(scope)
            if visit is not None:
                visit.exited_ms, visit.output = at, details.get("output")
                if where is not None and visit.name == "ParseEvent" and visit.output:
                    _name_the_image(images[where], visit.output)
        elif kind.endswith(FAILURE_EVENTS) and not kind.startswith(("Map", "Execution")):
            visit = open_visit.get(scope)
            attempt = Attempt(details.get("error", ""), details.get("cause", ""))
            if visit is not None:
                visit.failures.append(attempt)
                visit.last_try_failed = True
            else:  # at level ERROR the state it failed in was not logged
                trace.unplaced.append(attempt)
        elif kind.endswith("Succeeded") and not kind.startswith(("Map", "Execution")):
            visit = open_visit.get(scope)
            if visit is not None:
                visit.last_try_failed = False
    trace.images = [images[index] for index in sorted(images)]
    return trace


def _name_the_image(image: ImageTrace, output: str) -> None:
    try:
        parsed = json.loads(output)
    except ValueError:
        return
    if isinstance(parsed, dict):
        key = parsed.get("key")
        # S3's event carries the key URL-encoded ('+' a space): decoded as detect.keys.decode_key does
        image.key = unquote_plus(key, encoding="utf-8", errors="replace") if isinstance(key, str) else None
        image.bucket = parsed.get("bucket")


def _ms(value: int | None) -> str:
    return "-" if value is None else f"{value} ms" if value < 10_000 else f"{value / 1000:.1f} s"


def _cause(cause: str, limit: int = 160) -> str:
    """A failure's cause on one line: the handler's errorMessage when it is Lambda's JSON."""
    try:
        parsed = json.loads(cause)
        if isinstance(parsed, dict) and parsed.get("errorMessage"):
            cause = str(parsed["errorMessage"])
    except ValueError:
        pass
    cause = " ".join(cause.split())
    return cause if len(cause) <= limit else cause[: limit - 1] + "…"


def render_image(trace: ExecutionTrace, image: ImageTrace) -> list[str]:
    """The text of one image's path: each state, its duration, its failed tries, the Catch taken."""
    lines = [
        f"image:     {image.key if image.key is not None else f'#{image.index} (no execution data logged)'}",
        f"execution: {trace.arn}",
        f"           {trace.status}, {_ms(trace.duration_ms)}, {len(trace.images)} image(s) in the batch",
        f"outcome:   {image.outcome} (iteration {image.status.lower()})",
        "",
    ]
    if not image.visits:
        lines.append("  (no states logged: the log level leaves them out)")
    for visit in image.visits:
        note = ""
        if visit.retries:
            note = f"  {visit.retries} retr{'y' if visit.retries == 1 else 'ies'}"
        if visit.caught:
            note += f"  caught {visit.caught}"
        lines.append(f"  {visit.name:<22} {_ms(visit.duration_ms):>9}{note}")
        for number, attempt in enumerate(visit.failures, 1):
            lines.append(f"      try {number} failed: {attempt.error}: {_cause(attempt.cause)}")
    return lines


def render_execution(trace: ExecutionTrace) -> list[str]:
    lines = [
        f"execution: {trace.arn}",
        f"           {trace.status}, {_ms(trace.duration_ms)}, {len(trace.images)} image(s)",
        "",
    ]
    for attempt in trace.unplaced:
        lines.append(f"  failed (state not logged): {attempt.error}: {_cause(attempt.cause)}")
    for image in trace.images:
        retried = sum(visit.retries for visit in image.visits)
        key = image.key if image.key is not None else f"#{image.index}"
        note = f" ({retried} retr{'y' if retried == 1 else 'ies'})" if retried else ""
        lines.append(f"  {key}: {image.outcome}{note}")
    return lines


def fetch_events(logs: Any, group: str, execution_arn: str) -> list[dict[str, Any]]:
    """One execution's log events from ``group`` (a quoted-term filter on its ARN), in order."""
    messages = log_messages(logs, group, filterPattern=f'"{execution_arn}"')
    return parse_events(messages).get(execution_arn, [])


def log_messages(logs: Any, group: str, limit: int | None = None, **filters: Any) -> list[str]:
    """The messages of ``group``'s events matching ``filters`` (FilterLogEvents' own), every page
    of them, or until ``limit`` are read."""
    messages: list[str] = []
    kwargs: dict[str, Any] = {"logGroupName": group, **filters}
    while limit is None or len(messages) < limit:
        page = logs.filter_log_events(**kwargs)
        messages += [event["message"] for event in page.get("events", [])]
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    return messages
