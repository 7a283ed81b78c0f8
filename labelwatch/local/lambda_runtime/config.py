"""What one Lambda function needs to run locally, and how to read it from moto's model."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from moto.awslambda.models import LambdaFunction


@dataclass(frozen=True)
class FunctionConfig:
    """One function's configuration, as Lambda would start its execution environments with.

    ``code_dir`` is the directory the handler module is imported from (``LAMBDA_TASK_ROOT``; the
    repository's ``functions/`` for the real functions). ``reserved_concurrency`` None means
    unreserved: the runtime then caps the function at its local maximum and queues beyond it.
    Two configurations that differ in anything are different: a changed configuration retires
    the environments started with the old one, as an update does on Lambda.
    """

    name: str
    handler: str  # module.function
    code_dir: Path
    arn: str = ""
    runtime: str = "python3.11"
    memory_mb: int = 128
    timeout_s: float = 3.0
    environment: Mapping[str, str] = field(default_factory=dict)
    reserved_concurrency: int | None = None
    role_arn: str = ""
    region: str = "us-east-1"
    version: str = "$LATEST"

    def __post_init__(self) -> None:
        object.__setattr__(self, "code_dir", Path(self.code_dir))
        object.__setattr__(self, "environment", {str(k): str(v) for k, v in self.environment.items()})
        if not self.arn:
            arn = f"arn:aws:lambda:{self.region}:123456789012:function:{self.name}"
            object.__setattr__(self, "arn", arn)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.name}"


def config_from_moto(function: LambdaFunction, code_dir: Path | str) -> FunctionConfig:
    """The configuration of a function in moto's Lambda backend (``moto.awslambda.models``)."""
    reserved = function.reserved_concurrency
    arn = function.function_arn
    qualifier = arn.split(":")[7] if arn.count(":") >= 7 else "$LATEST"
    return FunctionConfig(
        name=function.function_name,
        arn=arn,
        handler=function.handler,
        code_dir=Path(code_dir),
        runtime=function.run_time or "python3.11",
        memory_mb=int(function.memory_size),
        timeout_s=float(function.timeout),
        environment=dict(function.environment_vars or {}),
        reserved_concurrency=None if reserved is None or reserved == "" else int(reserved),
        role_arn=function.role,
        region=function.region,
        version=qualifier,
    )


def event_json(event: Any) -> str:
    """The invocation's payload as JSON text, whatever moto passes (a str, bytes, a parsed body or None)."""
    if event is None:
        return "{}"
    if isinstance(event, bytes | bytearray):
        event = event.decode("utf-8")
    if isinstance(event, str):
        return event or "{}"
    return json.dumps(event)
