"""The model autopilot's decision: what to do now, from what is observed and what was remembered.

A Custom Labels model bills every hour it runs, idle or not. With ``on-demand`` the autopilot runs
it only while images wait: it starts the model when the ingest queue has work, keeps the Pipe (the
queue's only consumer) stopped until the model is ``RUNNING`` so waiting messages are not received
and returned over and over (each receive counts towards the ingest DLQ), and once the queue has
been empty for ``idle_minutes`` it stops the Pipe and then the model. ``always-on`` starts the model
whenever it is found stopped; ``manual`` leaves model and Pipe to the user.

``decide`` is a pure function, called once a minute by a schedule (on AWS) or a local scheduler
(the twin) with fresh observations; what must survive between calls (since when the queue is idle,
the backoff of a failed start) is the ``Memory`` it returns.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

MODES = ("manual", "on-demand", "always-on")

# DescribeProjectVersions statuses from which StartProjectVersion may be called
STARTABLE = frozenset({"STOPPED", "TRAINING_COMPLETED", "COPYING_COMPLETED", "FAILED"})
# Pipe states in which it receives messages, or will
PIPE_ON = frozenset({"RUNNING", "STARTING"})
PIPE_OFF = frozenset({"STOPPED", "STOPPING"})

FIRST_RETRY_MINUTES = 1
MAX_RETRY_MINUTES = 60


class Action(enum.Enum):
    START_MODEL = "start-model"
    STOP_MODEL = "stop-model"
    START_PIPE = "start-pipe"
    STOP_PIPE = "stop-pipe"


@dataclass(frozen=True)
class QueueCounts:
    """The ingest queue's ApproximateNumberOfMessages, …NotVisible (in flight) and …Delayed."""

    visible: int = 0
    in_flight: int = 0
    delayed: int = 0

    @property
    def empty(self) -> bool:
        return self.visible == 0 and self.in_flight == 0 and self.delayed == 0


@dataclass(frozen=True)
class Settings:
    mode: str = "on-demand"
    idle_minutes: int = 10

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode {self.mode!r} is not one of {', '.join(MODES)}")
        if self.idle_minutes < 1:
            raise ValueError(f"idle_minutes {self.idle_minutes} must be at least 1")


@dataclass(frozen=True)
class Observation:
    queue: QueueCounts
    model_status: str  # DescribeProjectVersions' Status
    pipe_state: str  # DescribePipe's CurrentState
    now: float  # epoch seconds


@dataclass(frozen=True)
class Memory:
    """What the autopilot carries from one decision to the next."""

    idle_since: float | None = None  # when the queue was first seen empty with the model running
    failed_starts: int = 0  # starts that ended FAILED since the model last ran
    retry_start_at: float | None = None  # the earliest time of the next start after a failure


@dataclass(frozen=True)
class Decision:
    actions: tuple[Action, ...]
    memory: Memory
    reason: str  # one line, for the log and ``labelwatch model status``
    start_failed: bool = False  # a start ended FAILED (this decision saw it first): the alarm's metric
    found_stopped: bool = False  # always-on found the model not running and starts it: the alarm's metric
    stops_at: float | None = None  # when the model will be stopped if nothing arrives


def retry_delay_seconds(failed_starts: int) -> float:
    """Backoff after the ``failed_starts``-th failed start: 1, 2, 4 … minutes, at most an hour."""
    return 60.0 * min(FIRST_RETRY_MINUTES * 2 ** max(failed_starts - 1, 0), MAX_RETRY_MINUTES)


def decide(observation: Observation, memory: Memory, settings: Settings) -> Decision:
    if settings.mode == "manual":
        return Decision((), Memory(), "modelControl is manual: the model and the Pipe are left as they are")
    status = observation.model_status
    if status == "RUNNING":
        return _running(observation, replace(memory, failed_starts=0, retry_start_at=None), settings)
    pipe_off = () if observation.pipe_state in PIPE_OFF else (Action.STOP_PIPE,)
    memory = replace(memory, idle_since=None)
    wanted = settings.mode == "always-on" or not observation.queue.empty
    if status == "FAILED":
        return _failed(observation, memory, pipe_off, wanted)
    if status in STARTABLE and wanted:
        why = "images wait" if not observation.queue.empty else "modelControl is always-on"
        return Decision(
            (*pipe_off, Action.START_MODEL),
            memory,
            f"model {status}, {why}: starting it",
            found_stopped=settings.mode == "always-on",
        )
    if status in ("STARTING", "STOPPING"):
        waiting = "" if observation.queue.empty else "; images wait on the queue"
        then = "then the Pipe starts" if status == "STARTING" else "then the next image starts it again"
        return Decision(pipe_off, memory, f"model {status}: waiting ({then}){waiting}")
    if status in STARTABLE:
        return Decision(pipe_off, memory, f"model {status} and no images wait")
    return Decision(pipe_off, memory, f"model {status}: it cannot be started; images wait on the queue")


def _running(observation: Observation, memory: Memory, settings: Settings) -> Decision:
    queue, pipe = observation.queue, observation.pipe_state
    if not queue.empty or settings.mode == "always-on":
        memory = replace(memory, idle_since=None)
        if pipe in PIPE_ON:
            return Decision((), memory, "model RUNNING, Pipe running")
        if pipe in PIPE_OFF:
            return Decision((Action.START_PIPE,), memory, "model RUNNING: starting the Pipe")
        return Decision((), memory, f"model RUNNING, Pipe {pipe}: waiting for it")
    idle_since = memory.idle_since if memory.idle_since is not None else observation.now
    memory = replace(memory, idle_since=idle_since)
    stops_at = idle_since + settings.idle_minutes * 60
    if observation.now < stops_at:
        minutes = (stops_at - observation.now) / 60
        return Decision(
            (),
            memory,
            f"model RUNNING, queue empty: it stops in {minutes:.0f} min if nothing arrives",
            stops_at=stops_at,
        )
    if pipe in PIPE_ON:  # first the Pipe, so nothing new is received while the model stops
        return Decision((Action.STOP_PIPE,), memory, "queue idle: stopping the Pipe", stops_at=stops_at)
    if pipe == "STOPPED":
        return Decision(
            (Action.STOP_MODEL,),
            replace(memory, idle_since=None),
            "queue idle, Pipe stopped: stopping the model",
        )
    return Decision((), memory, f"queue idle, Pipe {pipe}: waiting for it", stops_at=stops_at)


def _failed(observation: Observation, memory: Memory, pipe_off: tuple[Action, ...], wanted: bool) -> Decision:
    if not wanted:
        return Decision(pipe_off, replace(memory, retry_start_at=None), "model FAILED and no images wait")
    if memory.retry_start_at is None:  # seen for the first time: alarm, and back off
        failed = memory.failed_starts + 1
        delay = retry_delay_seconds(failed)
        retry_at = observation.now + delay
        memory = replace(memory, failed_starts=failed, retry_start_at=retry_at)
        return Decision(
            pipe_off,
            memory,
            f"model FAILED to start ({failed} time(s)): retrying in {delay / 60:.0f} min",
            start_failed=True,
        )
    if observation.now >= memory.retry_start_at:
        memory = replace(memory, retry_start_at=None)
        return Decision((*pipe_off, Action.START_MODEL), memory, "model FAILED: starting it again")
    minutes = (memory.retry_start_at - observation.now) / 60
    return Decision(pipe_off, memory, f"model FAILED: next start in {minutes:.0f} min")
