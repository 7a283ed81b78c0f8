"""The stack's parameters for a cost estimate: cdk.json's context and ``-c`` overrides, as ``local up``
and ``cdk synth`` read them.

modelArn, notificationEmails and labelsOfInterest are required by the stack but change no cost, so
harmless placeholders stand in when neither cdk.json nor ``-c`` gives them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from infra.config import LabelwatchConfig

PLACEHOLDERS: dict[str, Any] = {
    "modelArn": "arn:aws:rekognition:us-east-1:123456789012:project/cost/version/cost.v1/1764028800000",
    "notificationEmails": ["cost-estimate@example.com"],
    "labelsOfInterest": ["label"],
}


def project_context() -> dict[str, Any]:
    """cdk.json's context, or nothing where the project's cdk.json is not at hand."""
    from labelwatch.local.template import cdk_context

    try:
        return cdk_context()
    except (OSError, ValueError, KeyError):
        return {}


def stack_config(overrides: Mapping[str, Any]) -> LabelwatchConfig:
    """The validated parameters (``infra.config.ConfigError`` lists every problem)."""
    context = {**PLACEHOLDERS, **project_context(), **overrides}
    return LabelwatchConfig.from_mapping(context)
