"""The digest function's botocore clients (``scheduled_clients``): a throttled query or publish is
tried again within the minute, and what still fails is left for the next minute's run (``sender``)."""

from __future__ import annotations

from typing import Any

from scheduled_clients import cached_clients

SERVICES = ("dynamodb", "sns")
_cache: dict[str, Any] = {}


def for_digest() -> dict[str, Any]:
    return cached_clients(_cache, SERVICES)
