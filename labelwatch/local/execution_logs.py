"""Step Functions execution logs on the twin, as AWS writes them to the state machine's log group.

An Express execution has no history API on AWS (``GetExecutionHistory`` refuses it): the console and
``labelwatch trace`` read its log group, where Step Functions writes one JSON event per history
event at the state machine's ``LoggingConfiguration`` level. moto writes none, so at the end of each
execution the twin writes them: the same fields (``id``, ``type``, ``details``, ``previous_event_id``,
``event_timestamp`` in epoch milliseconds, ``execution_arn``, ``redrive_count``), the level's events
only (``ALL``; ``ERROR``: the failures; ``FATAL``: the execution's own failure; ``OFF``: none),
without inputs and outputs unless ``IncludeExecutionData``, and with what the log group's data
protection policy masks (an alert's link tokens) masked, as a reader without ``logs:Unmask`` sees it.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger(__name__)

FATAL_EVENTS = frozenset({"ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"})
ERROR_EVENTS = FATAL_EVENTS | frozenset(
    {
        "ActivityFailed",
        "ActivityScheduleFailed",
        "ActivityTimedOut",
        "EvaluationFailed",
        "FailStateEntered",
        "LambdaFunctionFailed",
        "LambdaFunctionScheduleFailed",
        "LambdaFunctionStartFailed",
        "LambdaFunctionTimedOut",
        "MapIterationAborted",
        "MapIterationFailed",
        "MapRunAborted",
        "MapRunFailed",
        "MapStateAborted",
        "MapStateFailed",
        "ParallelStateAborted",
        "ParallelStateFailed",
        "TaskFailed",
        "TaskStartFailed",
        "TaskStateAborted",
        "TaskSubmitFailed",
        "TaskTimedOut",
        "WaitStateAborted",
    }
)
DATA_FIELDS = ("input", "inputDetails", "output", "outputDetails", "parameters")


@dataclass(frozen=True)
class LogTarget:
    """Where and how much a state machine logs (its ``LoggingConfiguration``)."""

    group: str  # the log group's name
    level: str = "ALL"
    include_data: bool = True

    @classmethod
    def of(cls, logging_configuration: dict[str, Any]) -> LogTarget | None:
        level = str(logging_configuration.get("Level", "OFF")).upper()
        destinations = logging_configuration.get("Destinations") or []
        if level == "OFF" or not destinations:
            return None
        arn = destinations[0].get("CloudWatchLogsLogGroup", {}).get("LogGroupArn", "")
        group = arn.split(":log-group:", 1)[-1].removesuffix(":*")
        return cls(group, level, bool(logging_configuration.get("IncludeExecutionData", False)))

    def logs(self, event_type: str) -> bool:
        if self.level == "ALL":
            return True
        return event_type in (ERROR_EVENTS if self.level == "ERROR" else FATAL_EVENTS)


def _plain(value: Any) -> Any:
    """moto's enums and datetimes as the JSON AWS writes."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return str(int(value.timestamp() * 1000))
    return getattr(value, "value", value)


def _epoch_millis(timestamp: Any) -> int:
    """A history event's time (a datetime, or moto's ISO 8601 text) in epoch milliseconds."""
    if isinstance(timestamp, str):
        timestamp = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    if isinstance(timestamp, datetime):
        return int(timestamp.timestamp() * 1000)
    return int(timestamp)


def log_events(history: list[dict[str, Any]], execution_arn: str, target: LogTarget) -> list[dict[str, Any]]:
    """The log events of one execution's history events (GetExecutionHistory's shape), at ``target``'s
    level, in order."""
    events = []
    for event in history:
        event_type = str(getattr(event["type"], "value", event["type"]))
        if not target.logs(event_type):
            continue
        details: dict[str, Any] = {}
        for name, value in event.items():
            if name.endswith("EventDetails"):
                details = dict(_plain(value))
        if not target.include_data:
            details = {name: value for name, value in details.items() if name not in DATA_FIELDS}
        millis = _epoch_millis(event["timestamp"])
        events.append(
            {
                "id": str(event["id"]),
                "type": event_type,
                "details": details,
                "previous_event_id": str(event.get("previousEventId", 0)),
                "event_timestamp": str(millis),
                "execution_arn": execution_arn,
                "redrive_count": "0",
            }
        )
    return events


class ExecutionLogs:
    """Writes each ended execution's log events into its state machine's log group.

    Straight into moto's CloudWatch Logs backend (``logs_backend()``), as the service delivers them:
    through the API (botocore, the authorizer, the HTTP layer) the ~40 events of each image cost the
    twin about as much processor time as the image's own states."""

    def __init__(self, logs_backend: Callable[[], Any]) -> None:
        self._logs_backend = logs_backend
        self._targets: dict[str, LogTarget] = {}
        self._masks: dict[str, list[re.Pattern[str]]] = {}  # log group -> what its policy masks
        self._lock = threading.Lock()
        self.written = 0  # log events written, for tests and the bench

    def configure(self, state_machine_arn: str, logging_configuration: dict[str, Any]) -> None:
        target = LogTarget.of(logging_configuration)
        with self._lock:
            if target is None:
                self._targets.pop(state_machine_arn, None)
            else:
                self._targets[state_machine_arn] = target

    def mask(self, group: str, data_protection_policy: dict[str, Any]) -> None:
        """Mask what the group's data protection policy de-identifies (its custom data identifiers),
        as CloudWatch Logs does as events arrive: a reader without ``logs:Unmask`` sees ``****``."""
        custom = {
            item.get("Name"): item.get("Regex", "")
            for item in data_protection_policy.get("Configuration", {}).get("CustomDataIdentifier", [])
        }
        masked = [
            name
            for statement in data_protection_policy.get("Statement", [])
            if "Deidentify" in statement.get("Operation", {})
            for name in statement.get("DataIdentifier", [])
        ]
        with self._lock:
            self._masks[group] = [re.compile(custom[name]) for name in masked if custom.get(name)]

    def clear(self) -> None:
        with self._lock:
            self._targets.clear()
            self._masks.clear()

    def write(self, execution: Any) -> None:
        """Called as ``execution`` ends; a failure to write is logged, never the execution's."""
        target = self._targets.get(execution.state_machine_arn)
        if target is None:
            return
        try:
            self._write(execution, target)
        except Exception:  # noqa: BLE001 (the execution's end must not depend on its logs)
            log.warning("could not write the execution log of %s", execution.exec_arn, exc_info=True)

    def _write(self, execution: Any, target: LogTarget) -> None:
        events = log_events(execution.to_history_output()["events"], execution.exec_arn, target)
        if not events:
            return
        backend = self._logs_backend()
        name = execution.state_machine_arn.rsplit(":", 1)[-1]
        started = datetime.fromtimestamp(int(events[0]["event_timestamp"]) / 1000, UTC)
        stream = f"states/{name}/{started:%Y-%m-%d-%H-%M}/{execution.exec_arn.rsplit(':', 1)[-1]}"
        backend.create_log_stream(target.group, stream)
        backend.put_log_events(
            target.group,
            stream,
            [
                {"timestamp": int(event["event_timestamp"]), "message": self._masked(target.group, event)}
                for event in events
            ],
        )
        self.written += len(events)

    def _masked(self, group: str, event: dict[str, Any]) -> str:
        message = json.dumps(event, ensure_ascii=False)
        for pattern in self._masks.get(group, []):
            message = pattern.sub("****", message)
        return message
