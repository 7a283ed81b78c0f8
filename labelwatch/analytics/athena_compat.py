"""Athena (Trino) functions DuckDB lacks, defined on a DuckDB connection.

Most are SQL macros over a DuckDB equivalent; ``date_parse`` is a Python function because DuckDB's
``strptime`` needs a constant format. The session time zone is UTC, as in Athena. Only names DuckDB
does not already have are defined (``date_add`` is the exception: Trino's 3-argument form is added
and DuckDB's own 2-argument form kept).

``athena_sql`` parses these names as plain function calls, so sqlglot's Athena-to-DuckDB translation
leaves them alone and these definitions are what runs.

Known differences: ``approx_percentile``/``approx_distinct`` are exact here; ``to_iso8601`` always
formats as UTC with a ``Z``; ``date_add`` on a DATE returns a TIMESTAMP.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

# Athena's date_format/date_parse use MySQL specifiers; DuckDB's strftime/strptime the C ones.
_MYSQL_TO_STRFTIME = {
    "a": "%a", "b": "%b", "c": "%-m", "D": "%-d", "d": "%d", "e": "%-d", "f": "%f", "H": "%H",
    "h": "%I", "I": "%I", "i": "%M", "j": "%j", "k": "%-H", "l": "%-I", "M": "%B", "m": "%m",
    "p": "%p", "r": "%I:%M:%S %p", "S": "%S", "s": "%S", "T": "%H:%M:%S", "v": "%V", "W": "%A",
    "Y": "%Y", "y": "%y", "%": "%%",
}  # fmt: skip
# Python's strptime reads unpadded numbers with the padded directives.
_MYSQL_TO_STRPTIME = {
    **_MYSQL_TO_STRFTIME,
    "c": "%m", "D": "%d", "e": "%d", "k": "%H", "l": "%I", "v": "%W",
}  # fmt: skip


def mysql_to_strptime(fmt: str) -> str:
    """An Athena ``date_parse`` format as a Python ``strptime`` format."""
    return re.sub(r"%(.)", lambda match: _MYSQL_TO_STRPTIME.get(match.group(1), match.group(1)), fmt)


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _strftime_format_sql(argument: str) -> str:
    """SQL turning a MySQL format (a SQL expression) into a strftime one: each ``%x`` first becomes a
    placeholder (chr(1) + x), then its translation, so no translation is translated again."""
    expression = f"replace({argument}, '%%', chr(2))"
    for letter in _MYSQL_TO_STRFTIME:
        if letter != "%":
            expression = (
                f"replace({expression}, {_sql_string('%' + letter)}, chr(1) || {_sql_string(letter)})"
            )
    for letter, target in _MYSQL_TO_STRFTIME.items():
        if letter != "%":
            expression = f"replace({expression}, chr(1) || {_sql_string(letter)}, {_sql_string(target)})"
    return f"replace({expression}, chr(2), '%%')"


# name -> macro parameter lists and bodies (several for overloads)
MACROS: dict[str, str] = {
    "approx_percentile": "(x, p) AS quantile_disc(x, p)",
    "approx_distinct": "(x) AS count(DISTINCT x)",
    "from_iso8601_timestamp": "(s) AS CAST(s AS TIMESTAMPTZ)",
    "from_iso8601_date": "(s) AS CAST(s AS DATE)",
    "to_iso8601": "(t) AS strftime(CAST(t AS TIMESTAMPTZ), '%Y-%m-%dT%H:%M:%S.%gZ')",
    "date_format": f"(t, f) AS strftime(t, {_strftime_format_sql('f')})",
    "date_add": "(u, n, t) AS t + n * CAST('1 ' || u AS INTERVAL), (d, i) AS d + i",
    "from_unixtime": "(n) AS to_timestamp(n)",
    "to_unixtime": "(t) AS epoch(t)",
    "date": "(x) AS CAST(x AS DATE)",
    "day_of_week": "(t) AS isodow(t)",
    "dow": "(t) AS isodow(t)",
    "day_of_month": "(t) AS day(t)",
    "day_of_year": "(t) AS dayofyear(t)",
    "doy": "(t) AS dayofyear(t)",
    "week_of_year": "(t) AS week(t)",
    "year_of_week": "(t) AS isoyear(t)",
    "yow": "(t) AS isoyear(t)",
    "last_day_of_month": "(t) AS last_day(t)",
    "current_timezone": "() AS current_setting('TimeZone')",
    "regexp_like": "(s, p) AS regexp_matches(s, p)",
    "json_extract_scalar": "(j, p) AS json_extract_string(j, p)",
    "json_parse": "(s) AS CAST(s AS JSON)",
    "json_format": "(j) AS CAST(j AS VARCHAR)",
    "every": "(b) AS bool_and(b)",
    "is_nan": "(x) AS isnan(x)",
    "nan": "() AS CAST('NaN' AS DOUBLE)",
    "infinity": "() AS CAST('Infinity' AS DOUBLE)",
    "array_join": "(a, sep) AS array_to_string(a, sep)",
    "levenshtein_distance": "(a, b) AS levenshtein(a, b)",
    "hamming_distance": "(a, b) AS hamming(a, b)",
}
ALWAYS_DEFINED = {"date_add"}  # overloads DuckDB's own function (its form kept as an overload)
PYTHON_FUNCTIONS = ("date_parse",)


def _date_parse(text: str | None, fmt: str | None) -> datetime | None:
    if text is None or fmt is None:
        return None
    return datetime.strptime(text, mysql_to_strptime(fmt))


def install(connection: Any) -> list[str]:
    """Set the session to UTC and define the functions; returns the names defined."""
    from duckdb.sqltypes import TIMESTAMP, VARCHAR

    connection.execute("SET TimeZone = 'UTC'")
    existing = {
        row[0]
        for row in connection.execute("SELECT DISTINCT function_name FROM duckdb_functions()").fetchall()
    }
    defined = []
    for name, body in MACROS.items():
        if name in existing and name not in ALWAYS_DEFINED:
            continue
        connection.execute(f"CREATE OR REPLACE MACRO {name}{body}")
        defined.append(name)
    if "date_parse" not in existing:
        connection.create_function(
            "date_parse", _date_parse, [VARCHAR, VARCHAR], TIMESTAMP, null_handling="special"
        )
        defined.append("date_parse")
    return defined
