"""Lambda entry point ``detect.handler.lambda_handler``: Powertools around ``service.process_image``.

Errors propagate so Step Functions sees the exception class name as errorType (docs/contracts.md).
Nothing here logs the alert message: it may carry a presigned link. The s3 URI identifies the image.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from . import clients
from .errors import DetectorThrottled, ModelNotReady
from .event import parse_event
from .service import process_image
from .settings import load_settings

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def _count(name: str, value: int = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


@logger.inject_lambda_context(correlation_id_path="messageId", clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)  # the response may hold a presigned link
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        settings = load_settings()
        upload = parse_event(event)
        logger.append_keys(bucket=upload.bucket, key=upload.key, execution=upload.execution)
        result = process_image(
            event,
            s3=clients.get("s3"),
            rekognition=clients.get("rekognition"),
            presign_s3=clients.get("s3-presign") if settings.image_links else None,
            settings=settings,
            now=datetime.now(UTC),
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
    _count("LabelsDetected", len(result["labels"]))
    _count("AlertsRaised", int(result["alert"]))
    _count("ImagesRejected", int(result["status"] == "rejected"))
    _count("ImagesNormalised", int(result["normalised"] is not None))
    tracer.put_annotation(key="status", value=result["status"])
    tracer.put_annotation(key="alert", value=result["alert"])
    logger.info(
        "image processed",
        extra={
            "image": result["image"],
            "imageId": result["imageId"],
            "status": result["status"],
            "reason": result["reason"],
            "normalised": result["normalised"],
            "labels": result["labels"],
            "alertLabels": result["alertLabels"],
            "resultKey": result["resultKey"],
        },
    )
    return result
