"""Reading the embedded stack's state the way a user would see it."""

from __future__ import annotations

import json

from labelwatch.flood import flood_problems, matched_by_window
from labelwatch.local.embedded import EmbeddedStack

COOLDOWN_MINUTES = 60  # cdk.json's alertCooldownMinutes


def upload(stack: EmbeddedStack, key: str, body: bytes) -> str | None:
    """Put the object into the input bucket; its version id (the bucket is versioned)."""
    put = stack.client("s3").put_object(Bucket=stack.outputs["InputBucketName"], Key=key, Body=body)
    return put.get("VersionId")


def result_records(stack: EmbeddedStack) -> list[dict]:
    """Every NDJSON line under results/ in the results bucket."""
    s3 = stack.client("s3")
    bucket = stack.outputs["ResultsBucketName"]
    records = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="results/"):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode()
            records.extend({**json.loads(line), "_object": item["Key"]} for line in body.splitlines() if line)
    return records


def result_objects(stack: EmbeddedStack) -> list[str]:
    s3 = stack.client("s3")
    listing = s3.list_objects_v2(Bucket=stack.outputs["ResultsBucketName"], Prefix="results/")
    return [item["Key"] for item in listing.get("Contents", [])]


def queue_depth(stack: EmbeddedStack, output_name: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue named by its stack output."""
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.outputs[output_name],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def drain_queue(stack: EmbeddedStack, output_name: str) -> list[dict]:
    sqs = stack.client("sqs")
    messages = []
    while batch := sqs.receive_message(QueueUrl=stack.outputs[output_name], MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        messages.extend(json.loads(message["Body"]) for message in batch)
    return messages


def execution_history_states(stack: EmbeddedStack, execution_arn: str) -> list[str]:
    """Names of the states entered, in order (what the console graph highlights)."""
    events = stack.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)
    return [
        event["stateEnteredEventDetails"]["name"]
        for event in events["events"]
        if "stateEnteredEventDetails" in event
    ]


def with_detect_timeout(template: dict, seconds: int) -> dict:
    """A copy of ``template`` whose detect function has this Timeout."""
    import copy

    changed = copy.deepcopy(template)
    for resource in changed["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::Function" and properties["Handler"].startswith("detect."):
            properties["Timeout"] = seconds
    return changed


def alert_windows(records: list[dict], minutes: int = COOLDOWN_MINUTES) -> int:
    """How many alerts flood control lets through for these records: one per label per folder per
    window (checked: exactly one upload alerted in each, every other match suppressed), whichever
    windows the test's uploads happened to fall in."""
    assert flood_problems(records, minutes) == []
    return len(matched_by_window(records, minutes))
