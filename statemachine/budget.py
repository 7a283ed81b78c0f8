"""The longest an execution of a workflow can run, read from its ASL: every state's attempts at
their time limit, every retry's longest wait, along the slowest path.

An Express execution is stopped at 5 minutes, and with it every image of its batch (its Catch does
not run). So the synth checks that a batch's worst case fits (``infra.workflow``), from the
definition that deploys, not from a second description of it that could drift:

- a Task's attempt lasts at most its ``TimeoutSeconds``; a Task that calls a Lambda function by
  its ARN at most the function's timeout (the caller says which, ``attempt_limit``); any other Task
  without a limit makes the worst case unbounded, which is an error;
- a retrier adds ``MaxAttempts`` attempts and before each a wait of up to
  ``min(IntervalSeconds × BackoffRate^k, MaxDelaySeconds)`` (full jitter waits less, never more);
  a Task's retriers count separately, so the worst case takes every one of them to its end;
- the slowest path follows ``Next``, a Choice's branches and the Catches (taken after the retries);
- a Map state runs ``ceil(items / MaxConcurrency)`` rounds of its item processor's worst case; the
  caller says how many items the top-level Map gets (a batch) and how many a Map nested in its item
  processor gets (an image's alerts: its labels of interest).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# ASL's defaults for a retrier's omitted fields
DEFAULT_INTERVAL_SECONDS = 1
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_BACKOFF_RATE = 2.0

AttemptLimit = Callable[[str, dict[str, Any]], float | None]


class UnboundedWorkflow(ValueError):
    """A state whose worst case has no limit (a Task without a timeout, a loop)."""


@dataclass(frozen=True)
class WorstCase:
    seconds: float
    path: tuple[str, ...]  # the states of the slowest path, in order

    def describe(self) -> str:
        return f"{self.seconds:.0f} s ({' → '.join(self.path)})"


def retry_seconds(state: dict[str, Any], attempt_seconds: float) -> float:
    """The longest a state with retriers takes: every attempt at its limit, every wait at its longest."""
    total = attempt_seconds
    for retrier in state.get("Retry", []):
        interval = retrier.get("IntervalSeconds", DEFAULT_INTERVAL_SECONDS)
        rate = retrier.get("BackoffRate", DEFAULT_BACKOFF_RATE)
        cap = retrier.get("MaxDelaySeconds", math.inf)
        for attempt in range(retrier.get("MaxAttempts", DEFAULT_MAX_ATTEMPTS)):
            total += min(interval * rate**attempt, cap) + attempt_seconds
    return total


def _next_states(state: dict[str, Any]) -> list[str]:
    following = [catch["Next"] for catch in state.get("Catch", [])]
    if state.get("Type") == "Choice":
        following += [choice["Next"] for choice in state.get("Choices", [])]
        if "Default" in state:
            following.append(state["Default"])
    elif "Next" in state:
        following.append(state["Next"])
    return following


def worst_case(
    machine: dict[str, Any],
    *,
    attempt_limit: AttemptLimit,
    items_per_map: int = 1,
    nested_items_per_map: int = 1,
) -> WorstCase:
    """The slowest path of ``machine`` (a definition or a Map's item processor) from its StartAt."""
    states: dict[str, dict[str, Any]] = machine["States"]
    known: dict[str, WorstCase] = {}
    visiting: set[str] = set()

    def cost(name: str) -> float:
        state = states[name]
        kind = state.get("Type")
        if kind == "Map":
            processor = state.get("ItemProcessor") or state.get("Iterator")
            inner = worst_case(
                processor,
                attempt_limit=attempt_limit,
                items_per_map=nested_items_per_map,
                nested_items_per_map=nested_items_per_map,
            )
            concurrency = state.get("MaxConcurrency", 0) or items_per_map  # 0: no limit
            return math.ceil(items_per_map / concurrency) * inner.seconds
        if kind == "Task":
            limit = state.get("TimeoutSeconds")
            if limit is None:
                limit = attempt_limit(name, state)
            if limit is None:
                raise UnboundedWorkflow(f"state {name!r} has no TimeoutSeconds: its attempts have no limit")
            return retry_seconds(state, float(limit))
        if kind == "Wait":
            if "Seconds" not in state:
                raise UnboundedWorkflow(f"state {name!r} waits for a time taken from its input")
            return float(state["Seconds"])
        if kind in ("Parallel",):
            raise UnboundedWorkflow(f"state {name!r}: {kind} states are not budgeted")
        return 0.0  # Pass, Choice, Succeed, Fail

    def slowest_from(name: str) -> WorstCase:
        if name in known:
            return known[name]
        if name in visiting:
            raise UnboundedWorkflow(f"state {name!r} is part of a loop: its worst case has no limit")
        visiting.add(name)
        after = [slowest_from(following) for following in _next_states(states[name])]
        visiting.discard(name)
        rest = max(after, key=lambda case: case.seconds, default=WorstCase(0.0, ()))
        known[name] = WorstCase(cost(name) + rest.seconds, (name, *rest.path))
        return known[name]

    return slowest_from(machine["StartAt"])


def map_state(machine: dict[str, Any]) -> dict[str, Any]:
    """The definition's (first) Map state."""
    for state in machine["States"].values():
        if state.get("Type") == "Map":
            return state
    raise ValueError("the definition has no Map state")


def map_items(
    machine: dict[str, Any], *, attempt_limit: AttemptLimit, nested_items_per_map: int = 1
) -> WorstCase:
    """The worst case of one item of the definition's Map state: one image of a batch."""
    state = map_state(machine)
    return worst_case(
        state.get("ItemProcessor") or state.get("Iterator"),
        attempt_limit=attempt_limit,
        items_per_map=nested_items_per_map,
        nested_items_per_map=nested_items_per_map,
    )
