"""Lambda entry point ``digest.handler.lambda_handler``, invoked once a minute by EventBridge Scheduler
with ``{"time": "<aws.scheduler.scheduled-time>"}``.

The schedule's time, not the clock, is "now": a window is sent once its ``digestDue`` has passed in
the schedule's minutes (which is also how the twin compresses time). The log line of each run says
what it sent, skipped and failed by label, folder and window, with counts only: a flood's image ids
stay in the table and the digest's query. The invocation fails after the run when a digest failed
or the index could not be read, so the failure shows (errors metric, alarm) while the windows still
pending are sent by the next minute's run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import Logger
from schedule_event import scheduled_time

from . import clients
from .sender import send_due_digests
from .settings import load_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


class DigestsFailed(RuntimeError):
    """Some digests of the run were not sent (the log line before says which and whether they wait)."""


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    now = scheduled_time(event)
    settings = load_settings()
    aws = clients.for_digest()
    run = send_due_digests(aws["dynamodb"], aws["sns"], settings, now)
    summary = run.summary()
    if run.failed or run.query_error:
        logger.error("digests failed", extra=summary)
        problem = f"{len(run.failed)} digest(s) failed"
        if run.failed:  # the first one's error says why (an AWS error names the action and resource)
            problem += f", the first with {run.failed[0].error}"
        if run.query_error:
            problem += f"; the digest index could not be read: {run.query_error}"
        raise DigestsFailed(f"{problem} ({len(run.sent)} sent)")
    logger.info(f"{len(run.sent)} digest(s) sent", extra=summary)
    return {key: summary[key] for key in ("sent", "skipped", "failed")}
