"""Run the Custom Labels model on an S3 object or image bytes; translate its errors (docs/contracts.md)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from .errors import DetectorMisconfigured, DetectorThrottled, ImageRejected, ModelNotReady
from .keys import s3_uri
from .labels import Label

NOT_READY = {"ResourceNotReadyException"}
THROTTLED = {
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "InternalServerError",
}
MISCONFIGURED = {"AccessDeniedException", "ResourceNotFoundException", "InvalidParameterException"}
REJECTED = {
    "InvalidImageFormatException": "unsupported-format",
    "ImageTooLargeException": "too-large",
    "InvalidS3ObjectException": "object-missing",
}


def _translate(exc: ClientError, model_arn: str, uri: str) -> Exception:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    detail = f"DetectCustomLabels {code} for {uri} with {model_arn}: {error.get('Message', '')}"
    if code in NOT_READY:
        return ModelNotReady(detail)
    if code in THROTTLED:
        return DetectorThrottled(detail)
    if code in MISCONFIGURED:
        return DetectorMisconfigured(detail)
    if code in REJECTED:
        return ImageRejected(REJECTED[code])
    return exc


def _label(item: dict[str, Any]) -> Label:
    geometry = item.get("Geometry") or {}
    box = geometry.get("BoundingBox")
    return Label(
        name=str(item["Name"]),
        confidence=round(float(item["Confidence"]), 2),
        geometry=dict(box) if box else None,
    )


def detect_labels(
    rekognition: Any,
    *,
    model_arn: str,
    bucket: str,
    key: str,
    version_id: str | None,
    min_confidence: float,
    image_bytes: bytes | None = None,
    max_labels: int | None = None,
) -> list[Label]:
    """Labels at or above ``min_confidence`` for s3://bucket/key (decoded key), highest confidence first;
    at most ``max_labels`` of them (the service's ``MaxResults``: the highest-ranked).

    With ``image_bytes`` (a normalised JPEG/PNG of that object, at most 4 MB) the model gets those bytes
    instead of the S3 object; ``bucket``/``key`` then only name the image in errors.
    """
    if image_bytes is not None:
        image: dict[str, Any] = {"Bytes": image_bytes}
    else:
        s3_object = {"Bucket": bucket, "Name": key}
        if version_id:
            s3_object["Version"] = version_id
        image = {"S3Object": s3_object}
    try:
        limit = {"MaxResults": max_labels} if max_labels is not None else {}
        response = rekognition.detect_custom_labels(
            ProjectVersionArn=model_arn, Image=image, MinConfidence=float(min_confidence), **limit
        )
    except ClientError as exc:
        raise _translate(exc, model_arn, s3_uri(bucket, key)) from exc
    except (BotocoreConnectionError, HTTPClientError) as exc:
        # A network blip to the endpoint is transient too: let the workflow retry it with backoff.
        raise DetectorThrottled(f"DetectCustomLabels unreachable for {s3_uri(bucket, key)}: {exc}") from exc
    labels = [_label(item) for item in response.get("CustomLabels", [])]
    return sorted(labels, key=lambda label: label.confidence, reverse=True)[:max_labels]
