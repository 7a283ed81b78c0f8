"""Alerts: the encrypted SNS topic the workflow publishes to, and its e-mail subscribers."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.config import Subscriber

# The String.Array message attribute PublishAlert sets (the detect Lambda's ``alertLabels``).
LABELS_ATTRIBUTE = "labels"


class Alerts(Construct):
    """One topic; an e-mail subscription per subscriber, filtered when it names labels.

    SNS matches a String.Array attribute when any element is in the allow-list, so a subscriber of
    ``leaf-smut`` gets every alert that includes leaf-smut, whatever else matched with it. Alerts
    published without the attribute reach only the unfiltered subscribers.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        subscribers: Sequence[Subscriber],
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="labelwatch",  # the sender name e-mail subscribers see
            master_key=key,
            enforce_ssl=True,
        )
        for subscriber in subscribers:
            filter_policy = None
            if subscriber.labels:
                filter_policy = {
                    LABELS_ATTRIBUTE: sns.SubscriptionFilter.string_filter(allowlist=list(subscriber.labels))
                }
            # The construct id is the address, so reordering subscribers replaces nothing.
            self.topic.add_subscription(
                subscriptions.EmailSubscription(subscriber.email, filter_policy=filter_policy)
            )


def publish_with_topic_key(scope: Construct, topic: sns.ITopic, sid: str) -> list[iam.PolicyStatement]:
    """What publishing to ``topic`` takes beyond ``sns:Publish`` when it is encrypted with a
    customer-managed key: SNS refuses a publish whose caller may not use that key to encrypt
    (``KMSAccessDenied``), so ``kms:GenerateDataKey*`` and ``kms:Decrypt`` on it, through SNS only."""
    key = topic.master_key
    if key is None:
        return []
    return [
        iam.PolicyStatement(
            sid=sid,
            actions=["kms:GenerateDataKey*", "kms:Decrypt"],
            resources=[key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"sns.{Stack.of(scope).region}.amazonaws.com"}},
        )
    ]
