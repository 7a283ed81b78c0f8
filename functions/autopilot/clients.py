"""The autopilot's botocore clients, created on first use and kept while the environment is warm.

botocore (not boto3) from one session, as the detect function does; endpoints and credentials from
botocore's defaults, so ``AWS_ENDPOINT_URL`` (the embedded stack) redirects them. Standard retries:
a throttled describe is simply tried again within the minute.
"""

from __future__ import annotations

from typing import Any

SERVICES = ("sqs", "rekognition", "pipes", "dynamodb")
_cache: dict[str, Any] = {}


def for_autopilot() -> dict[str, Any]:
    if not _cache:
        from botocore.config import Config
        from botocore.session import get_session

        session = get_session()
        config = Config(
            retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=5, read_timeout=10
        )
        _cache.update({name: session.create_client(name, config=config) for name in SERVICES})
    return dict(_cache)
