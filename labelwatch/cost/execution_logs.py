"""Bytes the Express state machine writes to CloudWatch Logs per image, at each executionLogLevel.

At ``ALL`` with execution data (the console's Express view needs it) every history event is a log
event carrying the state's input, output or task parameters: the happy path of statemachine/
definition.py, state by state, is below with the size each event carries. ``ERROR`` logs only error
events (a caught, retried task error), ``FATAL`` only executions that fail outright, ``OFF`` nothing.
The sizes are estimates from the definition's data flow (the Map item, ``$.detection`` kept, every
other task's result discarded), not measurements; docs/cost.md lists them.
"""

from __future__ import annotations

from labelwatch.cost.assumptions import Assumptions

LEVELS = ("ALL", "ERROR", "FATAL", "OFF")

ENVELOPE_BYTES = 350  # id, type, timestamps, execution ARN, previous event id
ITEM_BYTES = 1400  # a Map item: messageId, receive count, first receive, the parsed S3 event
PARSED_BYTES = 1800  # after ParseEvent: bucket, key, sequencer, object, eventTime added
DETECTION_BYTES = 3000  # DetectLabels' answer kept at $.detection (result records, alert text, link)
WITH_DETECTION_BYTES = PARSED_BYTES + DETECTION_BYTES
OUTCOME_BYTES = 200  # an item's {"messageId", "outcome", "retry"}
MAP_ITEM_REPORT_BYTES = 300  # an item in the Map's result and the batch report states

# state -> the data each of its events carries (bytes), in order; "PublishAlert" runs for alerts only.
# Pass and Choice: Entered (input), Exited (output). Task: Entered, Scheduled (parameters), Started,
# Succeeded (result), Exited. Map iteration: Started, Succeeded.
PER_IMAGE_EVENTS: dict[str, tuple[int, ...]] = {
    "MapIteration": (0, 0),
    "ParseEvent": (ITEM_BYTES, PARSED_BYTES),
    "ClaimImage": (PARSED_BYTES, 800, 0, 200, PARSED_BYTES),
    "DetectLabels": (PARSED_BYTES, 1100, 0, DETECTION_BYTES, WITH_DETECTION_BYTES),
    "WriteResult": (WITH_DETECTION_BYTES, 1200, 0, 300, WITH_DETECTION_BYTES),
    "EvaluateLabels": (WITH_DETECTION_BYTES, WITH_DETECTION_BYTES),
    "PublishAlert": (WITH_DETECTION_BYTES, 1200, 0, 200, WITH_DETECTION_BYTES),
    "CompleteClaim": (WITH_DETECTION_BYTES, 600, 0, 200, WITH_DETECTION_BYTES),
    "Done": (WITH_DETECTION_BYTES, OUTCOME_BYTES),
}
ALERT_ONLY = frozenset({"PublishAlert"})
# Per execution: ExecutionStarted and MapStateEntered carry the whole batch (one SQS record per image);
# MapStateSucceeded, MapStateExited, CheckRetries (2) and AnyRetries (2) carry one report per image;
# MapStateStarted, ReportAllDone (2) and ExecutionSucceeded carry next to nothing.
EXECUTION_EVENTS = 12
RECORD_COPIES_PER_EXECUTION = 2
REPORT_COPIES_PER_EXECUTION = 6


def events_per_image(alert_share: float) -> float:
    """History events of one image's way through the Map (28, and 5 more when it alerts)."""
    plain = sum(len(events) for state, events in PER_IMAGE_EVENTS.items() if state not in ALERT_ONLY)
    alert = sum(len(PER_IMAGE_EVENTS[state]) for state in ALERT_ONLY)
    return plain + alert_share * alert


def bytes_per_image(
    level: str, *, alert_share: float, images_per_batch: float, assumptions: Assumptions
) -> float:
    """Log bytes per image at ``level``, the execution's own events shared by its batch."""
    if level not in LEVELS:
        raise ValueError(f"executionLogLevel {level!r} is not one of {', '.join(LEVELS)}")
    if level == "OFF":
        return 0.0
    if level == "FATAL":
        return assumptions.fatal_share * assumptions.error_event_bytes
    if level == "ERROR":
        return (assumptions.error_share + assumptions.fatal_share) * assumptions.error_event_bytes
    data = sum(
        sum(events) * (alert_share if state in ALERT_ONLY else 1.0)
        for state, events in PER_IMAGE_EVENTS.items()
    )
    envelopes = events_per_image(alert_share) * ENVELOPE_BYTES
    per_execution = EXECUTION_EVENTS * ENVELOPE_BYTES
    per_record = RECORD_COPIES_PER_EXECUTION * assumptions.sqs_record_bytes
    per_record += REPORT_COPIES_PER_EXECUTION * MAP_ITEM_REPORT_BYTES
    return data + envelopes + per_record + per_execution / images_per_batch
