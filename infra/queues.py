"""The one way this app makes an SQS queue: encrypted at rest, TLS-only."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import DLQ_RETENTION_DAYS

# Dead-letter queues keep messages as long as SQS allows, so there is time to redrive them (and
# claims are remembered as long: claimRetentionDays).
DLQ_RETENTION = Duration.days(DLQ_RETENTION_DAYS)


def secure_queue(scope: Construct, construct_id: str, **kwargs) -> sqs.Queue:
    """An SQS queue with SSE-SQS encryption and a policy that denies non-TLS access."""
    return sqs.Queue(
        scope, construct_id, encryption=sqs.QueueEncryption.SQS_MANAGED, enforce_ssl=True, **kwargs
    )
