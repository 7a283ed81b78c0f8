"""EventBridge delivers a rule's events to an SQS target only if the queue's policy lets it.

On AWS the rule's delivery is made by ``events.amazonaws.com`` with ``aws:SourceArn`` = the rule's
ARN, and the target queue's resource policy (plus the key policy, for a queue encrypted with a
customer-managed key) must allow ``sqs:SendMessage``. A refused delivery is retried by EventBridge
and then sent to the target's dead-letter queue, if it has one whose policy allows it, with the
error in message attributes; otherwise it is dropped (the rule's ``FailedInvocations`` metric).
moto delivers unconditionally; here every delivery is judged by the Emulator's authorizer first.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.events.models import Rule

from labelwatch.local.patching import Patch

_original_send = Rule._send_to_sqs_queue
EVENTS = "events.amazonaws.com"


@dataclass(frozen=True)
class RefusedDelivery:
    rule_arn: str
    target_arn: str
    reason: str
    dead_letter_arn: str | None  # where the event went instead (None: dropped)


def patches(authorizer: Callable[[], Any], refused: list[RefusedDelivery]) -> list[Patch]:
    """Judge each rule → SQS delivery by ``authorizer()`` (None: deliver, as before a deploy)."""

    def send(self: Rule, resource_id: str, event: dict[str, Any], group_id: str | None = None) -> None:
        judge = authorizer()
        if judge is None:
            return _original_send(self, resource_id, event, group_id)
        queue_arn = f"arn:aws:sqs:{self.region_name}:{self.account_id}:{resource_id}"
        decision = judge.check_service_delivery(EVENTS, self.arn, "sqs:SendMessage", queue_arn)
        if decision.allowed or judge.permissive:
            return _original_send(self, resource_id, event, group_id)
        target = next((t for t in self.targets if t["Arn"] == queue_arn), {})
        dead_letter = target.get("DeadLetterConfig", {}).get("Arn")
        if dead_letter:
            dlq = judge.check_service_delivery(EVENTS, self.arn, "sqs:SendMessage", dead_letter)
            if not dlq.allowed:
                dead_letter = None
        refused.append(RefusedDelivery(self.arn, queue_arn, decision.message, dead_letter))
        if dead_letter:
            _send_dead_letter(self, dead_letter, queue_arn, event, decision.message)

    return [Patch(Rule, "_send_to_sqs_queue", send, signature=str(inspect.signature(_original_send)))]


def _send_dead_letter(rule: Rule, dlq_arn: str, target_arn: str, event: dict[str, Any], reason: str) -> None:
    """The event in the target's DLQ, with the attributes EventBridge adds to a failed delivery."""
    from moto.sqs import sqs_backends

    attributes = {
        "RULE_ARN": rule.arn,
        "TARGET_ARN": target_arn,
        "ERROR_CODE": "NO_PERMISSIONS",
        "ERROR_MESSAGE": reason,
    }
    if "time" in event and not isinstance(event["time"], str):
        from moto.core.utils import iso_8601_datetime_without_milliseconds, utcfromtimestamp

        event = {
            **event,
            "time": iso_8601_datetime_without_milliseconds(utcfromtimestamp(float(event["time"]))),
        }
    sqs_backends[rule.account_id][rule.region_name].send_message(
        queue_name=dlq_arn.rsplit(":", 1)[1],
        message_body=json.dumps(event),
        message_attributes={
            name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
        },
    )
