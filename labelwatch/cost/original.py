"""The design labelwatch replaced, priced for comparison: the two-Lambda, two-queue AWS sample.

S3 event notifications go to a queue; a Lambda function (Lambda's SQS poller, batches of 10, no
batching window) calls DetectCustomLabels for each image and sends the result to a second queue; a
second Lambda function writes the result to S3 and publishes the SNS alert. The model is left
running (always-on) on as many units as the rate needs; there is no claims table, no Step Functions,
no Pipe, no X-Ray, no customer-managed key, no alarms or dashboard. docs/cost.md says what of this
was read and what assumed.
"""

from __future__ import annotations

import math

from labelwatch.cost.assumptions import GIB, MONTH_DAYS, SECONDS_PER_DAY, Assumptions
from labelwatch.cost.model import (
    CUSTOM_LABELS,
    FUNCTION_LOGS,
    LAMBDA_DETECT,
    LAMBDA_RESULTS,
    SQS,
    Estimate,
    Line,
    ModelRun,
    Workload,
    log_costs,
    s3_line,
    sns_line,
)
from labelwatch.cost.price_list import PriceList

QUEUES = 2


def lambda_batches_per_day(workload: Workload, batch_size: int) -> float:
    """Lambda's SQS batches: full for a burst; one image each for a steady rate (no batching window)."""
    if workload.steady:
        return float(workload.images_per_day)
    return workload.bursts_per_day * math.ceil(workload.burst_size / batch_size)


def original_estimate(workload: Workload, prices: PriceList, a: Assumptions) -> Estimate:
    images = workload.images_per_month
    units = max(1, math.ceil(workload.images_per_second / a.unit_images_per_second))
    batches = lambda_batches_per_day(workload, a.original_batch_size) * MONTH_DAYS
    unit_hours = 24 * units * MONTH_DAYS

    detect_gb_s = images * a.original_detect_seconds_per_image * a.original_detect_memory_mb / 1024
    results_gb_s = images * a.original_results_seconds_per_image * a.original_results_memory_mb / 1024
    requests = prices["lambda_requests"]
    duration = prices["lambda_x86_duration"]

    polls = QUEUES * a.original_pollers_per_queue * SECONDS_PER_DAY / a.long_poll_seconds * MONTH_DAYS
    sqs_requests = QUEUES * images + QUEUES * batches + polls + QUEUES * batches  # sends, receives, deletes

    log_gb = (
        QUEUES
        * (batches * a.original_log_bytes_per_invocation + images * a.original_log_bytes_per_image)
        / GIB
    )
    lines = (
        Line(
            CUSTOM_LABELS,
            prices["custom_labels_inference_unit_hour"].cost(unit_hours),
            f"24 h/day x {units} unit(s) x {MONTH_DAYS} days = {unit_hours:,.1f} unit-h (left running)",
        ),
        Line(
            LAMBDA_DETECT,
            requests.cost(batches) + duration.cost(detect_gb_s),
            f"{batches:,.0f} invocations, {images:,.0f} images x {a.original_detect_seconds_per_image} s x "
            f"{a.original_detect_memory_mb} MB x86",
        ),
        Line(
            LAMBDA_RESULTS,
            requests.cost(batches) + duration.cost(results_gb_s),
            f"{batches:,.0f} invocations, {images:,.0f} images x {a.original_results_seconds_per_image} s x "
            f"{a.original_results_memory_mb} MB x86",
        ),
        Line(
            SQS,
            prices["sqs_standard_requests"].cost(sqs_requests),
            f"2 queues: {QUEUES * images:,.0f} sends, {QUEUES * batches + polls:,.0f} receives ({polls:,.0f} "
            f"empty long polls, always), {QUEUES * batches:,.0f} deletes",
        ),
        s3_line(images, 1, prices, a),
        sns_line(workload, prices),
        Line(
            FUNCTION_LOGS,
            log_costs(log_gb, prices, a, ingestion="logs_standard_ingestion", scanned=False),
            f"{log_gb:,.2f} GB (two functions; no data protection policy)",
        ),
    )
    run = ModelRun(24.0, units, never_stops=True)
    return Estimate("original", workload, lines, run, images / batches)
