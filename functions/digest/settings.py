"""The digest function's configuration, read from its environment in one place.

The stack sets every variable (``infra/flood_control.py``); a missing or malformed one is a
deployment bug, so it fails the invocation at once with the variable's name and its rule instead of
sending a wrong digest.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class SettingsError(ValueError):
    """A variable of the function's environment is missing or breaks its rule (a deployment bug)."""


@dataclass(frozen=True)
class DigestSettings:
    cooldown_table: str  # COOLDOWN_TABLE: the windows' table
    digest_index: str  # DIGEST_INDEX: its sparse index of windows owing a digest
    topic_arn: str  # ALERTS_TOPIC_ARN: digests go where alerts go
    database: str  # ANALYTICS_DATABASE: the Glue database of the results table
    results_table: str  # RESULTS_TABLE
    workgroup: str  # ATHENA_WORKGROUP: where the digest's query is meant to run
    query_console_url: str  # QUERY_CONSOLE_URL: Athena's query editor; "" where there is none
    cooldown_minutes: int  # ALERT_COOLDOWN_MINUTES: the window's length (alertCooldownMinutes)


_WHAT = {
    "COOLDOWN_TABLE": "flood-control windows' DynamoDB table",
    "DIGEST_INDEX": "table's index of windows owing a digest",
    "ALERTS_TOPIC_ARN": "alerts' SNS topic (an arn:...:sns:... ARN)",
    "ANALYTICS_DATABASE": "Glue database of the results table",
    "RESULTS_TABLE": "results table",
    "ATHENA_WORKGROUP": "Athena workgroup",
    "ALERT_COOLDOWN_MINUTES": "cooldown in minutes (a whole number, at least 1)",
}


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} is not set: it must name the {_WHAT[name]}")
    return value


def _topic_arn(env: Mapping[str, str]) -> str:
    arn = _required(env, "ALERTS_TOPIC_ARN")
    parts = arn.split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sns" or not parts[5]:
        raise SettingsError(
            f"ALERTS_TOPIC_ARN must be an SNS topic ARN (arn:<partition>:sns:...), got {arn!r}"
        )
    return arn


def _console_url(env: Mapping[str, str]) -> str:
    url = env.get("QUERY_CONSOLE_URL", "").strip()
    if url and not url.startswith(("https://", "http://")):
        raise SettingsError(f"QUERY_CONSOLE_URL must be empty or an http(s):// URL, got {url!r}")
    return url


def _minutes(env: Mapping[str, str]) -> int:
    raw = _required(env, "ALERT_COOLDOWN_MINUTES")
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"ALERT_COOLDOWN_MINUTES must be a whole number, got {raw!r}") from None
    if value < 1:
        raise SettingsError(f"ALERT_COOLDOWN_MINUTES must be at least 1, got {value}")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> DigestSettings:
    env = os.environ if env is None else env
    return DigestSettings(
        cooldown_table=_required(env, "COOLDOWN_TABLE"),
        digest_index=_required(env, "DIGEST_INDEX"),
        topic_arn=_topic_arn(env),
        database=_required(env, "ANALYTICS_DATABASE"),
        results_table=_required(env, "RESULTS_TABLE"),
        workgroup=_required(env, "ATHENA_WORKGROUP"),
        query_console_url=_console_url(env),
        cooldown_minutes=_minutes(env),
    )
