"""Lambda entry point ``cooldown.handler.lambda_handler``: the workflow's ApplyCooldown state.

Input ``{"detection": <DetectLabels' output>, "decisions": [{"label", "suppressed"}, ...]}``; output
the detection after the decisions (``cooldown.apply``). It calls no AWS service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.logging import Logger

from .apply import apply_cooldown

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    detection = apply_cooldown(event.get("detection"), event.get("decisions") or [])
    held = [d["label"] for d in event.get("decisions") or [] if d.get("suppressed") is True]
    logger.info(
        "cooldown applied",
        extra={"imageId": detection.get("imageId"), "heldBack": held, "alerts": len(detection["alerts"])},
    )
    return detection
