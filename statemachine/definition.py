"""The labelwatch workflow, written with CDK's Step Functions constructs.

One Express execution handles one batch from the EventBridge Pipe (a JSON array of SQS records).
A Map runs the per-image states whose names are part of the contract (README, "What gets deployed"):
users see them in the Step Functions console graph, and the tests drive them by name.

Outcome of each record, reported by the Map item as ``{"messageId", "outcome", "retry"}``:
- ``ok`` / ``rejected``: result written (alert published first if rules matched);
- ``duplicate``: the upload event was already claimed by another delivery, nothing is sent twice;
- ``retry``: the model is not running, or stays throttled through the retries; the record's
  ``messageId`` goes to ``batchItemFailures`` so the Pipe leaves it on the ingest queue and SQS
  redelivers it after the visibility timeout (back-pressure instead of failure);
- ``failed``: the error went to the failure DLQ with the image and the execution.
The execution's output is ``{"batchItemFailures": [{"itemIdentifier": ...}, ...]}``.

Order of the side effects: the result is written *before* the alert is published. S3 writes
are idempotent (same image id, same object key); an SNS publish is not. If the publish keeps
failing, the claim is released and a redrive rewrites the same result and alerts once.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.alerts import publish_with_topic_key
from infra.config import MAX_LABELS

RESULTS_PREFIX = "results/"

# Error names the detect handler raises (functions/detect/errors.py); Retry/Catch match on them.
MODEL_NOT_READY = "ModelNotReady"
DETECTOR_THROTTLED = "DetectorThrottled"
# Lambda service exceptions: the four AWS recommends retrying ("Handle Lambda service exceptions",
# Step Functions developer guide), ClientExecutionTimeoutException among them (DetectLabels has no
# side effect a second invocation would repeat: the result and the alert come after it).
LAMBDA_TRANSIENT_ERRORS = [
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
# The function hit its timeout. Once more, in a fresh environment (a slow download, a cold start
# under load); not three times: an image whose decoding is slow is slow every time (the function
# gives decoding a deadline and answers decode-timeout first), and each attempt costs the timeout.
LAMBDA_TIMEOUT = "Sandbox.Timedout"
# DynamoDB errors of the optimized integration are ``DynamoDB.<name>``. Where DynamoDB's error code
# and its SDK exception's name differ (the code lacks "Exception": InternalServerError,
# RequestLimitExceeded), AWS's documentation does not say which one Step Functions reports, and
# examples use both, so both are listed: a Retry that names an error AWS never emits costs nothing,
# one that misses the name it does emit sends a transient error to the failure DLQ. (The twin, like
# the interpreter moto took from LocalStack, reports the code: ``DynamoDB.InternalServerError``.)
DYNAMODB_TRANSIENT_ERRORS = [
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.ThrottlingException",
    "DynamoDB.InternalServerError",
    "DynamoDB.InternalServerErrorException",
    "DynamoDB.RequestLimitExceeded",
    "DynamoDB.RequestLimitExceededException",
    "DynamoDB.AmazonDynamoDBException",  # an error without a name of its own (a 5xx the SDK does not model)
]
CONDITION_FAILED = "DynamoDB.ConditionalCheckFailedException"
# DynamoDB's answer to an update that would make its item over 400 KB
ITEM_TOO_LARGE = "DynamoDB.ValidationException"
# A cooldown window owes a digest while its ``digest`` attribute is this (the digest index's key).
DIGEST_PENDING = "pending"
# Throttling of the model, or of the detect function by its reserved concurrency, that outlasts the
# retries: the image goes back to the queue instead of failing.
DETECTOR_BUSY = [DETECTOR_THROTTLED, "Lambda.TooManyRequestsException"]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter; the worst case must fit in Express's 5 minutes."""

    interval_seconds: int
    max_attempts: int
    backoff_rate: float = 2.0
    max_delay_seconds: int = 30

    def on(self, errors: list[str]) -> dict:
        """Keyword arguments for ``add_retry``."""
        return {
            "errors": errors,
            "interval": Duration.seconds(self.interval_seconds),
            "max_attempts": self.max_attempts,
            "backoff_rate": self.backoff_rate,
            "max_delay": Duration.seconds(self.max_delay_seconds),
            "jitter_strategy": sfn.JitterType.FULL,
        }


# The retry budget. An Express execution stops at 5 minutes, with every image of its batch, so the
# synth checks that one image's worst case (every attempt at its limit, every wait at its longest,
# along the slowest path: ~280 s) times the Map's rounds fits (statemachine/budget.py). Hence few
# retries within an execution, and short: what outlasts them goes back to the queue (throttling,
# a model not running) or to the failure DLQ with its context, and SQS's visibility timeout is the
# long backoff.
DETECTOR_RETRY = RetryPolicy(interval_seconds=2, max_attempts=2)
SERVICE_RETRY = RetryPolicy(interval_seconds=1, max_attempts=2)
TIMEOUT_RETRY = RetryPolicy(interval_seconds=1, max_attempts=1)
# Flood control's states (CheckCooldown, RecordSuppressed, ApplyCooldown) lie on the alert path, the
# budget's slowest: one retry each. What still fails goes to the failure DLQ, whence a redrive is
# idempotent (the same window, the same image).
COOLDOWN_RETRY = RetryPolicy(interval_seconds=1, max_attempts=1)
# Each call of DynamoDB, S3, SNS and SQS answers in milliseconds; without a limit a hung one would
# hold its image (and its batch) until the execution's 5 minutes.
SERVICE_TASK_TIMEOUT = sfn.Timeout.duration(Duration.seconds(5))
# ApplyCooldown rewrites a few lines of JSON (milliseconds; its function's timeout is 5 s): the
# state's limit leaves room for a cold start.
APPLY_COOLDOWN_TASK_TIMEOUT = sfn.Timeout.duration(Duration.seconds(6))
# How long a claim is one receive's after that receive's message was first received (ClaimImage):
# the ingest queue's visibility timeout, the lease SQS itself gives a receive (cdk.json's default).
DEFAULT_CLAIM_LEASE_SECONDS = 360


@dataclass(frozen=True)
class WorkflowResources:
    detect_function: lambda_.IFunction
    claims_table: dynamodb.ITable
    alerts_topic: sns.ITopic
    results_bucket: s3.IBucket
    failure_dlq: sqs.IQueue
    map_concurrency: int
    # flood control (alertCooldownMinutes > 0): the windows' table and the ApplyCooldown function
    cooldowns_table: dynamodb.ITable | None = None
    cooldown_function: lambda_.IFunction | None = None
    # the ingest queue's visibility timeout (see _claim_image); it must outlast an execution's worst
    # case from its message's first receive: batching window + 5 minutes + a margin
    claim_lease_seconds: int = DEFAULT_CLAIM_LEASE_SECONDS


def _claim_key() -> dict[str, tasks.DynamoAttributeValue]:
    return {"pk": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at("$.claimKey"))}


def _claim_owner() -> dict[str, tasks.DynamoAttributeValue]:
    """Who holds a claim: one receive of one SQS message (its id and its ApproximateReceiveCount)."""
    return {
        ":messageId": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at("$.messageId")),
        ":receiveCount": tasks.DynamoAttributeValue.number_from_string(
            sfn.JsonPath.string_at("$.receiveCount")
        ),
    }


# The claim's owner, for the states that end a claim: a delivery that lost its claim to another
# one (after its lease) must not complete or release the new owner's.
OWNS_THE_CLAIM = "messageId = :messageId AND receiveCount = :receiveCount"


def _image_identity() -> dict[str, str]:
    """Bucket, (still URL-encoded) key and sequencer: what identifies one upload event."""
    return {name: sfn.JsonPath.string_at(f"$.{name}") for name in ("bucket", "key", "sequencer")}


def _image_uri() -> str:
    """``s3://bucket/key`` of the image (key still URL-encoded), for people reading claims and DLQs."""
    return sfn.JsonPath.format(
        "s3://{}/{}", sfn.JsonPath.string_at("$.bucket"), sfn.JsonPath.string_at("$.key")
    )


def build_definition(scope: Construct, res: WorkflowResources) -> sfn.IChainable:
    """The whole workflow: a Map over the Pipe's batch, then the batch report."""
    parse_event = _parse_event(scope)
    claim_image = _claim_image(scope, res)

    detect_labels = tasks.LambdaInvoke(
        scope,
        "DetectLabels",
        comment="Check the image, run the Custom Labels model, apply the label rules.",
        lambda_function=res.detect_function,
        payload=sfn.TaskInput.from_object(
            {
                **_image_identity(),
                "eventTime": sfn.JsonPath.string_at("$.eventTime"),
                "object": sfn.JsonPath.object_at("$.object"),
                "execution": sfn.JsonPath.string_at("$$.Execution.Id"),
                "messageId": sfn.JsonPath.string_at("$.messageId"),
            }
        ),
        payload_response_only=True,
        result_path="$.detection",
        retry_on_service_exceptions=False,
    )
    write_result = tasks.CallAwsService(
        scope,
        "WriteResult",
        task_timeout=SERVICE_TASK_TIMEOUT,
        comment="Write the image's NDJSON result records for Athena.",
        service="s3",
        action="putObject",
        parameters={
            "Bucket": res.results_bucket.bucket_name,
            "Key": sfn.JsonPath.string_at("$.detection.resultKey"),
            "Body": sfn.JsonPath.string_at("$.detection.resultBody"),
            "ContentType": "application/x-ndjson",
        },
        iam_resources=[res.results_bucket.arn_for_objects(f"{RESULTS_PREFIX}*")],
        iam_action="s3:PutObject",
        result_path=sfn.JsonPath.DISCARD,
    )

    evaluate_labels = sfn.Choice(
        scope, "EvaluateLabels", comment="Did any label of interest reach its threshold?"
    )

    publish_alerts = _publish_alerts(scope, res)

    complete_claim = tasks.DynamoUpdateItem(
        scope,
        "CompleteClaim",
        task_timeout=SERVICE_TASK_TIMEOUT,
        comment="Mark the upload event done so any later delivery of it is skipped; set its expiry.",
        table=res.claims_table,
        key=_claim_key(),
        update_expression="SET #status = :done, imageId = :imageId, expiresAt = :expiresAt",
        condition_expression=OWNS_THE_CLAIM,
        expression_attribute_names={"#status": "status"},
        expression_attribute_values={
            ":done": tasks.DynamoAttributeValue.from_string("done"),
            ":imageId": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at("$.detection.imageId")),
            ":expiresAt": tasks.DynamoAttributeValue.number_from_string(
                sfn.JsonPath.format("{}", sfn.JsonPath.string_at("$.detection.claimExpiresAt"))
            ),
            **_claim_owner(),
        },
        result_path=sfn.JsonPath.DISCARD,
    )

    done = sfn.Pass(
        scope,
        "Done",
        parameters={
            "messageId": sfn.JsonPath.string_at("$.messageId"),
            "outcome": sfn.JsonPath.string_at("$.detection.status"),
            "imageId": sfn.JsonPath.string_at("$.detection.imageId"),
            "retry": [],
        },
    )
    skip_duplicate = sfn.Pass(
        scope,
        "SkipDuplicate",
        comment="This upload event was already claimed by another delivery.",
        parameters={"messageId": sfn.JsonPath.string_at("$.messageId"), "outcome": "duplicate", "retry": []},
    )

    release_for_retry = _release_claim(scope, "ReleaseClaimForRetry", res)
    retry_later = sfn.Pass(
        scope,
        "RetryLater",
        comment="Model not running or overloaded: leave the message on the ingest queue for redelivery.",
        parameters={
            "messageId": sfn.JsonPath.string_at("$.messageId"),
            "outcome": "retry",
            "retry": [{"itemIdentifier": sfn.JsonPath.string_at("$.messageId")}],
        },
    )

    record_failure = tasks.SqsSendMessage(
        scope,
        "RecordFailure",
        task_timeout=SERVICE_TASK_TIMEOUT,
        comment="Send the error, the image and the execution to the failure DLQ for redrive.",
        queue=res.failure_dlq,
        message_body=sfn.TaskInput.from_object(
            {
                "error": sfn.JsonPath.string_at("$.error.Error"),
                "cause": sfn.JsonPath.string_at("$.error.Cause"),
                "image": _image_uri(),
                **_image_identity(),
                "claimKey": sfn.JsonPath.string_at("$.claimKey"),
                "execution": sfn.JsonPath.string_at("$$.Execution.Id"),
                "state": sfn.JsonPath.string_at("$$.State.Name"),
                "failedAt": sfn.JsonPath.string_at("$$.State.EnteredTime"),
                "messageId": sfn.JsonPath.string_at("$.messageId"),
                "event": sfn.JsonPath.object_at("$.event"),
            }
        ),
        result_path=sfn.JsonPath.DISCARD,
    )
    record_failure.add_retry(**SERVICE_RETRY.on(["States.ALL"]))
    failed = sfn.Pass(
        scope,
        "Failed",
        parameters={"messageId": sfn.JsonPath.string_at("$.messageId"), "outcome": "failed", "retry": []},
    )
    record_failure.next(failed)

    release_after_failure = _release_claim(scope, "ReleaseClaim", res)
    release_after_failure.next(record_failure)
    release_after_failure.add_catch(record_failure, errors=["States.ALL"], result_path="$.releaseError")
    release_for_retry.next(retry_later)
    # If the claim cannot be released, the redelivery is still allowed: same messageId.
    release_for_retry.add_catch(retry_later, errors=["States.ALL"], result_path="$.releaseError")

    # Retry and Catch paths.
    claim_image.add_retry(**SERVICE_RETRY.on(DYNAMODB_TRANSIENT_ERRORS))
    claim_image.add_catch(skip_duplicate, errors=[CONDITION_FAILED], result_path=sfn.JsonPath.DISCARD)
    claim_image.add_catch(record_failure, errors=["States.ALL"], result_path="$.error")

    detect_labels.add_retry(**SERVICE_RETRY.on(LAMBDA_TRANSIENT_ERRORS))
    detect_labels.add_retry(**TIMEOUT_RETRY.on([LAMBDA_TIMEOUT]))
    detect_labels.add_retry(**DETECTOR_RETRY.on([DETECTOR_THROTTLED]))
    # Not running, or still overloaded after the retries: back to the queue (back-pressure), no failure.
    detect_labels.add_catch(
        release_for_retry, errors=[MODEL_NOT_READY, *DETECTOR_BUSY], result_path="$.error"
    )
    detect_labels.add_catch(release_after_failure, errors=["States.ALL"], result_path="$.error")

    # Writing the result again is harmless (same key, same body). A publish is not: SNS has no
    # deduplication for standard topics. PublishAlert is retried on States.TaskFailed, in practice
    # SNS's own error answer (throttled, failing: nothing was published), accepting that an answer
    # lost after SNS took the message e-mails twice (two identical messages); not on States.Timeout
    # (its 5 s passed), which says nothing of whether it went out. Such an image's claim is released
    # and it goes to the failure DLQ, where a person decides whether to redrive it
    # (docs/contracts.md, "Alerts: at least once"). ClaimImage is not retried on States.Timeout
    # either: a timed-out claim goes to the failure DLQ with its context. (A retry would now be
    # safe: the same receive of the same execution takes back a claim it wrote, see _claim_image.)
    write_result.add_retry(**SERVICE_RETRY.on(["States.TaskFailed", "States.Timeout"]))
    for task in (write_result, publish_alerts):
        task.add_catch(release_after_failure, errors=["States.ALL"], result_path="$.error")

    complete_claim.add_retry(**SERVICE_RETRY.on(DYNAMODB_TRANSIENT_ERRORS))
    # The result is written and the alert sent: a claim left 'claimed' only blocks other deliveries.
    complete_claim.add_catch(done, errors=["States.ALL"], result_path="$.completeError")

    alert_matched = sfn.Condition.boolean_equals("$.detection.alert", True)
    if res.cooldowns_table is None:
        per_image = (
            parse_event.next(claim_image)
            .next(detect_labels)
            .next(write_result)
            .next(
                evaluate_labels.when(alert_matched, publish_alerts.next(complete_claim)).otherwise(
                    complete_claim
                )
            )
        )
    else:
        # Flood control decides before the result is written: a held-back label's records say so.
        check_cooldowns = _check_cooldowns(scope, res)
        apply_cooldown = _apply_cooldown(scope, res)
        for task in (check_cooldowns, apply_cooldown):
            task.add_catch(release_after_failure, errors=["States.ALL"], result_path="$.error")
        any_alert_left = (
            sfn.Choice(scope, "AnyAlertToSend", comment="Is any matched label outside its cooldown?")
            .when(alert_matched, publish_alerts.next(complete_claim))
            .otherwise(complete_claim)
        )
        write_result.next(any_alert_left)
        per_image = (
            parse_event.next(claim_image)
            .next(detect_labels)
            .next(
                evaluate_labels.when(
                    alert_matched, check_cooldowns.next(apply_cooldown).next(write_result)
                ).otherwise(write_result)
            )
        )
    complete_claim.next(done)

    process_batch = sfn.Map(
        scope,
        "ProcessBatch",
        comment="One iteration per SQS record of the Pipe's batch.",
        items_path="$",
        max_concurrency=res.map_concurrency,
        item_selector={
            "messageId": sfn.JsonPath.string_at("$$.Map.Item.Value.messageId"),
            # The SQS record's system attributes (epoch-ms and count strings): the claim's lease
            "receiveCount": sfn.JsonPath.string_at("$$.Map.Item.Value.attributes.ApproximateReceiveCount"),
            "firstReceived": sfn.JsonPath.string_at(
                "$$.Map.Item.Value.attributes.ApproximateFirstReceiveTimestamp"
            ),
            "event": sfn.JsonPath.string_to_json(sfn.JsonPath.string_at("$$.Map.Item.Value.body")),
        },
        result_selector={
            "outcomes": sfn.JsonPath.list_at("$[*].outcome"),
            "items": sfn.JsonPath.list_at("$"),
        },
    )
    process_batch.item_processor(per_image)

    # A JSONPath that matches nothing is a runtime error, so only collect failures when there are any.
    check_retries = sfn.Pass(
        scope,
        "CheckRetries",
        parameters={
            "anyRetry": sfn.JsonPath.array_contains(sfn.JsonPath.list_at("$.outcomes"), "retry"),
            "items": sfn.JsonPath.list_at("$.items"),
        },
    )
    report_retries = sfn.Pass(
        scope,
        "ReportRetries",
        comment="Records to leave on the queue (model not running): SQS redelivers them later.",
        parameters={"batchItemFailures": sfn.JsonPath.list_at("$.items[*].retry[*]")},
    )
    report_done = sfn.Pass(
        scope, "ReportAllDone", comment="Every record has its outcome.", parameters={"batchItemFailures": []}
    )
    any_retry = (
        sfn.Choice(scope, "AnyRetries")
        .when(sfn.Condition.boolean_equals("$.anyRetry", True), report_retries)
        .otherwise(report_done)
    )
    return process_batch.next(check_retries).next(any_retry)


def _publish_alerts(scope: Construct, res: WorkflowResources) -> sfn.Map:
    """One e-mail per label of interest that matched (and, with flood control, is not held back).

    Retried on States.TaskFailed, in practice SNS's own error answer (throttled, failing: nothing was
    published), accepting that an answer lost after SNS took the message e-mails twice; not on
    States.Timeout (its 5 s passed), which says nothing of whether it went out. What fails after
    the retries fails the Map, whose Catch releases the claim and sends the image to the failure
    DLQ, where a person decides whether to redrive it (docs/contracts.md, "Alerts: at least once").
    """
    publish_alert = tasks.SnsPublish(
        scope,
        "PublishAlert",
        task_timeout=SERVICE_TASK_TIMEOUT,
        comment="E-mail the subscribers; the 'labels' attribute lets each filter by label.",
        topic=res.alerts_topic,
        subject=sfn.JsonPath.string_at("$.subject"),
        message=sfn.TaskInput.from_json_path_at("$.message"),
        message_attributes={
            "labels": tasks.MessageAttribute(
                value=sfn.JsonPath.string_at("$.labels"),
                data_type=tasks.MessageAttributeDataType.STRING_ARRAY,
            )
        },
        result_path=sfn.JsonPath.DISCARD,
    )
    publish_alert.add_retry(**SERVICE_RETRY.on(["States.TaskFailed"]))
    publish_alerts = sfn.Map(
        scope,
        "PublishAlerts",
        comment="One alert per matched label of interest.",
        items_path="$.detection.alerts",
        max_concurrency=MAX_LABELS,  # every alert at once: one round in the budget
        item_selector={
            "subject": sfn.JsonPath.string_at("$$.Map.Item.Value.subject"),
            "message": sfn.JsonPath.string_at("$$.Map.Item.Value.message"),
            "labels": sfn.JsonPath.string_at("$$.Map.Item.Value.labels"),
        },
        result_path=sfn.JsonPath.DISCARD,
    )
    publish_alerts.item_processor(publish_alert)
    return publish_alerts


def _check_cooldowns(scope: Construct, res: WorkflowResources) -> sfn.Map:
    """Flood control, per matched label: hold the window's one alert, or be held back and counted.

    CheckCooldown claims the (label, folder, window) item for this image; the same image finding
    its own claim (a redrive, a retry after a lost answer) holds it again, so a redelivery neither
    opens a second alert nor loses the first. Any other image fails the condition and goes to
    RecordSuppressed, which adds its id to the window's set (a set: a redelivery counts once) and
    marks the window as owing a digest, unless that digest has already gone out (then the match is
    still recorded in the results, not counted; docs/flood-control.md).
    """
    key = {"pk": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at("$.cooldown.pk"))}
    check = tasks.DynamoUpdateItem(
        scope,
        "CheckCooldown",
        task_timeout=SERVICE_TASK_TIMEOUT,
        comment="Flood control: this image holds the window's one alert for this label and folder, or not.",
        table=res.cooldowns_table,
        key=key,
        update_expression=(
            "SET alertImage = :imageId, alertImageUri = :imageUri, #label = :label, #folder = :folder,"
            " #bucket = :bucket, windowStart = :windowStart, windowEnd = :windowEnd, expiresAt = :expiresAt"
        ),
        condition_expression="attribute_not_exists(alertImage) OR alertImage = :imageId",
        expression_attribute_names={"#label": "label", "#folder": "folder", "#bucket": "bucket"},
        expression_attribute_values={
            ":imageId": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at("$.imageId")),
            ":imageUri": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at("$.imageUri")),
            ":label": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at("$.cooldown.label")),
            ":folder": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at("$.cooldown.folder")),
            ":bucket": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at("$.cooldown.bucket")),
            ":windowStart": tasks.DynamoAttributeValue.from_string(
                sfn.JsonPath.string_at("$.cooldown.windowStart")
            ),
            ":windowEnd": tasks.DynamoAttributeValue.from_string(
                sfn.JsonPath.string_at("$.cooldown.windowEnd")
            ),
            ":expiresAt": tasks.DynamoAttributeValue.number_from_string(
                sfn.JsonPath.format("{}", sfn.JsonPath.string_at("$.cooldown.expiresAt"))
            ),
        },
        result_path=sfn.JsonPath.DISCARD,
    )
    record_suppressed = tasks.DynamoUpdateItem(
        scope,
        "RecordSuppressed",
        task_timeout=SERVICE_TASK_TIMEOUT,
        comment="Held back: count this image once for the window's digest.",
        table=res.cooldowns_table,
        key=key,
        update_expression="ADD suppressed :imageIds SET digest = :pending, digestDue = :digestDue",
        condition_expression="attribute_not_exists(digestSentAt)",
        expression_attribute_values={
            ":imageIds": tasks.DynamoAttributeValue.from_string_set(sfn.JsonPath.list_at("$.imageIds")),
            ":pending": tasks.DynamoAttributeValue.from_string(DIGEST_PENDING),
            ":digestDue": tasks.DynamoAttributeValue.from_string(
                sfn.JsonPath.string_at("$.cooldown.digestDue")
            ),
        },
        result_path=sfn.JsonPath.DISCARD,
    )
    alerted = sfn.Pass(
        scope,
        "HoldsTheAlert",
        parameters={"label": sfn.JsonPath.string_at("$.cooldown.label"), "suppressed": False},
    )
    suppressed = sfn.Pass(
        scope,
        "HeldBack",
        parameters={"label": sfn.JsonPath.string_at("$.cooldown.label"), "suppressed": True},
    )
    for task in (check, record_suppressed):
        task.add_retry(**COOLDOWN_RETRY.on(DYNAMODB_TRANSIENT_ERRORS))
    check.add_catch(record_suppressed, errors=[CONDITION_FAILED], result_path=sfn.JsonPath.DISCARD)
    # the window's digest went out already, or its item is full (400 KB: ~10,000 ids): the match is
    # held back and recorded in the results, not counted (docs/flood-control.md)
    record_suppressed.add_catch(
        suppressed, errors=[CONDITION_FAILED, ITEM_TOO_LARGE], result_path=sfn.JsonPath.DISCARD
    )
    check.next(alerted)
    record_suppressed.next(suppressed)

    check_cooldowns = sfn.Map(
        scope,
        "CheckCooldowns",
        comment="Flood control: at most one alert per label per folder per window.",
        items_path="$.detection.alerts",
        max_concurrency=MAX_LABELS,  # every alert at once: one round in the budget
        item_selector={
            "cooldown": sfn.JsonPath.object_at("$$.Map.Item.Value.cooldown"),
            "imageId": sfn.JsonPath.string_at("$.detection.imageId"),
            "imageIds": sfn.JsonPath.array(sfn.JsonPath.string_at("$.detection.imageId")),
            "imageUri": sfn.JsonPath.string_at("$.detection.image"),
        },
        result_path="$.cooldownDecisions",
    )
    check_cooldowns.item_processor(check)
    return check_cooldowns


def _apply_cooldown(scope: Construct, res: WorkflowResources) -> tasks.LambdaInvoke:
    apply = tasks.LambdaInvoke(
        scope,
        "ApplyCooldown",
        task_timeout=APPLY_COOLDOWN_TASK_TIMEOUT,
        comment="Mark held-back labels' records suppressed; keep only the alerts to send.",
        lambda_function=res.cooldown_function,
        payload=sfn.TaskInput.from_object(
            {
                "detection": sfn.JsonPath.object_at("$.detection"),
                "decisions": sfn.JsonPath.list_at("$.cooldownDecisions"),
            }
        ),
        payload_response_only=True,
        result_path="$.detection",
        retry_on_service_exceptions=False,
    )
    apply.add_retry(**COOLDOWN_RETRY.on([*LAMBDA_TRANSIENT_ERRORS, LAMBDA_TIMEOUT, "States.Timeout"]))
    return apply


def _parse_event(scope: Construct) -> sfn.Pass:
    return sfn.Pass(
        scope,
        "ParseEvent",
        comment="Pull the image identity out of the S3 'Object Created' EventBridge event.",
        parameters={
            "messageId": sfn.JsonPath.string_at("$.messageId"),
            "receiveCount": sfn.JsonPath.string_at("$.receiveCount"),
            "firstReceived": sfn.JsonPath.string_at("$.firstReceived"),
            "bucket": sfn.JsonPath.string_at("$.event.detail.bucket.name"),
            "key": sfn.JsonPath.string_at("$.event.detail.object.key"),
            "sequencer": sfn.JsonPath.string_at("$.event.detail.object.sequencer"),
            "eventTime": sfn.JsonPath.string_at("$.event.time"),
            "object": sfn.JsonPath.object_at("$.event.detail.object"),
            "event": sfn.JsonPath.object_at("$.event"),
            # One upload event: the bucket is versioned, so its version id (with the sequencer) is
            # unique and short; the key itself can need 3 KB URL-encoded, over DynamoDB's 2 KB limit.
            "claimKey": sfn.JsonPath.format(
                "s3://{}#{}#{}",
                sfn.JsonPath.string_at("$.event.detail.bucket.name"),
                sfn.JsonPath.string_at("$.event.detail.object['version-id']"),
                sfn.JsonPath.string_at("$.event.detail.object.sequencer"),
            ),
        },
    )


def _claim_image(scope: Construct, res: WorkflowResources) -> tasks.DynamoUpdateItem:
    """The first delivery of an upload event claims it for one receive of its SQS message; a
    delivery that finds the claim held stops (SkipDuplicate). The claim is a lease:

    - ``leaseUntil`` = the message's ApproximateFirstReceiveTimestamp + the lease (epoch ms). ASL
      has no date arithmetic, and States.MathAdd is not trusted with epoch milliseconds (past 32
      bits), so DynamoDB adds them, in the update expression. The lease is the ingest queue's
      visibility timeout: an execution ends at most batching window + 5 minutes after its message's
      first receive, which that timeout must outlast anyway (else SQS itself redelivers the message
      to a second execution while the first runs).
    - Another message (an EventBridge duplicate, SQS's own DLQ redrive: new message ids) takes the
      claim over only once it was first received after the lease: by then the claim's execution
      has ended, so a claim left ``claimed`` by an execution that died without its Catch (time
      limit, abort) no longer blocks the image for ever. Both sides use first-receive times, of
      one clock (SQS's), so a duplicate sent with the original is never let in early.
    - The same message takes it over with a higher ApproximateReceiveCount: SQS redelivered it,
      which it does only when the earlier receive's visibility timeout has passed (its execution
      is over) or it was returned for a retry. The same count is a duplicate receive (one receive
      handed over twice): it stops here, so two live executions never alert twice.
    - The same receive in the same execution finds its own claim: a retry after DynamoDB wrote the
      claim and its answer was lost (a 500). Without this the retry would stop as a duplicate and
      the image end with no outcome.

    A redelivered message's first receive is older than its current receive, so its lease may have
    run out while it runs; only a message of the same event first received a whole lease later
    could then join it (docs/contracts.md, "Claims").
    """
    return tasks.DynamoUpdateItem(
        scope,
        "ClaimImage",
        task_timeout=SERVICE_TASK_TIMEOUT,
        comment="Idempotency: one receive of one delivery claims the upload event for a lease; others stop.",
        table=res.claims_table,
        key=_claim_key(),
        update_expression=(
            "SET #status = :claimed, image = :image, messageId = :messageId, receiveCount = :receiveCount,"
            " execution = :execution, claimedAt = :claimedAt, leaseUntil = :firstReceived + :lease"
        ),
        condition_expression=(
            "attribute_not_exists(pk)"
            " OR (#status = :claimed AND messageId = :messageId AND receiveCount < :receiveCount)"
            " OR (#status = :claimed AND messageId <> :messageId AND leaseUntil < :firstReceived)"
            # this very attempt's own claim, written before its answer was lost (a retried 500)
            " OR (#status = :claimed AND messageId = :messageId AND receiveCount = :receiveCount"
            " AND execution = :execution)"
        ),
        expression_attribute_names={"#status": "status"},
        expression_attribute_values={
            ":claimed": tasks.DynamoAttributeValue.from_string("claimed"),
            ":image": tasks.DynamoAttributeValue.from_string(_image_uri()),
            **_claim_owner(),
            ":execution": tasks.DynamoAttributeValue.from_string(sfn.JsonPath.string_at("$$.Execution.Id")),
            ":claimedAt": tasks.DynamoAttributeValue.from_string(
                sfn.JsonPath.string_at("$$.State.EnteredTime")
            ),
            ":firstReceived": tasks.DynamoAttributeValue.number_from_string(
                sfn.JsonPath.string_at("$.firstReceived")
            ),
            ":lease": tasks.DynamoAttributeValue.from_number(res.claim_lease_seconds * 1000),
        },
        result_path=sfn.JsonPath.DISCARD,
    )


def task_permissions(scope: Construct, res: WorkflowResources) -> list[iam.PolicyStatement]:
    """What the states' tasks need beyond the grants CDK's task constructs add themselves.

    ``tasks.SnsPublish`` grants ``sns:Publish`` only; the alerts topic is encrypted with a
    customer-managed key, which PublishAlert must be allowed to use too (``publish_with_topic_key``).
    """
    return publish_with_topic_key(scope, res.alerts_topic, "PublishAlertToTheEncryptedTopic")


def _release_claim(scope: Construct, state_id: str, res: WorkflowResources) -> tasks.DynamoDeleteItem:
    """Delete this delivery's claim so a redelivery or a redrive can do the work."""
    release = tasks.DynamoDeleteItem(
        scope,
        state_id,
        task_timeout=SERVICE_TASK_TIMEOUT,
        comment="Release the claim taken by this delivery.",
        table=res.claims_table,
        key=_claim_key(),
        condition_expression=OWNS_THE_CLAIM,
        expression_attribute_values=_claim_owner(),
        result_path=sfn.JsonPath.DISCARD,
    )
    release.add_retry(**SERVICE_RETRY.on(DYNAMODB_TRANSIENT_ERRORS))
    return release
