"""The Glue table the stack defines over the results (``infra/results_schema.py``), in DuckDB terms.

One source of truth for the stack and ``labelwatch query``; the schema module imports no CDK, so
the command starts no Node.js process.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from infra.results_schema import PARTITION_KEY, RESULT_COLUMNS, RESULTS_PREFIX, TABLE_NAME


@dataclass(frozen=True)
class GlueColumn:
    name: str
    hive_type: str  # as declared in Glue, e.g. "string", "struct<width:double,...>"
    comment: str = ""


@dataclass(frozen=True)
class ResultsTable:
    name: str  # "results"
    columns: tuple[GlueColumn, ...]  # the record columns, in order
    partition_key: str  # "dt" (a string partition column, after the record columns)
    results_prefix: str  # "results/"

    @property
    def all_columns(self) -> tuple[GlueColumn, ...]:
        """The columns as Athena shows them: record columns, then the partition column."""
        return (*self.columns, GlueColumn(self.partition_key, "string", "partition"))


@cache
def results_table() -> ResultsTable:
    return ResultsTable(
        name=TABLE_NAME,
        columns=tuple(GlueColumn(*column) for column in RESULT_COLUMNS),
        partition_key=PARTITION_KEY,
        results_prefix=RESULTS_PREFIX,
    )


# --- Hive/Glue types -> DuckDB types -------------------------------------------------------------

_PRIMITIVES = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "char": "VARCHAR",
    "double": "DOUBLE",
    "float": "FLOAT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "binary": "BLOB",
}


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def parse_hive_type(text: str) -> Any:
    """``"struct<a:double,b:array<int>>"`` -> ``("struct", [("a", "double"), ("b", ("array", "int"))])``.

    Primitives come back as their lower-case name (parameters such as ``varchar(10)`` dropped).
    """
    tokens = re.findall(r"[A-Za-z_][A-Za-z0-9_]*(?:\(\s*\d+(?:\s*,\s*\d+)?\s*\))?|[<>:,]", text)
    position = 0

    def take(expected: str | None = None) -> str:
        nonlocal position
        if position >= len(tokens):
            raise ValueError(f"unexpected end of Hive type {text!r}")
        token = tokens[position]
        if expected is not None and token != expected:
            raise ValueError(f"expected {expected!r} at {token!r} in Hive type {text!r}")
        position += 1
        return token

    def parse() -> Any:
        name = take().lower()
        if name == "struct":
            take("<")
            fields = []
            while True:
                field_name = take()
                take(":")
                fields.append((field_name.lower(), parse()))
                if take() == ">":
                    return ("struct", fields)
        if name == "array":
            take("<")
            element = parse()
            take(">")
            return ("array", element)
        if name == "map":
            take("<")
            key = parse()
            take(",")
            value = parse()
            take(">")
            return ("map", key, value)
        return re.sub(r"\(.*", "", name)

    result = parse()
    if position != len(tokens):
        raise ValueError(f"trailing text in Hive type {text!r}")
    return result


def duckdb_type(hive_type: Any) -> str:
    """The DuckDB type for a Glue column type (a string or a parsed one)."""
    parsed = parse_hive_type(hive_type) if isinstance(hive_type, str) else hive_type
    if isinstance(parsed, str):
        if parsed.startswith("decimal"):
            return "DOUBLE"
        try:
            return _PRIMITIVES[parsed]
        except KeyError:
            raise ValueError(f"no DuckDB type for Hive type {parsed!r}") from None
    kind = parsed[0]
    if kind == "struct":
        inner = ", ".join(f"{quote_identifier(name)} {duckdb_type(sub)}" for name, sub in parsed[1])
        return f"STRUCT({inner})"
    if kind == "array":
        return f"{duckdb_type(parsed[1])}[]"
    return f"MAP({duckdb_type(parsed[1])}, {duckdb_type(parsed[2])})"
