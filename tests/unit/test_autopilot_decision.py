"""The autopilot's decision, transition by transition, and over simulated days of bursts.

The model is what costs (an inference unit bills every hour it runs), so the autopilot must run it
only while images wait, never lose an image to the ingest DLQ by receiving it while the model is
not running, and back off from a start that fails.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from autopilot.decision import (
    Action,
    Memory,
    Observation,
    QueueCounts,
    Settings,
    decide,
    retry_delay_seconds,
)

START, STOP = Action.START_MODEL, Action.STOP_MODEL
PIPE_ON, PIPE_OFF = Action.START_PIPE, Action.STOP_PIPE
WAITING = QueueCounts(visible=3)
EMPTY = QueueCounts()
NOW = 1_000_000.0


def act(queue, model, pipe, memory=None, mode="on-demand", now=NOW, idle_minutes=10):
    return decide(
        Observation(queue, model, pipe, now),
        memory or Memory(),
        Settings(mode=mode, idle_minutes=idle_minutes),
    )


@pytest.mark.parametrize(
    ("queue", "model", "pipe", "actions"),
    [
        # images wait
        (WAITING, "STOPPED", "STOPPED", (START,)),
        (WAITING, "TRAINING_COMPLETED", "STOPPED", (START,)),  # trained, never started
        (WAITING, "STOPPED", "RUNNING", (PIPE_OFF, START)),  # no receives while it cannot answer
        (WAITING, "STARTING", "STOPPED", ()),
        (WAITING, "STARTING", "RUNNING", (PIPE_OFF,)),
        (WAITING, "RUNNING", "STOPPED", (PIPE_ON,)),
        (WAITING, "RUNNING", "STOPPING", (PIPE_ON,)),
        (WAITING, "RUNNING", "RUNNING", ()),
        (WAITING, "RUNNING", "STARTING", ()),
        (WAITING, "STOPPING", "STOPPED", ()),  # it starts again once STOPPED
        (WAITING, "DEPRECATED", "STOPPED", ()),  # cannot be started: the backlog alarm tells
        (QueueCounts(in_flight=1), "STOPPED", "STOPPED", (START,)),
        (QueueCounts(delayed=1), "STOPPED", "STOPPED", (START,)),
        # nothing waits
        (EMPTY, "STOPPED", "STOPPED", ()),
        (EMPTY, "STOPPED", "RUNNING", (PIPE_OFF,)),  # stopped by hand: nothing should receive
        (EMPTY, "RUNNING", "RUNNING", ()),  # the idle countdown starts
        (EMPTY, "STARTING", "STOPPED", ()),
    ],
)
def test_on_demand_transitions(queue, model, pipe, actions):
    assert act(queue, model, pipe).actions == actions


def test_an_idle_queue_stops_the_pipe_then_the_model_after_idle_minutes_not_before():
    started_idling = act(EMPTY, "RUNNING", "RUNNING")
    assert started_idling.memory.idle_since == NOW and started_idling.stops_at == NOW + 600
    almost = act(EMPTY, "RUNNING", "RUNNING", started_idling.memory, now=NOW + 599)
    assert almost.actions == () and "stops in" in almost.reason
    pipe_first = act(EMPTY, "RUNNING", "RUNNING", almost.memory, now=NOW + 600)
    assert pipe_first.actions == (PIPE_OFF,)
    still_stopping = act(EMPTY, "RUNNING", "STOPPING", pipe_first.memory, now=NOW + 630)
    assert still_stopping.actions == ()
    model_then = act(EMPTY, "RUNNING", "STOPPED", still_stopping.memory, now=NOW + 660)
    assert model_then.actions == (STOP,)
    assert model_then.memory.idle_since is None


def test_an_image_arriving_while_idle_resets_the_countdown_and_one_during_the_pipe_stop_restarts_it():
    idle = act(EMPTY, "RUNNING", "RUNNING").memory
    arrived = act(WAITING, "RUNNING", "RUNNING", idle, now=NOW + 300)
    assert arrived.actions == () and arrived.memory.idle_since is None
    stopping_pipe = act(EMPTY, "RUNNING", "RUNNING", Memory(idle_since=NOW), now=NOW + 600)
    assert stopping_pipe.actions == (PIPE_OFF,)
    burst = act(WAITING, "RUNNING", "STOPPED", stopping_pipe.memory, now=NOW + 660)
    assert burst.actions == (PIPE_ON,), "the model still runs: the Pipe comes back, the model is not stopped"


def test_a_failed_start_alarms_once_and_is_retried_with_backoff():
    first = act(WAITING, "FAILED", "STOPPED")
    assert first.start_failed and first.actions == ()
    assert first.memory.failed_starts == 1 and first.memory.retry_start_at == NOW + 60
    waiting = act(WAITING, "FAILED", "STOPPED", first.memory, now=NOW + 30)
    assert not waiting.start_failed and waiting.actions == ()
    retried = act(WAITING, "FAILED", "STOPPED", waiting.memory, now=NOW + 60)
    assert retried.actions == (START,) and not retried.start_failed
    again = act(WAITING, "FAILED", "STOPPED", retried.memory, now=NOW + 400)
    assert again.start_failed and again.memory.failed_starts == 2
    assert again.memory.retry_start_at == NOW + 400 + 120
    ran = act(WAITING, "RUNNING", "STOPPED", again.memory, now=NOW + 900)
    assert ran.memory.failed_starts == 0 and ran.memory.retry_start_at is None
    assert [retry_delay_seconds(n) / 60 for n in (1, 2, 3, 7, 8, 20)] == [1, 2, 4, 60, 60, 60]


def test_a_failed_model_with_nothing_waiting_is_left_alone():
    assert act(EMPTY, "FAILED", "STOPPED").actions == ()
    assert not act(EMPTY, "FAILED", "STOPPED").start_failed


def test_manual_never_acts():
    for queue, model, pipe in [(WAITING, "STOPPED", "STOPPED"), (EMPTY, "RUNNING", "RUNNING")]:
        decision = act(queue, model, pipe, mode="manual", now=NOW + 10**6)
        assert decision.actions == () and "manual" in decision.reason


def test_always_on_starts_a_stopped_model_without_images_and_never_stops_it():
    found = act(EMPTY, "STOPPED", "STOPPED", mode="always-on")
    assert found.actions == (START,) and found.found_stopped  # the alarm's metric
    assert not act(WAITING, "STOPPED", "STOPPED").found_stopped  # on-demand: a stopped model is normal
    long_idle = act(EMPTY, "RUNNING", "STOPPED", Memory(idle_since=NOW - 86400), mode="always-on")
    assert long_idle.actions == (PIPE_ON,) and long_idle.stops_at is None


def test_settings_name_the_bad_value():
    with pytest.raises(ValueError, match="mode 'sometimes' is not one of manual, on-demand, always-on"):
        Settings(mode="sometimes")
    with pytest.raises(ValueError, match="idle_minutes 0 must be at least 1"):
        Settings(idle_minutes=0)


@dataclass
class SimulatedStack:
    """Model and Pipe that take minutes to change, and a queue the Pipe drains while both run."""

    model: str = "STOPPED"
    pipe: str = "STOPPED"
    visible: int = 0
    model_ready_at: int | None = None
    received_while_not_running: int = 0
    running_minutes: int = 0
    start_fails: int = 0  # the next starts that end FAILED

    def apply(self, actions, minute: int) -> None:
        for action in actions:
            if action is START:
                assert self.model in ("STOPPED", "FAILED", "TRAINING_COMPLETED"), self.model
                self.model, self.model_ready_at = "STARTING", minute + 3
            elif action is STOP:
                assert self.pipe == "STOPPED", "the Pipe is stopped before the model"
                self.model = "STOPPING"
            elif action is PIPE_ON:
                self.pipe = "RUNNING"
            elif action is PIPE_OFF:
                self.pipe = "STOPPING"

    def advance(self, minute: int, arrivals: int) -> None:
        self.visible += arrivals
        if self.model == "STARTING" and minute >= self.model_ready_at:
            if self.start_fails:
                self.start_fails -= 1
                self.model = "FAILED"
            else:
                self.model = "RUNNING"
        elif self.model == "STOPPING":
            self.model = "STOPPED"
        if self.pipe == "STOPPING":
            self.pipe = "STOPPED"
        if self.pipe == "RUNNING" and self.visible:
            if self.model != "RUNNING":
                self.received_while_not_running += self.visible
            self.visible = 0
        self.running_minutes += self.model in ("STARTING", "RUNNING", "STOPPING")


def simulate(arrivals: dict[int, int], minutes: int, *, start_fails: int = 0, mode: str = "on-demand"):
    stack, memory, alarms = SimulatedStack(start_fails=start_fails), Memory(), 0
    for minute in range(minutes):
        stack.advance(minute, arrivals.get(minute, 0))
        observation = Observation(QueueCounts(visible=stack.visible), stack.model, stack.pipe, minute * 60.0)
        decision = decide(observation, memory, Settings(mode=mode, idle_minutes=10))
        memory, alarms = decision.memory, alarms + decision.start_failed
        stack.apply(decision.actions, minute)
    return stack, alarms


def test_a_day_of_two_bursts_runs_the_model_only_around_them_and_receives_nothing_early():
    day = 24 * 60
    stack, alarms = simulate({8 * 60: 200, 8 * 60 + 1: 50, 17 * 60: 200}, day)
    assert stack.visible == 0, "every image was received"
    assert stack.received_while_not_running == 0
    assert stack.model == "STOPPED" and stack.pipe == "STOPPED" and alarms == 0
    # per burst: ~3 min starting, the burst, 10 idle minutes, the stop
    assert stack.running_minutes <= 2 * 17, stack.running_minutes
    assert stack.running_minutes / day < 0.03


def test_a_burst_while_stopping_waits_and_starts_the_model_again():
    # the queue drains at minute 4 and is idle until minute 14; the pipe stops at 14, the model at 15
    stack, _ = simulate({0: 10, 16: 5}, 40)
    assert stack.visible == 0 and stack.received_while_not_running == 0 and stack.model == "STOPPED"


def test_a_burst_while_starting_is_received_once_the_model_runs():
    stack, _ = simulate({0: 10, 1: 10, 2: 10}, 30)
    assert stack.visible == 0 and stack.received_while_not_running == 0


def test_failed_starts_alarm_back_off_and_the_images_wait_for_the_start_that_works():
    stack, alarms = simulate({0: 20}, 60, start_fails=2)
    assert alarms == 2 and stack.visible == 0 and stack.received_while_not_running == 0
