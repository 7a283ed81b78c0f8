"""botocore clients for the functions EventBridge Scheduler runs (the autopilot, the digests).

Created on first use from one botocore session and kept while the environment is warm; botocore
(not boto3), as the detect function does. Endpoints and credentials come from botocore's defaults,
so ``AWS_ENDPOINT_URL`` (the embedded stack) redirects them. Standard retries: a throttled call is
tried again within the minute, and what still fails is left for the next minute's run.
"""

from __future__ import annotations

from typing import Any


def cached_clients(cache: dict[str, Any], services: tuple[str, ...]) -> dict[str, Any]:
    """A client per service, made once into ``cache`` (the calling function's own)."""
    if not cache:
        from botocore.config import Config
        from botocore.session import get_session

        session = get_session()
        config = Config(
            retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=5, read_timeout=10
        )
        cache.update({name: session.create_client(name, config=config) for name in services})
    return dict(cache)
