"""The workflow's Retry lists (statemachine/workflow.asl.json, kept equal to the template by
tests/infra): errors AWS documents as transient are retried under the names AWS gives them."""

from __future__ import annotations

import json

import pytest

from statemachine.export import ASL_PATH


def states() -> dict[str, dict]:
    """Every state of the definition, those of Maps (and Maps in them) included."""
    found: dict[str, dict] = {}
    waiting = [json.loads(ASL_PATH.read_text())["States"]]
    while waiting:
        for name, state in waiting.pop().items():
            found[name] = state
            if state["Type"] == "Map":
                waiting.append(state["ItemProcessor"]["States"])
    return found


def retried(state: str) -> set[str]:
    return {error for retry in states()[state].get("Retry", []) for error in retry["ErrorEquals"]}


def test_detect_labels_retries_every_lambda_service_exception_aws_recommends():
    # "Handle Lambda service exceptions" (Step Functions developer guide): these four, retried.
    recommended = {
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
    }
    assert recommended <= retried("DetectLabels")


@pytest.mark.parametrize("state", ["ClaimImage", "CompleteClaim", "ReleaseClaim", "ReleaseClaimForRetry"])
def test_dynamodb_errors_are_retried_under_both_spellings_of_their_names(state):
    both = {
        "DynamoDB.InternalServerError",  # the API's error code: DynamoDB.<code>, as the twin names it
        "DynamoDB.InternalServerErrorException",  # the SDK exception's name
        "DynamoDB.RequestLimitExceeded",
        "DynamoDB.RequestLimitExceededException",
        "DynamoDB.ProvisionedThroughputExceededException",
        "DynamoDB.ThrottlingException",
    }
    assert both <= retried(state)
    assert "DynamoDB.ConditionalCheckFailedException" not in retried(state), "a refused claim is an answer"


def test_an_alert_is_not_published_again_after_a_timeout_that_may_have_published_it():
    assert "States.Timeout" not in retried("PublishAlert")
    assert "States.TaskFailed" in retried("PublishAlert"), "SNS's error answers are retried"
    assert {"States.TaskFailed", "States.Timeout"} <= retried("WriteResult"), "rewriting a result is harmless"
