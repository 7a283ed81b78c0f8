"""A label the model returned."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Label:
    name: str
    confidence: float  # 0-100, rounded to 2 decimals (the value rules compare and people see)
    geometry: dict[str, Any] | None = None  # BoundingBox for object-detection models, else None
