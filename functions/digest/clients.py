"""The digest function's botocore clients, created on first use and kept while the environment is warm.

botocore (not boto3) from one session, as the autopilot and the detect function do; endpoints and
credentials from botocore's defaults, so ``AWS_ENDPOINT_URL`` (the embedded stack) redirects them.
Standard retries: a throttled query or publish is tried again within the minute, and what still
fails is left for the next minute's run (``sender``).
"""

from __future__ import annotations

from typing import Any

SERVICES = ("dynamodb", "sns")
_cache: dict[str, Any] = {}


def for_digest() -> dict[str, Any]:
    if not _cache:
        from botocore.config import Config
        from botocore.session import get_session

        session = get_session()
        config = Config(
            retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=5, read_timeout=10
        )
        _cache.update({name: session.create_client(name, config=config) for name in SERVICES})
    return dict(_cache)
