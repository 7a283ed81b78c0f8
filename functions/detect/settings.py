"""The function's configuration, read from the environment in one place (docs/contracts.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import SettingsError
from .rules import LabelRules, parse_label_rules

# SigV4 presigned URLs live at most 7 days (and never longer than the signing credentials).
MAX_LINK_EXPIRY_SECONDS = 7 * 24 * 3600
MAX_LABELS_LIMIT = 100  # labels per image; the detection output stays within its budget (result.py)


@dataclass(frozen=True)
class Settings:
    model_arn: str
    label_rules: LabelRules
    image_links: bool = False
    image_link_expiry_seconds: int = 3600
    results_prefix: str = "results/"
    claim_retention_days: int = 14  # as long as the DLQs keep messages (infra/config.py)
    max_labels: int = 50  # per image: DetectCustomLabels' MaxResults (an object-detection model: one per box)


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; SettingsError names the variable, its value and the rule."""
    env = os.environ if env is None else env

    model_arn = env.get("MODEL_ARN", "").strip()
    if not model_arn.startswith("arn:"):
        raise SettingsError(f"MODEL_ARN must be a Custom Labels project version ARN, got {model_arn!r}")

    try:
        label_rules = parse_label_rules(env.get("LABEL_RULES", ""))
    except ValueError as exc:
        raise SettingsError(f"LABEL_RULES: {exc}") from None

    links_raw = env.get("IMAGE_LINKS", "false").strip().lower()
    if links_raw not in ("true", "false"):
        raise SettingsError(f"IMAGE_LINKS must be 'true' or 'false', got {env.get('IMAGE_LINKS')!r}")

    prefix = env.get("RESULTS_PREFIX", "results/").strip().lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"

    return Settings(
        model_arn=model_arn,
        label_rules=label_rules,
        image_links=links_raw == "true",
        image_link_expiry_seconds=_int(env, "IMAGE_LINK_EXPIRY_SECONDS", 3600, 1, MAX_LINK_EXPIRY_SECONDS),
        results_prefix=prefix,
        claim_retention_days=_int(env, "CLAIM_RETENTION_DAYS", 14, 1, 3650),
        max_labels=_int(env, "MAX_LABELS", 50, 1, MAX_LABELS_LIMIT),
    )
