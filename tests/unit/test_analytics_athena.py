"""Running SQL on Athena: start, poll, page through the results; failures as QueryError.

A real botocore Athena client with a Stubber: every request is checked against the API model.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from labelwatch.analytics import QueryError, run_athena_query

SQL = "SELECT label, count(*) AS n FROM results GROUP BY label"
QID = "a1b2c3d4-0000-4000-8000-000000000001"


@pytest.fixture
def athena():
    client = boto3.client("athena", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def expect_start(stubber, sql=SQL):
    stubber.add_response(
        "start_query_execution",
        {"QueryExecutionId": QID},
        {
            "QueryString": sql,
            "QueryExecutionContext": {"Database": "labelwatch"},
            "WorkGroup": "labelwatch",
        },
    )


def expect_state(stubber, state, reason=None, statement_type="DML"):
    status = {"State": state}
    if reason:
        status["StateChangeReason"] = reason
    stubber.add_response(
        "get_query_execution",
        {"QueryExecution": {"QueryExecutionId": QID, "StatementType": statement_type, "Status": status}},
        {"QueryExecutionId": QID},
    )


def row(*values):
    return {"Data": [{} if value is None else {"VarCharValue": value} for value in values]}


def page(rows, token=None):
    response = {
        "ResultSet": {
            "Rows": rows,
            "ResultSetMetadata": {
                "ColumnInfo": [{"Name": "label", "Type": "varchar"}, {"Name": "n", "Type": "bigint"}]
            },
        }
    }
    if token:
        response["NextToken"] = token
    return response


def run(client, sql=SQL, **kwargs):
    sleeps = []
    kwargs.setdefault("poll_interval", 0.5)
    result = run_athena_query(
        sql, client, workgroup="labelwatch", database="labelwatch", sleep=sleeps.append, **kwargs
    )
    return result, sleeps


def test_polls_until_done_and_pages_through_results(athena):
    client, stubber = athena
    expect_start(stubber)
    expect_state(stubber, "QUEUED")
    expect_state(stubber, "RUNNING")
    expect_state(stubber, "SUCCEEDED")
    stubber.add_response(
        "get_query_results",
        page([row("label", "n"), row("leaf-smut", "12"), row(None, "3")], token="t1"),
        {"QueryExecutionId": QID, "MaxResults": 1000},
    )
    stubber.add_response(
        "get_query_results",
        page([row("healthy", "40")]),
        {"QueryExecutionId": QID, "MaxResults": 1000, "NextToken": "t1"},
    )
    result, sleeps = run(client)
    assert result.columns == ["label", "n"]
    assert result.rows == [("leaf-smut", "12"), (None, "3"), ("healthy", "40")]  # the header row dropped
    assert sleeps == [0.5, 0.5]


def test_empty_select_has_columns_and_no_rows(athena):
    client, stubber = athena
    expect_start(stubber)
    expect_state(stubber, "SUCCEEDED")
    stubber.add_response(
        "get_query_results", page([row("label", "n")]), {"QueryExecutionId": QID, "MaxResults": 1000}
    )
    result, _ = run(client)
    assert result.columns == ["label", "n"]
    assert result.rows == []


def test_statements_without_header_row_keep_their_first_row(athena):
    client, stubber = athena
    expect_start(stubber, "SHOW TABLES")
    expect_state(stubber, "SUCCEEDED", statement_type="UTILITY")
    stubber.add_response(
        "get_query_results",
        {
            "ResultSet": {
                "Rows": [row("results")],
                "ResultSetMetadata": {"ColumnInfo": [{"Name": "tab_name", "Type": "string"}]},
            }
        },
        {"QueryExecutionId": QID, "MaxResults": 1000},
    )
    result, _ = run(client, "SHOW TABLES")
    assert result.columns == ["tab_name"]
    assert result.rows == [("results",)]


def test_failed_query_raises_with_athenas_reason(athena):
    client, stubber = athena
    expect_start(stubber)
    expect_state(stubber, "RUNNING")
    expect_state(stubber, "FAILED", reason="COLUMN_NOT_FOUND: line 1:8: Column 'lable' cannot be resolved")
    with pytest.raises(QueryError) as caught:
        run(client)
    error = caught.value
    assert "COLUMN_NOT_FOUND" in error.message
    assert error.message.startswith("FAILED")
    assert error.sql == SQL
    assert error.query_id == QID
    assert QID in str(error) and SQL in str(error)


def test_cancelled_query_raises(athena):
    client, stubber = athena
    expect_start(stubber)
    expect_state(stubber, "CANCELLED", reason="Query was cancelled by user")
    with pytest.raises(QueryError, match="CANCELLED: Query was cancelled by user"):
        run(client)


def test_rejected_request_raises_query_error(athena):
    client, stubber = athena
    stubber.add_client_error(
        "start_query_execution",
        service_error_code="InvalidRequestException",
        service_message="line 1:1: mismatched input 'SELEKT'",
    )
    with pytest.raises(QueryError, match="mismatched input") as caught:
        run(client, "SELEKT 1")
    assert caught.value.sql == "SELEKT 1"


def test_timeout_stops_the_query(athena):
    client, stubber = athena
    now = [0.0]

    def clock():
        return now[0]

    def sleep(seconds):
        now[0] += seconds

    expect_start(stubber)
    for _ in range(3):
        expect_state(stubber, "RUNNING")
    stubber.add_response("stop_query_execution", {}, {"QueryExecutionId": QID})
    with pytest.raises(QueryError, match="timed out after 2 s") as caught:
        run_athena_query(
            SQL,
            client,
            workgroup="labelwatch",
            database="labelwatch",
            poll_interval=1.0,
            timeout=2,
            sleep=sleep,
            clock=clock,
        )
    assert caught.value.query_id == QID
