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
