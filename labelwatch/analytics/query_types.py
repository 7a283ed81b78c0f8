"""What a query returns and how it fails, whichever engine ran it (local DuckDB or Athena)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows, in the engine's order.

    Local (DuckDB) rows hold Python values (int, float, str, bool, datetime, dict, None); Athena rows
    hold the strings Athena returns (``None`` for SQL NULL).
    """

    columns: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def as_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


class QueryError(Exception):
    """A query the engine refused or could not finish; ``message`` is the engine's own words, or
    (locally) why the text is not an Athena query."""

    def __init__(self, message: str, sql: str, *, query_id: str | None = None) -> None:
        self.message = message
        self.sql = sql
        self.query_id = query_id
        super().__init__(message)

    def __str__(self) -> str:
        where = f" (query {self.query_id})" if self.query_id else ""
        return f"{self.message}{where}\n--- SQL ---\n{self.sql.strip()}"
