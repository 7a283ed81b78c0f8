"""One workload priced under each design, side by side, with the effect of executionLogLevel."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from labelwatch.cost.assumptions import Assumptions
from labelwatch.cost.execution_logs import LEVELS
from labelwatch.cost.model import EXECUTION_LOGS, Estimate, Workload, estimate

if TYPE_CHECKING:
    from infra.config import LabelwatchConfig
    from labelwatch.cost.price_list import PriceList


@dataclass(frozen=True)
class Comparison:
    key: str
    title: str
    workload: Workload
    configured_mode: str
    configured_log_level: str
    estimates: tuple[Estimate, ...]
    execution_logs_by_level: dict[str, float]  # monthly USD of the state machine's logs per level
    total_by_level: dict[str, float]  # the configured mode's total per level

    def estimate(self, design: str) -> Estimate:
        return next(e for e in self.estimates if e.design == design)

    @property
    def warnings(self) -> tuple[str, ...]:
        seen: list[str] = []
        for each in self.estimates:
            seen += [note for note in each.notes if note not in seen]
        return tuple(seen)


def designs_for(config: LabelwatchConfig, manual_hours_per_day: float | None) -> tuple[str, ...]:
    manual = config.model_control == "manual" or manual_hours_per_day is not None
    return ("on-demand", "always-on", *(("manual",) if manual else ()), "original")


def compare(
    workload: Workload,
    config: LabelwatchConfig,
    prices: PriceList,
    *,
    key: str = "",
    title: str = "",
    manual_hours_per_day: float | None = None,
    assumptions: Assumptions | None = None,
) -> Comparison:
    assumptions = assumptions or Assumptions()

    def priced(design: str, cfg: LabelwatchConfig = config) -> Estimate:
        return estimate(
            workload,
            cfg,
            prices,
            design=design,
            assumptions=assumptions,
            manual_hours_per_day=manual_hours_per_day,
        )

    estimates = tuple(priced(design) for design in designs_for(config, manual_hours_per_day))
    by_level = {
        level: priced(config.model_control, replace(config, execution_log_level=level)) for level in LEVELS
    }
    return Comparison(
        key=key,
        title=title or describe(workload),
        workload=workload,
        configured_mode=config.model_control,
        configured_log_level=config.execution_log_level,
        estimates=estimates,
        execution_logs_by_level={
            level: _execution_logs(each).monthly_usd or 0.0 for level, each in by_level.items()
        },
        total_by_level={level: each.total for level, each in by_level.items()},
    )


def _execution_logs(each: Estimate):
    return next(line for line in each.lines if line.component.startswith(EXECUTION_LOGS))


def describe(workload: Workload) -> str:
    how = "steady" if workload.steady else f"in {workload.bursts_per_day:,} burst(s)"
    return f"{workload.images_per_day:,} images/day, {how}"
