"""Athena's SQL over result objects, locally: an in-memory DuckDB with the Glue table's shape.

The table has exactly the Glue columns and types (``infra/analytics.py``; the ISO-8601 times stay
strings, as Athena sees them) plus the ``dt`` partition column (a string), and answers to
``results``, ``<database>.results`` and ``AwsDataCatalog.<database>.results``. Athena functions DuckDB
lacks are defined (``athena_compat``), so the stack's named queries run unchanged.

A query is Athena's SQL, not DuckDB's: ``athena_sql`` parses it as Athena does, refuses anything but
one query (and DuckDB-only syntax), and DuckDB runs its translation; the columns come back named as
Athena names them (``_col0`` for ``count(*)``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb

from . import athena_compat
from .athena_sql import athena_column_names, translate
from .coerce import CoercionError, coerce
from .glue_schema import ResultsTable, duckdb_type, parse_hive_type, quote_identifier, results_table
from .query_types import QueryError, QueryResult
from .results_source import ResultFormatError, ResultObject, iter_object_records, iter_result_objects

DEFAULT_DATABASE = "labelwatch"


class LocalQueryEngine:
    """``with LocalQueryEngine(objects) as engine: engine.run("SELECT ... FROM results")``."""

    def __init__(self, objects: Iterable[ResultObject] = (), *, database: str = DEFAULT_DATABASE) -> None:
        self.database = database
        self.table: ResultsTable = results_table()
        self._connection = duckdb.connect(":memory:")
        try:
            self.functions = athena_compat.install(self._connection)
            self._create_table()
            self.row_count = self._load(objects)
        except BaseException:
            self._connection.close()
            raise

    @classmethod
    def from_s3(
        cls, s3_client: Any, bucket: str, *, prefix: str | None = None, database: str = DEFAULT_DATABASE
    ) -> LocalQueryEngine:
        """Everything under the results prefix of ``bucket`` (any S3 endpoint, e.g. the embedded one)."""
        prefix = results_table().results_prefix if prefix is None else prefix
        return cls(iter_result_objects(s3_client, bucket, prefix), database=database)

    # --- setup ---------------------------------------------------------------------------------

    def _create_table(self) -> None:
        table = quote_identifier(self.table.name)
        columns = ", ".join(
            f"{quote_identifier(column.name)} {duckdb_type(column.hive_type)}"
            for column in self.table.all_columns
        )
        self._connection.execute(f"CREATE TABLE main.{table} ({columns})")
        if self.database != "main":
            schema = quote_identifier(self.database)
            self._connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            self._connection.execute(f"CREATE VIEW {schema}.{table} AS SELECT * FROM main.{table}")

    def _load(self, objects: Iterable[ResultObject]) -> int:
        """Normalise every record to the table's types into one NDJSON file, then bulk-load it."""
        columns = [(column.name, parse_hive_type(column.hive_type)) for column in self.table.all_columns]
        scratch = Path(tempfile.mkdtemp(prefix="labelwatch-results-"))
        try:
            path = scratch / "rows.json"
            count = 0
            with path.open("w", encoding="utf-8") as out:
                for obj in objects:
                    for line, record in iter_object_records(obj):
                        try:
                            row = {name: coerce(record.get(name), type_, name) for name, type_ in columns}
                        except CoercionError as error:
                            raise ResultFormatError(obj.key, line, str(error)) from error
                        out.write(json.dumps(row, ensure_ascii=False) + "\n")
                        count += 1
            if count:
                spec = ", ".join(
                    f"{_sql_string(column.name)}: {_sql_string(duckdb_type(column.hive_type))}"
                    for column in self.table.all_columns
                )
                self._connection.execute(
                    f"INSERT INTO main.{quote_identifier(self.table.name)} SELECT * FROM read_json("
                    f"{_sql_string(str(path))}, format = 'newline_delimited', columns = {{{spec}}})"
                )
            return count
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    # --- queries -------------------------------------------------------------------------------

    def run(self, sql: str) -> QueryResult:
        """One Athena query (``QueryError`` for anything else, or when DuckDB fails on it)."""
        translation = translate(
            sql,
            database=self.database,
            table=self.table.name,
            columns=[column.name for column in self.table.all_columns],
        )
        try:
            cursor = self._connection.execute(translation.duckdb_sql)
            assert cursor.description is not None, "a query has a result set"
            columns = athena_column_names([item[0] for item in cursor.description])
            return QueryResult(columns=columns, rows=[tuple(row) for row in cursor.fetchall()])
        except duckdb.Error as error:
            # DuckDB quotes the text it ran (its translation) after the message; the user wrote the other.
            raise QueryError(str(error).split("\n\nLINE ")[0].strip(), sql) from error

    def describe(self) -> list[tuple[str, str]]:
        """The table's columns and their DuckDB types (DuckDB's ``DESCRIBE``, not an Athena query)."""
        table = quote_identifier(self.table.name)
        return [(row[0], row[1]) for row in self._connection.execute(f"DESCRIBE main.{table}").fetchall()]

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> LocalQueryEngine:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
