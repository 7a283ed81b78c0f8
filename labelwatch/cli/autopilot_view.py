"""The stack's model as the autopilot sees it, and the stand-in model's meter.

``stack_model_view``: who starts the model (``modelControl``), the model's status, the Pipe's state,
the ingest queue's backlog and the autopilot's last decision with when the model will next stop, read
from the stack's outputs and its AWS APIs the same way on the local stack and on AWS.

``usage_rows``: the local stand-in's meter of inference-unit time (``labelwatch model usage``), which
the running (or last) local stack writes to its home, with the time compression it ran at.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from labelwatch.local.clock import twin_now

QUEUE_ATTRIBUTES = {
    "visible": "ApproximateNumberOfMessages",
    "in flight": "ApproximateNumberOfMessagesNotVisible",
    "delayed": "ApproximateNumberOfMessagesDelayed",
}


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def stack_model_view(target: Any, *, describe_status: Any, compression: str | None = None) -> dict[str, Any]:
    """One dict, for a table or JSON. ``describe_status(client, arn)`` is the CLI's model lookup."""
    outputs = target.outputs
    arn = outputs.get("ModelArn") or target.model_arn
    control = outputs.get("ModelControl", "manual")  # a stack deployed before the autopilot existed
    view: dict[str, Any] = {"modelControl": control, "model": arn}
    view["model status"] = describe_status(target.client("rekognition"), arn) if arn else None
    if outputs.get("PipeName"):
        pipe = target.client("pipes").describe_pipe(Name=outputs["PipeName"])
        view["pipe"] = pipe.get("CurrentState")
    attributes = target.client("sqs").get_queue_attributes(
        QueueUrl=outputs["IngestQueueUrl"], AttributeNames=list(QUEUE_ATTRIBUTES.values())
    )["Attributes"]
    view["backlog"] = {name: int(attributes.get(key, 0)) for name, key in QUEUE_ATTRIBUTES.items()}
    table = outputs.get("AutopilotStateTableName")
    if table and arn:
        item = target.client("dynamodb").get_item(TableName=table, Key={"model": {"S": arn}}).get("Item")
        last = _last_decision(item)
        view["autopilot"] = last.get("reason") or "no decision yet (it runs once a minute)"
        view["decided at"] = _iso(last.get("at"))
        view["next stop"] = _iso(last.get("stopsAt")) or _no_stop(control, view["model status"])
    if compression and compression != "real time":
        view["times"] = f"twin time ({compression})"
    return view


def _no_stop(control: str, status: str | None) -> str:
    if control == "always-on":
        return "never (always-on)"
    if status == "RUNNING":
        return "not while images wait"
    return "—"


def _last_decision(item: dict[str, Any] | None) -> dict[str, Any]:
    if not item or "last" not in item:
        return {}
    last = item["last"].get("M", {})
    values: dict[str, Any] = {}
    for name in ("reason", "at", "stopsAt"):
        value = last.get(name, {})
        if "S" in value:
            values[name] = value["S"]
        elif "N" in value:
            values[name] = float(value["N"])
    return values


def usage_rows(usage: dict[str, Any], real_now: float | None = None) -> list[dict[str, Any]]:
    """Each version's metered inference-unit time, the open period counted up to now."""
    clock = usage["clock"]
    now = twin_now(clock, real_now) if usage.get("running", True) else clock["twin"]
    rows = []
    for version in usage.get("versions", []):
        seconds = version["closedUnitSeconds"]
        if version.get("billingSince") is not None:
            seconds += (now - version["billingSince"]) * version["units"]
        rows.append(
            {
                "version": version["arn"].split("/")[3],
                "status": version["status"],
                "inference_unit_hours": round(seconds / 3600, 4),
                "inference_unit_seconds": round(seconds, 1),
                "real_seconds": round(seconds / clock["scale"], 1),
                "arn": version["arn"],
            }
        )
    return rows
