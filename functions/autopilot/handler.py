"""Lambda entry point ``autopilot.handler.lambda_handler``, invoked once a minute by EventBridge
Scheduler with ``{"time": "<aws.scheduler.scheduled-time>"}``.

The schedule's time, not the clock, is the decision's "now": the idle countdown and the retry
backoff are measured in the schedule's minutes, which is also how the twin compresses time (its
local scheduler hands in its own clock's time).

Metrics (Powertools, EMF): ``ModelStartFailed`` when a start ended FAILED, ``ModelFoundStopped``
when ``always-on`` found the model not running; the stack's alarms watch both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider
from schedule_event import scheduled_time

from . import clients
from .pilot import run_minute
from .settings import load_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics = AmazonCloudWatchEMFProvider()
    try:
        settings = load_settings()
        outcome = run_minute(settings, clients.for_autopilot(), now=scheduled_time(event))
        summary = outcome.summary()
        if outcome.decision.start_failed:
            metrics.add_metric(name="ModelStartFailed", unit=MetricUnit.Count, value=1)
            logger.error("the model failed to start", extra=summary)
        elif outcome.decision.found_stopped:
            metrics.add_metric(name="ModelFoundStopped", unit=MetricUnit.Count, value=1)
            logger.warning("modelControl is always-on and the model was not running", extra=summary)
        else:
            logger.info(outcome.decision.reason, extra=summary)
        return summary
    finally:
        metrics.flush_metrics()
