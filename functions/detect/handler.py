"""Lambda entry point ``detect.handler.lambda_handler``: Powertools around ``service.process_image``.

Errors propagate so Step Functions sees the exception class name as errorType (docs/contracts.md).
Nothing here logs the alert message: it carries the image's links (their tokens open the image).
The s3 URI identifies the image.

Cold start: importing this module is the function's Init Duration. The X-Ray SDK (Powertools'
Tracer) is not imported: ``tracing`` sends the handler's subsegment and annotations itself; boto3
and the HEIC plugin are imported on first use (``clients``, ``normalise``).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider
from links.keys import load_link_keys

from . import clients, tracing
from .errors import DetectorThrottled, ModelNotReady
from .event import parse_event
from .service import process_image
from .settings import load_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
DECODE_MARGIN_S = 8.0  # of the invocation's time, kept for DetectCustomLabels and the answer


@logger.inject_lambda_context(clear_state=True)
@tracing.capture_lambda_handler()  # never records the response: it holds the image's links
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Per invocation, not module-wide: Powertools' Metrics() shares one buffer across the process,
    # and invocations running at once in one process (the local stack) then flush each other's
    # metrics mid-serialisation (errors that failed the invocation). One EMF document per
    # invocation, flushed at its end, as @metrics.log_metrics did.
    metrics = AmazonCloudWatchEMFProvider()
    # Likewise this invocation's log keys are thread-safe keys (a context variable of the running
    # thread), not the logger's process-wide ones, so each invocation logs its own image. Cleared
    # before and after, so the next invocation on this thread (the next one in a Lambda sandbox)
    # never carries them.
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(
        correlation_id=event.get("messageId") if isinstance(event, dict) else None,
        function_request_id=context.aws_request_id,
    )
    try:
        return _handle(event, metrics, decode_deadline(context.get_remaining_time_in_millis()))
    finally:
        metrics.flush_metrics()
        logger.thread_safe_clear_keys()


def decode_deadline(remaining_ms: int, now: float | None = None) -> float:
    """The ``time.monotonic()`` by which decoding must end: the invocation's remaining time less a
    margin for the model call and the answer (a quarter of what remains, at most
    ``DECODE_MARGIN_S``). A slower decode is ``decode-timeout``, a result, not the function's
    timeout (which the workflow would retry, as long again)."""
    remaining = remaining_ms / 1000
    return (time.monotonic() if now is None else now) + remaining - min(DECODE_MARGIN_S, remaining / 4)


def _handle(event: dict[str, Any], metrics: AmazonCloudWatchEMFProvider, deadline: float) -> dict[str, Any]:
    def _count(name: str, value: int = 1) -> None:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    try:
        settings = load_settings()
        upload = parse_event(event)
        logger.thread_safe_append_keys(bucket=upload.bucket, key=upload.key, execution=upload.execution)
        result = process_image(
            event,
            s3=clients.get("s3"),
            rekognition=clients.get("rekognition"),
            link_keys=lambda: load_link_keys(settings.link_secret_arn),
            settings=settings,
            now=datetime.now(UTC),
            decode_deadline=deadline,
        )
    except (ModelNotReady, DetectorThrottled) as exc:
        # Expected while a model starts or under load: the workflow requeues or retries the image.
        logger.warning("detection deferred", extra={"errorType": type(exc).__name__, "error": str(exc)})
        _count("DetectionsDeferred")
        raise
    except Exception as exc:
        logger.exception("detection failed", extra={"errorType": type(exc).__name__})
        _count("DetectionsFailed")
        raise

    _count("ImagesProcessed")
    _count("LabelsDetected", len(result.labels))
    _count("AlertsRaised", int(result.alert))
    _count("ImagesRejected", int(result.status == "rejected"))
    _count("ImagesNormalised", int(result.normalised is not None))
    if result.labels_omitted:
        _count("LabelsOmitted", result.labels_omitted)
    tracing.put_annotation(key="status", value=result.status)
    tracing.put_annotation(key="alert", value=result.alert)
    logger.info(
        "image processed",
        extra={
            "image": result.image,
            "imageId": result.image_id,
            "status": result.status,
            "reason": result.reason,
            "normalised": result.normalised,
            "labels": [vars(label) for label in result.labels],
            "labelsOmitted": result.labels_omitted,
            "alertLabels": [alert.label for alert in result.alerts],
            "resultKey": result.result_key,
        },
    )
    return result.payload()
