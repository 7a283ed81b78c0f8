"""One autopilot minute: observe the queue, the model and the Pipe; decide; act; remember.

Plain functions over injected botocore clients (``sqs``, ``rekognition``, ``pipes``, ``dynamodb``),
so tests drive them with fakes or the twin. The decision itself is ``decision.decide``; this module
only reads what it needs and carries its answer out.

What is remembered lives in one DynamoDB item per model version (``StateTable``, key ``model``):
the decision's ``Memory``, the project's ARN (looked up once: DescribeProjectVersions needs it and a
project ARN carries the project's own creation time, which the version ARN does not), and the last
decision, which ``labelwatch model status`` shows (mode, reason, when the model will next stop).

Acting is idempotent. Another decision may have acted first (two invocations a minute apart that
overlap, a person running ``labelwatch model start``): a start of a starting model
(``ResourceInUseException``) or a Pipe call on a Pipe in transition (``ConflictException``) is
logged and left for the next minute, which observes again.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from .decision import Action, Decision, Memory, Observation, QueueCounts, Settings, decide

# Answers that mean "someone else is already doing it / not now": the next minute observes again
BENIGN_ERRORS = frozenset({"ResourceInUseException", "ConflictException"})
QUEUE_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


@dataclass(frozen=True)
class PilotSettings:
    """The function's configuration (its environment, ``settings.load``)."""

    model_arn: str
    pipe_name: str
    queue_url: str
    state_table: str
    decision: Settings
    min_inference_units: int = 1
    max_inference_units: int = 0  # 0: no auto-scaling

    @property
    def project_name(self) -> str:
        return self.model_arn.split(":project/", 1)[1].split("/", 1)[0]

    @property
    def version_name(self) -> str:
        return self.model_arn.split("/version/", 1)[1].split("/", 1)[0]


@dataclass(frozen=True)
class Outcome:
    """What one minute saw and did: the log line, the metrics and the remembered last decision."""

    observation: Observation
    decision: Decision
    done: tuple[str, ...]  # actions carried out
    skipped: tuple[str, ...]  # actions another party had already taken ("start-model: ResourceInUse…")

    def summary(self) -> dict[str, Any]:
        queue = self.observation.queue
        return {
            "at": self.observation.now,
            "model": self.observation.model_status,
            "pipe": self.observation.pipe_state,
            "queue": {"visible": queue.visible, "inFlight": queue.in_flight, "delayed": queue.delayed},
            "reason": self.decision.reason,
            "actions": list(self.done),
            "skipped": list(self.skipped),
            "stopsAt": self.decision.stops_at,
        }


def run_minute(settings: PilotSettings, clients: dict[str, Any], now: float | None = None) -> Outcome:
    """Observe, decide, act and remember, once. ``now``: the schedule's time (epoch seconds)."""
    now = time.time() if now is None else now
    state = load_state(clients["dynamodb"], settings)
    project_arn = state.get("projectArn") or find_project_arn(clients["rekognition"], settings)
    observation = Observation(
        queue=queue_counts(clients["sqs"], settings.queue_url),
        model_status=model_status(clients["rekognition"], settings, project_arn),
        pipe_state=pipe_state(clients["pipes"], settings.pipe_name),
        now=now,
    )
    decision = decide(observation, memory_of(state), settings.decision)
    done, skipped = carry_out(decision.actions, settings, clients)
    outcome = Outcome(observation, decision, tuple(done), tuple(skipped))
    save_state(clients["dynamodb"], settings, project_arn, decision.memory, outcome.summary())
    return outcome


# --- observing --------------------------------------------------------------------------------------


def queue_counts(sqs: Any, queue_url: str) -> QueueCounts:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=list(QUEUE_ATTRIBUTES))[
        "Attributes"
    ]
    visible, in_flight, delayed = (int(attributes.get(name, 0)) for name in QUEUE_ATTRIBUTES)
    return QueueCounts(visible=visible, in_flight=in_flight, delayed=delayed)


def find_project_arn(rekognition: Any, settings: PilotSettings) -> str:
    projects = rekognition.describe_projects(ProjectNames=[settings.project_name])["ProjectDescriptions"]
    if not projects:
        raise LookupError(f"no Custom Labels project {settings.project_name!r} (of {settings.model_arn})")
    return projects[0]["ProjectArn"]


def model_status(rekognition: Any, settings: PilotSettings, project_arn: str) -> str:
    versions = rekognition.describe_project_versions(
        ProjectArn=project_arn, VersionNames=[settings.version_name]
    )["ProjectVersionDescriptions"]
    for version in versions:
        if version["ProjectVersionArn"] == settings.model_arn:
            return version["Status"]
    raise LookupError(f"no model version {settings.model_arn} in project {project_arn}")


def pipe_state(pipes: Any, name: str) -> str:
    return pipes.describe_pipe(Name=name)["CurrentState"]


# --- acting -----------------------------------------------------------------------------------------


def carry_out(
    actions: tuple[Action, ...], settings: PilotSettings, clients: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """Carry out ``actions`` in order; (done, skipped with the reason)."""
    done: list[str] = []
    skipped: list[str] = []
    for action in actions:
        try:
            _act(action, settings, clients)
        except Exception as error:
            code = getattr(error, "response", {}).get("Error", {}).get("Code")
            if code not in BENIGN_ERRORS:
                raise
            skipped.append(f"{action.value}: {code}")
        else:
            done.append(action.value)
    return done, skipped


def _act(action: Action, settings: PilotSettings, clients: dict[str, Any]) -> None:
    if action is Action.START_MODEL:
        units = {"MinInferenceUnits": settings.min_inference_units}
        if settings.max_inference_units:
            units["MaxInferenceUnits"] = settings.max_inference_units  # Custom Labels' auto-scaling
        clients["rekognition"].start_project_version(ProjectVersionArn=settings.model_arn, **units)
    elif action is Action.STOP_MODEL:
        clients["rekognition"].stop_project_version(ProjectVersionArn=settings.model_arn)
    elif action is Action.START_PIPE:
        clients["pipes"].start_pipe(Name=settings.pipe_name)
    elif action is Action.STOP_PIPE:
        clients["pipes"].stop_pipe(Name=settings.pipe_name)
    else:  # pragma: no cover - every Action is handled above
        raise ValueError(action)


# --- remembering ------------------------------------------------------------------------------------


def load_state(dynamodb: Any, settings: PilotSettings) -> dict[str, Any]:
    item = dynamodb.get_item(
        TableName=settings.state_table, Key={"model": {"S": settings.model_arn}}, ConsistentRead=True
    ).get("Item")
    return from_item(item) if item else {}


def save_state(
    dynamodb: Any, settings: PilotSettings, project_arn: str, memory: Memory, last: dict[str, Any]
) -> None:
    state = {"model": settings.model_arn, "projectArn": project_arn, "memory": asdict(memory), "last": last}
    dynamodb.put_item(TableName=settings.state_table, Item=to_item(state)["M"])


def memory_of(state: dict[str, Any]) -> Memory:
    values = state.get("memory") or {}
    return Memory(
        idle_since=_number(values.get("idle_since")),
        failed_starts=int(values.get("failed_starts") or 0),
        retry_start_at=_number(values.get("retry_start_at")),
    )


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def to_item(value: Any) -> dict[str, Any]:
    """A plain JSON-like value as a DynamoDB attribute value (the low-level client's format)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float | Decimal):
        return {"N": repr(value) if isinstance(value, float) else str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list | tuple):
        return {"L": [to_item(entry) for entry in value]}
    if isinstance(value, dict):
        return {"M": {str(key): to_item(entry) for key, entry in value.items()}}
    raise TypeError(f"cannot store {type(value).__name__} in the autopilot's state")


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    """The inverse of ``to_item`` for a whole item (a map of attribute values)."""
    return {key: from_value(value) for key, value in item.items()}


def from_value(value: dict[str, Any]) -> Any:
    """One attribute value (``{"S": …}``, ``{"M": …}``…) as a plain value."""
    ((kind, data),) = value.items()
    if kind == "NULL":
        return None
    if kind == "N":
        number = float(data)
        return int(number) if number.is_integer() and "." not in data and "e" not in data else number
    if kind == "L":
        return [from_value(entry) for entry in data]
    if kind == "M":
        return from_item(data)
    return data  # S, BOOL
