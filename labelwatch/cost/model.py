"""The monthly cost of a labelwatch stack for a workload: pure arithmetic, itemised per component.

``estimate(workload, config, prices, design=...)`` prices one design: ``on-demand``, ``always-on`` or
``manual`` (the stack with that modelControl, its other parameters as ``config`` says) or
``original`` (the two-Lambda, two-queue design labelwatch replaced; ``original.py``). Every number
comes from the price list, the stack's parameters or a named assumption (``assumptions.py``);
docs/cost.md writes the formulas down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from labelwatch.cost.assumptions import GIB, MONTH_DAYS, SECONDS_PER_DAY, Assumptions
from labelwatch.cost.execution_logs import bytes_per_image

if TYPE_CHECKING:
    from infra.config import LabelwatchConfig
    from labelwatch.cost.price_list import PriceList

DESIGNS = ("on-demand", "always-on", "manual", "original")
MINUTES_PER_DAY = 24 * 60
CHUNK_BYTES = 64 * 1024  # SQS, SNS and Pipes bill each 64 KB of a payload as one request
SQS_BATCH_LIMIT = 10  # messages per ReceiveMessage / DeleteMessageBatch

CUSTOM_LABELS = "Custom Labels inference"
STEP_FUNCTIONS = "Step Functions Express"
LAMBDA_DETECT = "Lambda: detect"
LAMBDA_RESULTS = "Lambda: results"
LAMBDA_AUTOPILOT = "Lambda: autopilot"
LAMBDA_FLOOD_CONTROL = "Lambda: flood control"
PIPES = "EventBridge Pipes"
SQS = "SQS"
DYNAMODB = "DynamoDB tables"
S3 = "S3 requests, results"
SNS = "SNS publishes, e-mail"
EXECUTION_LOGS = "Logs: executions"
FUNCTION_LOGS = "Logs: functions"
XRAY = "X-Ray traces"
SCHEDULER = "EventBridge Scheduler"
EVENTBRIDGE_RULE = "EventBridge rule"
CLOUDWATCH = "Alarms, dashboard, metrics"
KMS = "KMS keys, requests"


@dataclass(frozen=True)
class Workload:
    """Images a day, in ``bursts_per_day`` bursts (0: a steady rate), the share that alerts, and
    how many addresses each alert is e-mailed to."""

    images_per_day: int
    bursts_per_day: int = 0
    alert_share: float = 0.1
    subscribers: int = 2

    def __post_init__(self) -> None:
        for name in ("images_per_day", "bursts_per_day", "subscribers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} {value!r} is not a whole number")
        if self.images_per_day < 1:
            raise ValueError(f"images_per_day {self.images_per_day} must be at least 1")
        if self.bursts_per_day < 0:
            raise ValueError(f"bursts_per_day {self.bursts_per_day} must be 0 (steady) or more")
        if self.bursts_per_day > self.images_per_day:
            raise ValueError(
                f"bursts_per_day {self.bursts_per_day} is more than images_per_day {self.images_per_day}; "
                "a burst has at least one image"
            )
        if not (isinstance(self.alert_share, int | float) and 0 <= self.alert_share <= 1):
            raise ValueError(f"alert_share {self.alert_share!r} must be between 0 and 1")
        if self.subscribers < 0:
            raise ValueError(f"subscribers {self.subscribers} must be 0 or more")

    @property
    def steady(self) -> bool:
        return self.bursts_per_day == 0

    @property
    def images_per_month(self) -> float:
        return self.images_per_day * MONTH_DAYS

    @property
    def images_per_second(self) -> float:
        """The day's average rate."""
        return self.images_per_day / SECONDS_PER_DAY

    @property
    def burst_size(self) -> float:
        return self.images_per_day / self.bursts_per_day if self.bursts_per_day else 1.0


@dataclass(frozen=True)
class Line:
    """One component's monthly cost; ``monthly_usd`` None: not estimated (``basis`` says why)."""

    component: str
    monthly_usd: float | None
    basis: str


@dataclass(frozen=True)
class ModelRun:
    """How long the model runs a day, on how many inference units, and why."""

    hours_per_day: float | None
    units: int
    cycles_per_day: float = 0.0  # start-stop cycles (on-demand)
    cycle_minutes: float = 0.0
    never_stops: bool = False
    shortfall: str | None = None  # the units cannot carry the workload's rate


@dataclass(frozen=True)
class Estimate:
    design: str
    workload: Workload
    lines: tuple[Line, ...]
    model: ModelRun
    images_per_batch: float
    notes: tuple[str, ...] = field(default=())

    @property
    def complete(self) -> bool:
        return all(line.monthly_usd is not None for line in self.lines)

    @property
    def total(self) -> float:
        """The sum of the estimated lines (a line not estimated counts 0: see ``complete``)."""
        return sum(line.monthly_usd or 0.0 for line in self.lines)

    @property
    def per_1000_images(self) -> float:
        return self.total / self.workload.images_per_month * 1000

    def line(self, component: str) -> Line:
        return next(line for line in self.lines if line.component == component)


def estimate(
    workload: Workload,
    config: LabelwatchConfig,
    prices: PriceList,
    *,
    design: str,
    assumptions: Assumptions | None = None,
    manual_hours_per_day: float | None = None,
) -> Estimate:
    """The monthly cost of ``design`` for ``workload``; labelwatch designs take ``config``'s other
    parameters, with modelControl set to the design."""
    assumptions = assumptions or Assumptions()
    if design not in DESIGNS:
        raise ValueError(f"design {design!r} is not one of {', '.join(DESIGNS)}")
    if manual_hours_per_day is not None and not 0 <= manual_hours_per_day <= 24:
        raise ValueError(f"manual hours per day {manual_hours_per_day!r} must be between 0 and 24")
    if design == "original":
        from labelwatch.cost.original import original_estimate

        return original_estimate(workload, prices, assumptions)
    config = replace(config, model_control=design)
    return _labelwatch_estimate(workload, config, prices, assumptions, manual_hours_per_day)


# --- the model's running time -----------------------------------------------------------------


def units_for_rate(
    workload: Workload, config: LabelwatchConfig, assumptions: Assumptions
) -> tuple[int, str | None]:
    """Units the steady rate needs within the configured bounds, and a warning if the most the
    stack may run (maxInferenceUnits, or minInferenceUnits without auto-scaling) cannot carry it."""
    needed = max(1, math.ceil(workload.images_per_second / assumptions.unit_images_per_second))
    most = config.max_inference_units or config.min_inference_units
    units = min(max(config.min_inference_units, needed), most)
    if needed <= most:
        return units, None
    why = "maxInferenceUnits" if config.max_inference_units else "minInferenceUnits (auto-scaling is off)"
    return units, (
        f"{most} inference unit(s) ({why}) carry {most * assumptions.unit_images_per_second:g} images/s at "
        f"the assumed {assumptions.unit_images_per_second:g} images/s per unit; "
        f"{workload.images_per_second:.2f} images/s arrive, so the backlog grows without end: "
        f"set maxInferenceUnits to {needed} or more"
    )


def model_run(
    workload: Workload,
    config: LabelwatchConfig,
    assumptions: Assumptions,
    manual_hours_per_day: float | None = None,
) -> ModelRun:
    """Hours a day the model bills under ``config.model_control``.

    always-on: 24 h. on-demand: per start-stop cycle, the start (billed from the call), the Pipe's
    start at the next minute, the burst at the units' throughput, the idle countdown, a minute to see
    the queue empty and one to stop the model after the Pipe, and the stop; a steady workload whose
    images come closer together than modelIdleMinutes never stops (24 h). manual: what the user runs.
    """
    steady_units, shortfall = units_for_rate(workload, config, assumptions)
    units = steady_units if workload.steady else config.min_inference_units
    if config.model_control == "always-on":
        return ModelRun(24.0, units, never_stops=True, shortfall=shortfall)
    if config.model_control == "manual":
        return ModelRun(manual_hours_per_day, units, shortfall=shortfall)
    idle_seconds = config.model_idle_minutes * 60
    if workload.steady and SECONDS_PER_DAY / workload.images_per_day <= idle_seconds:
        return ModelRun(24.0, steady_units, never_stops=True, shortfall=shortfall)
    cycles = float(workload.bursts_per_day or workload.images_per_day)
    processing_minutes = workload.burst_size / (assumptions.unit_images_per_second * units) / 60
    cycle_minutes = (
        assumptions.model_start_minutes
        + assumptions.scheduler_minutes_per_cycle
        + processing_minutes
        + config.model_idle_minutes
        + assumptions.model_stop_minutes
    )
    if cycles * cycle_minutes >= MINUTES_PER_DAY:
        return ModelRun(24.0, units, cycles, cycle_minutes, never_stops=True, shortfall=shortfall)
    return ModelRun(cycles * cycle_minutes / 60, units, cycles, cycle_minutes, shortfall=shortfall)


# --- batches and executions -------------------------------------------------------------------


def images_per_batch(workload: Workload, batch_size: int, window_seconds: float) -> float:
    """Images in an average batch: a burst waits on the queue, so its batches are full (the last
    one takes the rest); a steady rate r fills min(batchSize, max(1, r x batchWindowSeconds))."""
    if not workload.steady:
        return workload.burst_size / math.ceil(workload.burst_size / batch_size)
    return min(float(batch_size), max(1.0, workload.images_per_second * window_seconds))


def billed_execution_seconds(batch: float, map_concurrency: int, assumptions: Assumptions) -> float:
    """An execution runs its batch in ceil(batch / mapConcurrency) rounds, billed per 100 ms."""
    rounds = math.ceil(math.ceil(batch) / map_concurrency)
    seconds = rounds * assumptions.workflow_seconds_per_round + assumptions.execution_overhead_seconds
    return math.ceil(round(seconds * 10, 6)) / 10


def chunks(size_bytes: float) -> int:
    """64 KB request chunks of a payload."""
    return max(1, math.ceil(size_bytes / CHUNK_BYTES))


def traces_recorded_per_day(
    workload: Workload,
    executions_per_day: float,
    processing_seconds_per_burst: float,
    assumptions: Assumptions,
) -> float:
    """X-Ray's default rule records the first execution a second and ``xray_rate`` of the rest:
    over the day for a steady rate, over each burst's processing for bursts."""

    def per_second(rate: float) -> float:
        return min(rate, assumptions.xray_reservoir_per_second) + assumptions.xray_rate * max(
            0.0, rate - assumptions.xray_reservoir_per_second
        )

    if workload.steady:
        return per_second(executions_per_day / SECONDS_PER_DAY) * SECONDS_PER_DAY
    per_burst = executions_per_day / workload.bursts_per_day
    seconds = max(processing_seconds_per_burst, 1.0)
    return workload.bursts_per_day * per_second(per_burst / seconds) * seconds


# --- the labelwatch stack ---------------------------------------------------------------------


def _labelwatch_estimate(
    workload: Workload,
    config: LabelwatchConfig,
    prices: PriceList,
    assumptions: Assumptions,
    manual_hours_per_day: float | None,
) -> Estimate:
    a = assumptions
    images = workload.images_per_month
    run = model_run(workload, config, a, manual_hours_per_day)
    batch = images_per_batch(workload, config.batch_size, config.batch_window_seconds)
    executions = images / batch
    autopilot = config.model_control != "manual"  # manual deploys no autopilot, and the Pipe runs
    autopilot_runs = a.autopilot_per_minute * MINUTES_PER_DAY * MONTH_DAYS if autopilot else 0.0
    pipe_hours = run.hours_per_day if config.model_control == "on-demand" else 24.0
    flood_control = config.alert_cooldown_minutes > 0
    digest_runs = a.digest_per_minute * MINUTES_PER_DAY * MONTH_DAYS if flood_control else 0.0
    scheduled = autopilot_runs + digest_runs
    lines = [
        _custom_labels_line(run, prices),
        _step_functions_line(executions, batch, config, prices, a),
        _detect_function_line(images, prices, a),
        *([_autopilot_line(autopilot_runs, prices, a)] if autopilot else []),
        *([_flood_control_line(workload, digest_runs, prices, a)] if flood_control else []),
        _pipes_line(executions, batch, prices, a),
        _sqs_line(images, executions, batch, pipe_hours, autopilot_runs, prices, a),
        _dynamodb_line(workload, config, autopilot_runs, digest_runs, prices, a),
        s3_line(images, a.s3_gets_per_image, prices, a),
        sns_line(workload, prices),
        _execution_logs_line(workload, config.execution_log_level, batch, prices, a),
        _function_logs_line(images, autopilot_runs, flood_runs(workload, digest_runs), prices, a),
        _xray_line(workload, executions, run, prices, a),
        *(
            [
                Line(
                    SCHEDULER,
                    prices["scheduler_invocations"].cost(scheduled),
                    f"{scheduled:,.0f} invocations "
                    f"(1 a minute: {_scheduled_functions(autopilot, flood_control)})",
                )
            ]
            if scheduled
            else []
        ),
        Line(
            EVENTBRIDGE_RULE,
            prices["eventbridge_aws_service_events"].cost(images),
            f"{images:,.0f} S3 events: AWS service events are free",
        ),
        _cloudwatch_line(autopilot, prices, a),
        _kms_line(workload, autopilot, flood_control, prices, a),
    ]
    notes = []
    if run.shortfall:
        notes.append(run.shortfall)
    return Estimate(config.model_control, workload, tuple(lines), run, batch, tuple(notes))


def _custom_labels_line(run: ModelRun, prices: PriceList) -> Line:
    price = prices["custom_labels_inference_unit_hour"]
    if run.hours_per_day is None:
        return Line(
            CUSTOM_LABELS,
            None,
            "not estimated: with modelControl manual you start and stop the model "
            "(give --manual-hours-per-day)",
        )
    unit_hours = run.hours_per_day * run.units * MONTH_DAYS
    return Line(
        CUSTOM_LABELS,
        price.cost(unit_hours),
        f"{run.hours_per_day:.2f} h/day x {run.units} unit(s) x {MONTH_DAYS} days = {unit_hours:,.1f} unit-h",
    )


def _step_functions_line(
    executions: float, batch: float, config: LabelwatchConfig, prices: PriceList, a: Assumptions
) -> Line:
    seconds = billed_execution_seconds(batch, config.map_concurrency, a)
    gb_hours = executions * seconds * a.express_billed_memory_mb / 1024 / 3600
    cost = prices["step_functions_express_requests"].cost(executions)
    cost += prices["step_functions_express_duration"].cost(gb_hours)
    return Line(
        STEP_FUNCTIONS,
        cost,
        f"{executions:,.0f} executions of {batch:.2f} images, {seconds:.1f} s at "
        f"{a.express_billed_memory_mb} MB ({gb_hours:,.2f} GB-h)",
    )


def _detect_function_line(images: float, prices: PriceList, a: Assumptions) -> Line:
    gb_seconds = images * a.detect_seconds_per_image * a.detect_memory_mb / 1024
    cost = prices["lambda_requests"].cost(images) + prices["lambda_arm_duration"].cost(gb_seconds)
    return Line(
        LAMBDA_DETECT,
        cost,
        f"{images:,.0f} invocations x {a.detect_seconds_per_image} s x {a.detect_memory_mb} MB Arm",
    )


def _autopilot_line(runs: float, prices: PriceList, a: Assumptions) -> Line:
    gb_seconds = runs * a.autopilot_seconds * a.autopilot_memory_mb / 1024
    cost = prices["lambda_requests"].cost(runs) + prices["lambda_arm_duration"].cost(gb_seconds)
    return Line(
        LAMBDA_AUTOPILOT, cost, f"{runs:,.0f} runs x {a.autopilot_seconds} s x {a.autopilot_memory_mb} MB Arm"
    )


def _pipes_line(executions: float, batch: float, prices: PriceList, a: Assumptions) -> Line:
    requests = executions * chunks(math.ceil(batch) * a.sqs_record_bytes)
    return Line(PIPES, prices["pipes_requests"].cost(requests), f"{requests:,.0f} batches (64 KB chunks)")


def _sqs_line(
    images: float,
    executions: float,
    batch: float,
    pipe_hours_per_day: float | None,
    autopilot_runs: float,
    prices: PriceList,
    a: Assumptions,
) -> Line:
    calls_per_batch = math.ceil(math.ceil(batch) / SQS_BATCH_LIMIT)
    polls = (pipe_hours_per_day or 0.0) * 3600 * a.pipe_pollers / a.long_poll_seconds * MONTH_DAYS
    receives = executions * calls_per_batch + polls
    deletes = executions * calls_per_batch
    requests = images + receives + deletes + autopilot_runs
    return Line(
        SQS,
        prices["sqs_standard_requests"].cost(requests),
        f"{images:,.0f} sends, {receives:,.0f} receives ({polls:,.0f} empty long polls while the Pipe "
        f"runs), {deletes:,.0f} deletes, {autopilot_runs:,.0f} attribute reads",
    )


def _scheduled_functions(autopilot: bool, flood_control: bool) -> str:
    return " and ".join(name for name, on in (("autopilot", autopilot), ("digests", flood_control)) if on)


def _flood_control_line(workload: Workload, digest_runs: float, prices: PriceList, a: Assumptions) -> Line:
    """The digest function once a minute; ApplyCooldown once per alerting image."""
    applies = workload.images_per_month * workload.alert_share
    gb_seconds = (
        digest_runs * a.digest_seconds * a.digest_memory_mb
        + applies * a.apply_cooldown_seconds * a.apply_cooldown_memory_mb
    ) / 1024
    cost = prices["lambda_requests"].cost(digest_runs + applies) + prices["lambda_arm_duration"].cost(
        gb_seconds
    )
    return Line(
        LAMBDA_FLOOD_CONTROL,
        cost,
        f"{digest_runs:,.0f} digest runs x {a.digest_seconds} s, {applies:,.0f} ApplyCooldown x "
        f"{a.apply_cooldown_seconds} s, {a.digest_memory_mb} MB Arm",
    )


def _dynamodb_line(
    workload: Workload,
    config: LabelwatchConfig,
    autopilot_runs: float,
    digest_runs: float,
    prices: PriceList,
    a: Assumptions,
) -> Line:
    """The claims table (and the autopilot's state table: a read and a write a run, a tiny item; and
    flood control's windows: a write or two per alerting image, an index query a minute)."""
    cooldown_writes = workload.images_per_month * workload.alert_share * a.cooldown_writes_per_alert
    writes = (2 * workload.images_per_month + autopilot_runs * a.autopilot_state_writes_per_run) + (
        cooldown_writes if digest_runs else 0.0
    )
    reads = autopilot_runs * a.autopilot_state_reads_per_run + digest_runs
    stored_gb = workload.images_per_day * config.claim_retention_days * a.claim_item_bytes / GIB
    cost = prices["dynamodb_on_demand_writes"].cost(writes) + prices["dynamodb_on_demand_reads"].cost(reads)
    cost += prices["dynamodb_storage"].cost(stored_gb) + prices["dynamodb_point_in_time_recovery"].cost(
        stored_gb
    )
    return Line(
        DYNAMODB,
        cost,
        f"{writes:,.0f} writes (claim, completion, autopilot state, cooldowns), {reads:,.0f} reads, "
        f"{stored_gb:,.2f} GB "
        f"of claims kept {config.claim_retention_days} days with point-in-time recovery",
    )


def s3_line(images: float, gets_per_image: int, prices: PriceList, a: Assumptions) -> Line:
    gets = images * gets_per_image
    stored_gb = images * a.result_bytes_per_image / GIB
    cost = prices["s3_get_requests"].cost(gets) + prices["s3_put_requests"].cost(images)
    cost += prices["s3_standard_storage"].cost(stored_gb)
    return Line(
        S3,
        cost,
        f"{gets:,.0f} GETs, {images:,.0f} result PUTs, {stored_gb:,.2f} GB of the month's results stored",
    )


def sns_line(workload: Workload, prices: PriceList) -> Line:
    publishes = workload.images_per_month * workload.alert_share
    emails = publishes * workload.subscribers
    cost = prices["sns_publishes"].cost(publishes) + prices["sns_email_deliveries"].cost(emails)
    return Line(SNS, cost, f"{publishes:,.0f} publishes, {emails:,.0f} e-mails")


def log_costs(gb: float, prices: PriceList, a: Assumptions, *, ingestion: str, scanned: bool) -> float:
    """Ingestion, the data protection scan (every labelwatch log group has one) and a month of
    compressed storage for ``gb`` ingested in a month."""
    cost = prices[ingestion].cost(gb) + prices["logs_storage"].cost(gb * a.log_compression)
    if scanned:
        cost += prices["logs_data_protection"].cost(gb)
    return cost


def execution_log_gb(workload: Workload, level: str, batch: float, a: Assumptions) -> float:
    per_image = bytes_per_image(
        level, alert_share=workload.alert_share, images_per_batch=batch, assumptions=a
    )
    return workload.images_per_month * per_image / GIB


def _execution_logs_line(
    workload: Workload, level: str, batch: float, prices: PriceList, a: Assumptions
) -> Line:
    gb = execution_log_gb(workload, level, batch, a)
    per_image = gb * GIB / workload.images_per_month
    return Line(
        f"{EXECUTION_LOGS} ({level})",
        log_costs(gb, prices, a, ingestion="logs_vended_ingestion", scanned=True),
        f"{per_image / 1024:,.1f} KB/image at {level}: {gb:,.2f} GB ingested and scanned",
    )


def flood_runs(workload: Workload, digest_runs: float) -> float:
    """Flood control's invocations: the digest's runs and, when deployed, one ApplyCooldown per
    alerting image."""
    return digest_runs + (workload.images_per_month * workload.alert_share if digest_runs else 0.0)


def _function_logs_line(
    images: float, autopilot_runs: float, flood_control_runs: float, prices: PriceList, a: Assumptions
) -> Line:
    gb = (
        images * a.detect_log_bytes_per_image
        + autopilot_runs * a.autopilot_log_bytes
        + flood_control_runs * a.flood_control_log_bytes
    ) / GIB
    return Line(
        FUNCTION_LOGS,
        log_costs(gb, prices, a, ingestion="logs_standard_ingestion", scanned=True),
        f"{gb:,.2f} GB (detect, autopilot and flood control functions)",
    )


def _xray_line(
    workload: Workload, executions: float, run: ModelRun, prices: PriceList, a: Assumptions
) -> Line:
    per_day = executions / MONTH_DAYS
    processing = workload.burst_size / (a.unit_images_per_second * run.units)
    traces = traces_recorded_per_day(workload, per_day, processing, a) * MONTH_DAYS
    return Line(XRAY, prices["xray_traces_recorded"].cost(traces), f"{traces:,.0f} traces recorded")


def _cloudwatch_line(autopilot: bool, prices: PriceList, a: Assumptions) -> Line:
    alarms = a.alarm_metrics + (a.autopilot_alarm_metrics if autopilot else 0)
    metrics = a.custom_metrics + (a.autopilot_custom_metrics if autopilot else 0)
    cost = prices["cloudwatch_alarm_metrics"].cost(alarms) + prices["cloudwatch_dashboards"].cost(
        a.dashboards
    )
    cost += prices["cloudwatch_custom_metrics"].cost(metrics)
    return Line(
        CLOUDWATCH, cost, f"{alarms} alarm metrics, {a.dashboards} dashboard, {metrics} custom metrics"
    )


def _kms_line(
    workload: Workload, autopilot: bool, flood_control: bool, prices: PriceList, a: Assumptions
) -> Line:
    publishes = workload.images_per_month * workload.alert_share
    log_groups = a.log_groups + (1 if autopilot else 0) + (2 if flood_control else 0)
    requests = publishes * (1 + workload.subscribers)
    requests += log_groups * a.kms_requests_per_log_group_hour * 24 * MONTH_DAYS
    cost = prices["kms_keys"].cost(a.kms_keys) + prices["kms_requests"].cost(requests)
    return Line(KMS, cost, f"{a.kms_keys} keys, {requests:,.0f} requests")
