"""Lambda entry point ``links.handler.lambda_handler``: the stack's function URL for image links.

A thin shell over ``service.answer``: the request's raw path in, the answer out (a 302 or a plain
403). The keys come from the link secret (Powertools' parameters, cached for ``KEYS_MAX_AGE``
seconds, so a rotation reaches every environment within minutes). The event is not logged (its path
is the token); one ``LinkRefused`` metric per refusal, with the reason as its dimension.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider
from detect import clients

from .keys import load_link_keys
from .service import Answer, answer

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
_client = clients.get  # "s3", and "s3-presign" (SigV4), created on first use, as the detect function's


def _keys() -> dict[int, bytes]:
    return load_link_keys(os.environ["LINK_SECRET_ARN"]).keys


def execution_link(arn: str | None, key: str | None = None) -> str | None:
    """Where an execution is shown: ``EXECUTION_LINK_TEMPLATE`` with ``{arn}`` and ``{key}`` (the
    console's page on AWS, the image's trace page on the twin), or None without one."""
    template = os.environ.get("EXECUTION_LINK_TEMPLATE")
    if not template or not arn:
        return None
    return template.replace("{arn}", quote(arn, safe=":")).replace("{key}", quote(key or "", safe=""))


def handle(
    event: dict[str, Any], *, keys: Any = None, client: Any = None, now: datetime | None = None
) -> Answer:
    """The answer to one function URL request (payload format 2.0); ``keys()`` and ``client(name)``
    default to the link secret's keys and botocore clients."""
    keys, client = keys or _keys, client or _client
    method = event.get("requestContext", {}).get("http", {}).get("method", "GET")
    if method not in ("GET", "HEAD"):
        return Answer(405, {"Allow": "GET, HEAD", "Content-Type": "text/plain; charset=utf-8"}, "", "method")
    return answer(
        str(event.get("rawPath", "")),
        secrets=keys(),
        s3=client("s3"),
        presign_s3=client("s3-presign"),
        results_bucket=os.environ["RESULTS_BUCKET"],
        results_prefix=os.environ.get("RESULTS_PREFIX", "results/"),
        now=now or datetime.now(UTC),
        query=str(event.get("rawQueryString", "")),
        execution_link=execution_link,
    )


@logger.inject_lambda_context(clear_state=True, log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    reply = handle(event)
    if reply.status >= 400:  # a redirect or a view page is an answer, not a refusal
        metrics = AmazonCloudWatchEMFProvider()
        metrics.add_dimension(name="Reason", value=reply.reason)
        metrics.add_metric(name="LinkRefused", unit=MetricUnit.Count, value=1)
        metrics.flush_metrics()
        logger.info("link refused", extra={"reason": reply.reason})  # never the path: it is the token
    return {"statusCode": reply.status, "headers": reply.headers, "body": reply.body}
