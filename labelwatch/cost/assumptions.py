"""What the cost model assumes, by name: each is a guess or a reading of the stack, never a price.

``Assumptions()`` holds the values ``labelwatch cost`` uses; ``EXPLAINED`` says what each one is and
where it comes from (docs/cost.md repeats them). Change a value here and in docs/cost.md together.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

MONTH_DAYS = 365.25 / 12  # 30.4375: an average month
SECONDS_PER_DAY = 24 * 3600
GIB = 2**30  # AWS's "GB" of storage and log data


@dataclass(frozen=True)
class Assumptions:
    # The model's running time
    model_start_minutes: float = 20.0
    model_stop_minutes: float = 5.0
    scheduler_minutes_per_cycle: float = 3.0
    unit_images_per_second: float = 5.0
    # The workflow
    detect_seconds_per_image: float = 0.4
    detect_memory_mb: int = 1024
    workflow_seconds_per_round: float = 0.6
    execution_overhead_seconds: float = 0.1
    express_billed_memory_mb: int = 64
    sqs_record_bytes: int = 2200
    pipe_pollers: int = 5
    long_poll_seconds: float = 20.0
    s3_gets_per_image: int = 3
    result_bytes_per_image: int = 1200
    claim_item_bytes: int = 600
    # Logs and traces
    detect_log_bytes_per_image: int = 1500
    log_compression: float = 0.2
    error_share: float = 0.01
    fatal_share: float = 0.0001
    error_event_bytes: int = 1350
    xray_reservoir_per_second: float = 1.0
    xray_rate: float = 0.05
    # The autopilot (a scheduled Lambda function, once a minute)
    autopilot_per_minute: float = 1.0
    autopilot_memory_mb: int = 256
    autopilot_seconds: float = 0.3
    autopilot_log_bytes: int = 600
    autopilot_state_reads_per_run: int = 1
    autopilot_state_writes_per_run: int = 1
    # Flood control (alertCooldownMinutes > 0): the digest function once a minute, ApplyCooldown and
    # CheckCooldown once per alerting image
    digest_per_minute: float = 1.0
    digest_memory_mb: int = 256
    digest_seconds: float = 0.2
    apply_cooldown_memory_mb: int = 256
    apply_cooldown_seconds: float = 0.05
    cooldown_writes_per_alert: int = 2
    flood_control_log_bytes: int = 400  # per digest run and per ApplyCooldown invocation
    # Fixed parts of the stack
    alarm_metrics: int = 9
    autopilot_alarm_metrics: int = 3
    dashboards: int = 1
    custom_metrics: int = 8
    autopilot_custom_metrics: int = 2
    kms_keys: int = 2
    log_groups: int = 3
    kms_requests_per_log_group_hour: float = 12.0
    # The original two-Lambda, two-queue design
    original_detect_memory_mb: int = 128
    original_detect_seconds_per_image: float = 0.5
    original_results_memory_mb: int = 128
    original_results_seconds_per_image: float = 0.05
    original_batch_size: int = 10
    original_pollers_per_queue: int = 5
    original_log_bytes_per_invocation: int = 1000
    original_log_bytes_per_image: int = 500

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


EXPLAINED: dict[str, str] = {
    "model_start_minutes": "a Custom Labels start takes this long and is billed from the StartProjectVersion "
    "call (AWS: 'might take a few minutes'; its guide prices a restart at 10-20 minutes of downtime; this "
    "README says 10-30)",
    "model_stop_minutes": "STOPPING is billed until STOPPED (AWS: 'a model might take a while to stop'; no "
    "figure)",
    "scheduler_minutes_per_cycle": "the autopilot decides once a minute: up to a minute until it starts the "
    "Pipe after RUNNING, to notice the empty queue, and to stop the model after the Pipe stopped",
    "unit_images_per_second": "DetectCustomLabels calls one inference unit answers a second; AWS publishes "
    "no figure (it depends on the model and the images) and its blog 'Calculate inference units' says to "
    "measure it",
    "detect_seconds_per_image": "billed duration of the detect function per image (image checks, the model "
    "call); one image per invocation",
    "detect_memory_mb": "the detect function's memory (infra/workflow.py; Arm)",
    "workflow_seconds_per_round": "one image's way through the Map (claim, detect, write, publish, complete)",
    "execution_overhead_seconds": "an execution's own start, batch report and end",
    "express_billed_memory_mb": "AWS's formula (50 MB + definition + data x Map items) stays under 64 MB",
    "sqs_record_bytes": "one SQS record as the Pipe hands it on (the S3 event as its body, attributes)",
    "pipe_pollers": "receives the Pipe keeps open at once while it runs (Lambda's documented SQS poller "
    "count; Pipes do not document theirs)",
    "long_poll_seconds": "an empty long poll returns after this long",
    "s3_gets_per_image": "the detect function's ranged GETs (the head and the end marker) and the model's "
    "read of the image",
    "result_bytes_per_image": "NDJSON result records per image (stored a month: they accumulate)",
    "claim_item_bytes": "a claim item (under 1 KB: 1 write unit per write; 2 writes per image)",
    "detect_log_bytes_per_image": "the detect function's log lines per invocation (START/END/REPORT, "
    "Powertools' line, the EMF metrics)",
    "log_compression": "archived (billed) log size / ingested size",
    "error_share": "images whose execution logs one error event (a retried throttle or timeout)",
    "fatal_share": "images whose execution fails outright",
    "error_event_bytes": "one logged error event (type, error, cause, envelope)",
    "xray_reservoir_per_second": "X-Ray's default sampling rule: the first request a second ...",
    "xray_rate": "... and this share of the rest (every execution's trace includes its detect calls)",
    "autopilot_per_minute": "EventBridge Scheduler invokes the autopilot function once a minute (on-demand "
    "and always-on; manual deploys no autopilot)",
    "autopilot_memory_mb": "the autopilot function's memory (infra/autopilot.py; Arm)",
    "autopilot_seconds": "its billed duration per run",
    "digest_per_minute": "flood control's digest function runs once a minute (EventBridge Scheduler)",
    "digest_memory_mb": "the digest function's memory (infra/flood_control.py)",
    "digest_seconds": "its billed duration per run: one index query, nothing due most minutes",
    "apply_cooldown_memory_mb": "the ApplyCooldown function's memory (infra/flood_control.py)",
    "apply_cooldown_seconds": "its billed duration per alerting image: a few lines of JSON rewritten",
    "flood_control_log_bytes": "the digest function's log line per run, ApplyCooldown's per invocation",
    "cooldown_writes_per_alert": "CheckCooldown, and RecordSuppressed when held back (conservatively both)",
    "autopilot_log_bytes": "its log lines per run",
    "autopilot_state_reads_per_run": "GetItem of its state table per run",
    "autopilot_state_writes_per_run": "PutItem of its state table per run (conservatively every run)",
    "alarm_metrics": "metrics watched by alarms in every mode: 3 DLQs, failed and timed-out executions, "
    "detect errors (a 2-metric expression), throttles, the backlog older than maxWaitMinutes",
    "autopilot_alarm_metrics": "the autopilot's alarms: a failed start, an always-on model found stopped, "
    "its own errors",
    "dashboards": "the stack's dashboard",
    "custom_metrics": "the detect function's 8 EMF counters",
    "autopilot_custom_metrics": "the autopilot's ModelStartFailed and ModelFoundStopped metrics",
    "kms_keys": "the topics key and the logs key",
    "log_groups": "executions, detect and pipe log groups (the logs key), and the autopilot's and flood "
    "control's two when deployed",
    "kms_requests_per_log_group_hour": "data-key requests CloudWatch Logs makes per encrypted log group; SNS "
    "is assumed to ask once per publish and once per delivery",
    "original_detect_memory_mb": "the original design's detect function: console/SAM default memory (x86)",
    "original_detect_seconds_per_image": "its billed time per image (the model call, one at a time)",
    "original_results_memory_mb": "its results function: default memory (x86)",
    "original_results_seconds_per_image": "its billed time per image (write the result, maybe publish)",
    "original_batch_size": "Lambda's SQS batch size (default 10), no batching window (default 0)",
    "original_pollers_per_queue": "Lambda's SQS pollers per queue while idle (5 long polls at once)",
    "original_log_bytes_per_invocation": "START/END/REPORT and a print per invocation",
    "original_log_bytes_per_image": "the record each function prints per image",
}
