"""The function's configuration, read from the environment in one place (docs/contracts.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import SettingsError
from .rules import LabelRules, parse_label_rules

MAX_IMAGE_LINK_DAYS = 30  # infra/config.py imageLinkDays
MAX_COOLDOWN_MINUTES = 1440  # infra/config.py alertCooldownMinutes
MAX_LABELS_LIMIT = 100  # labels per image; the detection output stays within its budget (result.py)


@dataclass(frozen=True)
class Settings:
    model_arn: str
    label_rules: LabelRules
    image_links: bool = False
    link_base_url: str = ""  # the link function's URL (required with image_links)
    link_secret_arn: str = ""  # the secret of the keys that sign links (required with image_links)
    image_link_days: int = 7
    results_prefix: str = "results/"
    claim_retention_days: int = 14  # as long as the DLQs keep messages (infra/config.py)
    alert_cooldown_minutes: int = 0  # flood control's window (infra/config.py alertCooldownMinutes); 0: off
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

    image_links = links_raw == "true"
    link_base_url = env.get("LINK_BASE_URL", "").strip()
    link_secret_arn = env.get("LINK_SECRET_ARN", "").strip()
    if image_links and not link_base_url.startswith(("https://", "http://")):
        raise SettingsError(
            f"LINK_BASE_URL must be the link function's URL with IMAGE_LINKS, got {link_base_url!r}"
        )
    if image_links and not link_secret_arn.startswith("arn:"):
        raise SettingsError(
            f"LINK_SECRET_ARN must be the link secret's ARN with IMAGE_LINKS, got {link_secret_arn!r}"
        )

    prefix = env.get("RESULTS_PREFIX", "results/").strip().lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"

    return Settings(
        model_arn=model_arn,
        label_rules=label_rules,
        image_links=image_links,
        link_base_url=link_base_url,
        link_secret_arn=link_secret_arn,
        image_link_days=_int(env, "IMAGE_LINK_DAYS", 7, 1, MAX_IMAGE_LINK_DAYS),
        results_prefix=prefix,
        claim_retention_days=_int(env, "CLAIM_RETENTION_DAYS", 14, 1, 3650),
        max_labels=_int(env, "MAX_LABELS", 50, 1, MAX_LABELS_LIMIT),
        alert_cooldown_minutes=_int(env, "ALERT_COOLDOWN_MINUTES", 0, 0, MAX_COOLDOWN_MINUTES),
    )
