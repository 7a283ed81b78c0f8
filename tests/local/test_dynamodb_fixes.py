"""Conditional writes in the embedded DynamoDB are atomic, so two claims of one event cannot both win."""

from __future__ import annotations

import contextlib
import threading

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import table as moto_table

from labelwatch.local import dynamodb_fixes
from labelwatch.local.patching import PatchSet

# Patches moto's DynamoDB process-wide: never while a local stack of this process runs.
pytestmark = pytest.mark.xdist_group("local-stack")

CLAIM_CONDITION = "attribute_not_exists(pk)"


def create_claims_table(dynamodb) -> None:
    dynamodb.create_table(
        TableName="claims",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def _claims_racing(monkeypatch) -> list[str]:
    """Two threads claim one key; both evaluate the condition before either writes, if they can."""
    both_checking = threading.Barrier(2)
    original = moto_table.get_filter_expression

    def get_filter_expression(expression, *args, **kwargs):
        if expression == CLAIM_CONDITION:
            # Unlocked, the two meet here before either wrote. Locked, the second cannot get here
            # while the first waits, so the first gives up waiting and goes on alone.
            with contextlib.suppress(threading.BrokenBarrierError):
                both_checking.wait(timeout=1)
        return original(expression, *args, **kwargs)

    monkeypatch.setattr(moto_table, "get_filter_expression", get_filter_expression)
    with mock_aws():
        create_claims_table(boto3.client("dynamodb", region_name="us-east-1"))
        clients = [boto3.client("dynamodb", region_name="us-east-1") for _ in range(2)]
        winners: list[str] = []

        def claim(index: int) -> None:
            try:
                clients[index].put_item(
                    TableName="claims",
                    Item={"pk": {"S": "s3://in#v1#0A"}, "messageId": {"S": f"m{index}"}},
                    ConditionExpression=CLAIM_CONDITION,
                )
                winners.append(f"m{index}")
            except clients[index].exceptions.ConditionalCheckFailedException:
                pass

        threads = [threading.Thread(target=claim, args=(index,)) for index in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        return winners


@pytest.fixture
def atomic_writes():
    """The twin's fix, applied for the test and removed after it (as an Emulator does on stop)."""
    fix = PatchSet(dynamodb_fixes.patches())
    fix.apply()
    yield
    fix.restore()


def test_two_concurrent_conditional_claims_of_one_key_have_one_winner(atomic_writes, monkeypatch):
    assert len(_claims_racing(monkeypatch)) == 1


def test_without_the_fix_moto_lets_both_win(monkeypatch):
    assert len(_claims_racing(monkeypatch)) == 2, "moto's check-then-write is not atomic"


def test_update_expressions_parsed_once_give_what_moto_gives(atomic_writes):
    """The claim's own UpdateExpression, reused for two items and two updates of one item: the kept
    parse tree is never changed by an update (moto copies it), and a bad expression raises each time."""
    from botocore.exceptions import ClientError

    expression = "SET #status = :claimed, receiveCount = :count, leaseUntil = :first + :lease"
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_claims_table(dynamodb)
        for pk, count, first in (("a", "1", "100"), ("b", "2", "200"), ("a", "3", "300")):
            dynamodb.update_item(
                TableName="claims",
                Key={"pk": {"S": pk}},
                UpdateExpression=expression,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":claimed": {"S": "claimed"},
                    ":count": {"N": count},
                    ":first": {"N": first},
                    ":lease": {"N": "10"},
                },
            )
        items = {item["pk"]["S"]: item for item in dynamodb.scan(TableName="claims")["Items"]}
        assert {pk: (i["receiveCount"]["N"], i["leaseUntil"]["N"]) for pk, i in items.items()} == {
            "a": ("3", "310"),
            "b": ("2", "210"),
        }
        assert dynamodb_fixes.parsed_update_expression.cache_info().hits >= 2
        for _ in range(2):
            with pytest.raises(ClientError, match="Invalid UpdateExpression"):
                dynamodb.update_item(
                    TableName="claims", Key={"pk": {"S": "a"}}, UpdateExpression="SET = broken"
                )


# Update/condition pairs moto accepts or refuses for different reasons: each must end the same with
# the twin's faster validation as with moto's own, called twice (the second call meets the kept
# parse, the kept shape check and the kept condition tokens).
UPDATE_CASES = [
    ("SET #s = :a, n = :one + :one", "attribute_not_exists(pk)", {":a": {"S": "x"}, ":one": {"N": "1"}}),
    ("SET #s = :a", "#s = :a OR (n < :one AND #s <> :a)", {":a": {"S": "x"}, ":one": {"N": "1"}}),
    ("SET #s = :a, #s = :a", None, {":a": {"S": "x"}}),  # overlapping paths
    ("SET #s = :a SET n = :one", None, {":a": {"S": "x"}, ":one": {"N": "1"}}),  # two SET clauses
    ("SET pk = :a", None, {":a": {"S": "x"}}),  # updates the key
    ("SET n = :one", "#s = :a", {":one": {"N": "1"}, ":a": {"S": "x"}}),
    ("SET #s = :missing", None, {}),  # value not given
    ("SET n = :a + :one", None, {":a": {"S": "x"}, ":one": {"N": "1"}}),  # adds a string
    ("SET #s = :a", "#s = :a AND", {":a": {"S": "x"}}),  # condition does not parse
    ("SET #s = :a", "#s == :a", {":a": {"S": "x"}}),
    ("REMOVE n SET #s = :a ADD c :one", "attribute_exists(pk)", {":a": {"S": "x"}, ":one": {"N": "1"}}),
]


def _outcomes(dynamodb) -> list[str]:
    from botocore.exceptions import ClientError

    seen = []
    for round_ in range(2):
        for index, (update, condition, values) in enumerate(UPDATE_CASES):
            request = {
                "TableName": "claims",
                "Key": {"pk": {"S": f"item-{index % 3}"}},
                "UpdateExpression": update,
                "ReturnValues": "ALL_NEW",
            }
            if "#s" in update + (condition or ""):
                request["ExpressionAttributeNames"] = {"#s": "status"}
            if values:
                request["ExpressionAttributeValues"] = values
            if condition:
                request["ConditionExpression"] = condition
            try:
                seen.append(f"{round_}/{index} ok {dynamodb.update_item(**request)['Attributes']}")
            except ClientError as error:
                refusal = error.response["Error"]
                seen.append(f"{round_}/{index} {refusal['Code']}: {refusal['Message']}")
            except ValueError as error:  # moto's condition parser raises some of its refusals raw
                seen.append(f"{round_}/{index} ValueError: {error}")
    return seen


def test_faster_update_validation_accepts_and_refuses_what_moto_does():
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_claims_table(dynamodb)
        as_moto = _outcomes(dynamodb)
    fix = PatchSet(dynamodb_fixes.patches())
    fix.apply()
    try:
        with mock_aws():
            dynamodb = boto3.client("dynamodb", region_name="us-east-1")
            create_claims_table(dynamodb)
            as_twin = _outcomes(dynamodb)
    finally:
        fix.restore()
    assert as_twin == as_moto
    refused = [line for line in as_moto if " ok " not in line]
    assert len(refused) >= 2 * 7, as_moto  # the refusals are exercised, not only the happy path
