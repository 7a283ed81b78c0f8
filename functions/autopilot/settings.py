"""The autopilot function's configuration, read from its environment in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping

from .decision import MODES, Settings
from .pilot import PilotSettings


class SettingsError(ValueError):
    """A variable of the function's environment is missing or breaks its rule (a deployment bug)."""


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} is not set")
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < low:
        raise SettingsError(f"{name} must be at least {low}, got {value}")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> PilotSettings:
    env = os.environ if env is None else env
    model_arn = _required(env, "MODEL_ARN")
    if ":project/" not in model_arn or "/version/" not in model_arn:
        raise SettingsError(f"MODEL_ARN must be a Custom Labels project version ARN, got {model_arn!r}")
    mode = env.get("MODEL_CONTROL", "on-demand").strip()
    if mode not in MODES:
        raise SettingsError(f"MODEL_CONTROL must be one of {', '.join(MODES)}, got {mode!r}")
    return PilotSettings(
        model_arn=model_arn,
        pipe_name=_required(env, "PIPE_NAME"),
        queue_url=_required(env, "INGEST_QUEUE_URL"),
        state_table=_required(env, "STATE_TABLE"),
        decision=Settings(mode=mode, idle_minutes=_int(env, "MODEL_IDLE_MINUTES", 10, 1)),
        min_inference_units=_int(env, "MIN_INFERENCE_UNITS", 1, 1),
        max_inference_units=_int(env, "MAX_INFERENCE_UNITS", 0, 0),
    )
