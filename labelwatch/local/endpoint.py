"""Clients for the embedded endpoint, as the CLI and the uploader use them.

Kept apart from the Emulator so a command against a running ``local up`` (``status``, ``dlq``,
``upload``…) imports boto3 only, not moto (moto's Step Functions parser alone takes over a second).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.config import Config

from labelwatch.clients import boto3_session, client_factory

DEFAULT_REGION = "us-east-1"
# What the CLI, the uploader and the tests sign with: the account's administrator.
ADMIN_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def endpoint_clients(
    endpoint: str,
    region: str = DEFAULT_REGION,
    credentials: dict[str, str] | None = None,
    *,
    prepare: Callable[[Any], Any] | None = None,
) -> Callable[[str], Any]:
    """A cached, thread-safe boto3 client factory for the embedded endpoint (``prepare(client)`` on
    each new client, e.g. the twin's in-process transport)."""
    credentials = credentials or ADMIN_CREDENTIALS
    session = boto3_session(
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials.get("AWS_SESSION_TOKEN"),
        region_name=region,
    )
    config = Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=20)
    return client_factory(session, prepare=prepare, endpoint_url=endpoint, config=config)
