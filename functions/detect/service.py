"""One image through the function: check, detect, apply the rules, build the alert and the records.

Pure orchestration over injected clients, so it runs the same under Lambda, moto and unit tests.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from links.keys import LinkKeys

from .alert import alert_labels, build_message, build_subject
from .cooldown import cooldown_window
from .detector import detect_labels
from .errors import ImageRejected
from .event import parse_event
from .image_check import CheckedImage, check_image, normalise_object
from .keys import result_key
from .labels import Label
from .links import signed_link
from .records import build_records, to_ndjson
from .result import AlertOut, Detection, LabelSeen, MatchSeen, fit_to_budget
from .settings import Settings


def process_image(
    event: dict[str, Any],
    *,
    s3: Any,
    rekognition: Any,
    settings: Settings,
    now: datetime,
    link_keys: Callable[[], LinkKeys] | None = None,
    decode_deadline: float | None = None,
) -> Detection:
    """The DetectLabels output (docs/contracts.md; ``Detection.payload()``) for one upload event.

    ``ImageRejected`` becomes ``status: rejected``; ModelNotReady, DetectorThrottled,
    DetectorMisconfigured and unexpected errors propagate to the workflow.
    ``link_keys()`` gives the keys that sign an alert's image link (read only when an image alerts,
    and required then with ``settings.image_links``). ``decode_deadline``
    (``time.monotonic()`` seconds): an image still decoding then is rejected as ``decode-timeout``.
    """
    upload = parse_event(event)
    rules = settings.label_rules

    status, reason = "ok", None
    width = height = None
    image_format = ""  # as detected from the bytes; the alert's link serves the image as that type
    normalised: str | None = None
    labels: list[Label] = []

    def detect(checked: CheckedImage) -> list[Label]:
        return detect_labels(
            rekognition,
            model_arn=settings.model_arn,
            bucket=upload.bucket,
            key=upload.key,
            version_id=upload.version_id,
            min_confidence=rules.min_confidence,
            image_bytes=checked.data,
            max_labels=settings.max_labels,
        )

    try:
        checked = check_image(
            s3, bucket=upload.bucket, key=upload.key, version_id=upload.version_id, deadline=decode_deadline
        )
        width, height, normalised = checked.width, checked.height, checked.normalised
        image_format = checked.format
        try:
            labels = detect(checked)
        except ImageRejected as refused:
            if refused.reason != "unsupported-format" or checked.data is not None:
                raise
            # The API refused a JPEG/PNG that looked fine (an encoder variant it does not read):
            # decode it here and send what Pillow makes of it, once.
            checked = normalise_object(
                s3,
                bucket=upload.bucket,
                key=upload.key,
                version_id=upload.version_id,
                checked=checked,
                deadline=decode_deadline,
            )
            normalised = f"{checked.normalised} (the model refused the original)"
            labels = detect(checked)
    except ImageRejected as rejected:
        status, reason = "rejected", rejected.reason
        width = rejected.width if rejected.width is not None else width
        height = rejected.height if rejected.height is not None else height

    matches = rules.evaluate(labels)
    alert = bool(matches)
    alerts: list[AlertOut] = []
    if alert:
        link = None
        if settings.image_links:
            if link_keys is None:
                raise ValueError("image links are on but no link keys were given")
            link = signed_link(
                settings.link_base_url,
                link_keys(),
                image_id=upload.image_id,
                uploaded_at=upload.uploaded_at,
                now=now,
                days=settings.image_link_days,
            )
        # One alert per label of interest (flood control holds back each label on its own).
        for rule in dict.fromkeys(match.rule for match in matches):
            of_rule = [match for match in matches if match.rule == rule]
            window = None
            if settings.alert_cooldown_minutes:
                window = cooldown_window(
                    label=rule,
                    bucket=upload.bucket,
                    key=upload.key,
                    uploaded_at=upload.uploaded_at,
                    detected_at=now,
                    minutes=settings.alert_cooldown_minutes,
                    retention_days=settings.claim_retention_days,
                ).payload()
            alerts.append(
                AlertOut(
                    label=rule,
                    labels=alert_labels(of_rule),
                    subject=build_subject(of_rule, upload.key),
                    message=build_message(
                        image_uri=upload.uri,
                        uploaded_at=upload.uploaded_at,
                        detected_at=now,
                        matches=of_rule,
                        labels=labels,
                        rules=rules,
                        model_arn=settings.model_arn,
                        execution=upload.execution,
                        link=link,
                    ),
                    cooldown=window,
                )
            )

    records = build_records(
        bucket=upload.bucket,
        key=upload.key,
        version_id=upload.version_id,
        image_format=image_format,
        labels=labels,
        is_alert=rules.is_match,
        threshold_for=rules.threshold_for,
        status=status,
        reason=reason,
        model=settings.model_arn,
        uploaded_at=upload.uploaded_at,
        detected_at=now,
        execution=upload.execution,
        width=width,
        height=height,
        normalised=normalised,
    )
    image_id = upload.image_id
    detection = Detection(
        image_id=image_id,
        image=upload.uri,
        status=status,
        reason=reason,
        normalised=normalised,
        labels=tuple(LabelSeen(label.name, label.confidence) for label in labels),
        matches=tuple(MatchSeen(m.label.name, m.label.confidence, m.threshold) for m in matches),
        alert=alert,
        alerts=tuple(alerts),
        result_key=result_key(settings.results_prefix, upload.uploaded_at, image_id),
        result_body=to_ndjson(records),
        claim_expires_at=int((now + timedelta(days=settings.claim_retention_days)).timestamp()),
    )
    return fit_to_budget(detection, records)
