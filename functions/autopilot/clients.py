"""The autopilot's botocore clients (``scheduled_clients``): a throttled describe is simply tried
again within the minute."""

from __future__ import annotations

from typing import Any

from scheduled_clients import cached_clients

SERVICES = ("sqs", "rekognition", "pipes", "dynamodb")
_cache: dict[str, Any] = {}


def for_autopilot() -> dict[str, Any]:
    return cached_clients(_cache, SERVICES)
