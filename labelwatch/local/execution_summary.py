"""What one execution did to each image of its batch, read from its history (the console's view).

The Pipe only sees ``batchItemFailures``; an execution that SUCCEEDED may still have sent an image
to the failure DLQ. The per-image end states of the workflow say what happened to each record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

# The per-image end states of statemachine/definition.py and what they mean for the image.
END_STATES = {
    "Done": "done",
    "SkipDuplicate": "duplicate",
    "RetryLater": "left for retry",
    "Failed": "failed (failure DLQ)",
}


def image_outcomes(client: Callable[[str], Any], execution_arn: str) -> Counter[str]:
    """How many images of the execution reached each end state (empty if no history)."""
    counts: Counter[str] = Counter()
    pages = client("stepfunctions").get_paginator("get_execution_history")
    for page in pages.paginate(executionArn=execution_arn):
        for event in page.get("events", []):
            name = event.get("stateEnteredEventDetails", {}).get("name")
            if event.get("type") == "PassStateEntered" and name in END_STATES:
                counts[END_STATES[name]] += 1
    return counts
