"""Run SQL on Athena and collect the answer (the deployed stack's workgroup and Glue database)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from .query_types import QueryError, QueryResult

_DONE = {"SUCCEEDED", "FAILED", "CANCELLED"}


def run_athena_query(
    sql: str,
    athena_client: Any,
    *,
    workgroup: str,
    database: str,
    poll_interval: float = 1.0,
    timeout: float = 300,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> QueryResult:
    """Start the query, wait for it, page through its results.

    Values are Athena's strings (``None`` for NULL). Raises QueryError when Athena rejects the query,
    when it ends FAILED or CANCELLED (with Athena's reason), or after ``timeout`` seconds (the query is
    then stopped).
    """
    try:
        started = athena_client.start_query_execution(
            QueryString=sql,
            QueryExecutionContext={"Database": database},
            WorkGroup=workgroup,
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "InvalidRequestException":
            raise
        raise QueryError(error.response["Error"].get("Message", str(error)), sql) from error
    query_id = started["QueryExecutionId"]

    deadline = clock() + timeout
    while True:
        execution = athena_client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        status = execution["Status"]
        state = status["State"]
        if state in _DONE:
            break
        if clock() >= deadline:
            athena_client.stop_query_execution(QueryExecutionId=query_id)
            raise QueryError(
                f"timed out after {timeout:g} s (last state {state}); query stopped", sql, query_id=query_id
            )
        sleep(poll_interval)

    if state != "SUCCEEDED":
        reason = status.get("StateChangeReason") or status.get("AthenaError", {}).get("ErrorMessage")
        raise QueryError(f"{state}: {reason or 'no reason given'}", sql, query_id=query_id)
    return _collect(athena_client, query_id, is_select=execution.get("StatementType") == "DML")


def _collect(athena_client: Any, query_id: str, *, is_select: bool) -> QueryResult:
    columns: list[str] | None = None
    rows: list[tuple[str | None, ...]] = []
    token: str | None = None
    first_page = True
    while True:
        request: dict[str, Any] = {"QueryExecutionId": query_id, "MaxResults": 1000}
        if token:
            request["NextToken"] = token
        page = athena_client.get_query_results(**request)
        result_set = page.get("ResultSet", {})
        if columns is None:
            info = result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])
            columns = [column.get("Label") or column["Name"] for column in info]
        page_rows = [
            tuple(cell.get("VarCharValue") for cell in row.get("Data", []))
            for row in result_set.get("Rows", [])
        ]
        # A SELECT's first row is the header; DDL and utility statements (SHOW, DESCRIBE) have none.
        if first_page and is_select and page_rows and list(page_rows[0]) == columns:
            page_rows = page_rows[1:]
        rows.extend(page_rows)
        first_page = False
        token = page.get("NextToken")
        if not token:
            return QueryResult(columns=columns or [], rows=rows)
