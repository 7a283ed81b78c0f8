"""The three workloads of issue 11 and the README's cost table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labelwatch.cost.model import Workload

# Parameters an example needs to be served at all, applied unless the user set the units with -c.
UNIT_PARAMETERS = ("minInferenceUnits", "maxInferenceUnits")


@dataclass(frozen=True)
class Example:
    key: str
    title: str
    workload: Workload
    parameters: dict[str, Any] = field(default_factory=dict)

    def context(self, overrides: dict[str, Any]) -> dict[str, Any]:
        """The example's own parameters under the user's ``-c`` ones."""
        if any(name in overrides for name in UNIT_PARAMETERS):
            return dict(overrides)
        return {**self.parameters, **overrides}


EXAMPLES = (
    Example("a", "2,000 images/day in 2 bursts", Workload(2_000, bursts_per_day=2)),
    Example("b", "50,000 images/day, steady", Workload(50_000)),
    Example(
        "c",
        "1,000,000 images/day, steady (maxInferenceUnits=4: auto-scaling carries 11.6 images/s)",
        Workload(1_000_000),
        {"maxInferenceUnits": 4},
    ),
)
