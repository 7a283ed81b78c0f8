"""Athena's SQL, not DuckDB's: what athena_sql.translate accepts, refuses, and hands to DuckDB.

No engine here (the named queries' answers are checked in test_analytics_query.py); each case is a
parse, so the file runs in well under a second.
"""

from __future__ import annotations

import pytest

from labelwatch.analytics.athena_sql import ONLY_QUERIES, athena_column_names, translate
from labelwatch.analytics.glue_schema import results_table
from labelwatch.analytics.named_queries import named_queries
from labelwatch.analytics.query_types import QueryError

COLUMNS = [column.name for column in results_table().all_columns]


def duckdb_sql(sql: str, database: str = "labelwatch") -> str:
    return translate(sql, database=database, columns=COLUMNS).duckdb_sql


def refusal(sql: str, database: str = "labelwatch") -> str:
    with pytest.raises(QueryError) as caught:
        translate(sql, database=database, columns=COLUMNS)
    assert caught.value.sql == sql
    return caught.value.message


# --- only queries ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("DROP TABLE results", "DROP TABLE"),
        ("drop view if exists v", "DROP VIEW"),
        ("CREATE TABLE copy AS SELECT * FROM results", "CREATE TABLE"),
        ("CREATE OR REPLACE MACRO m(x) AS x", "CREATE OR REPLACE MACRO"),
        ("CREATE EXTERNAL TABLE t (a string) LOCATION 's3://b/'", "CREATE EXTERNAL TABLE"),
        ("INSERT INTO results SELECT * FROM results", "INSERT INTO"),
        ("DELETE FROM results", "DELETE"),
        ("UPDATE results SET label = 'x'", "UPDATE"),
        ("ALTER TABLE results ADD COLUMNS (x int)", "ALTER TABLE"),
        ("MERGE INTO results USING results r ON true WHEN MATCHED THEN DELETE", "MERGE"),
        ("SET TimeZone = 'Europe/Berlin'", "SET"),
        ("PRAGMA database_list", "PRAGMA"),
        ("ATTACH 'other.duckdb' AS other", "ATTACH"),
        ("COPY results TO '/tmp/out.csv'", "COPY"),
        ("INSTALL httpfs", "INSTALL"),
        ("LOAD httpfs", "LOAD"),
        ("CALL pragma_version()", "CALL"),
        ("DESCRIBE results", "DESCRIBE"),
        ("SHOW TABLES", "SHOW"),
        ("EXPLAIN SELECT * FROM results", "EXPLAIN"),
        ("USE labelwatch", "USE"),
        ("MSCK REPAIR TABLE results", "MSCK REPAIR"),
        ("UNLOAD (SELECT * FROM results) TO 's3://bucket/out/'", "UNLOAD"),
        ("SUMMARIZE results", "SUMMARIZE"),
        ("BEGIN", "BEGIN"),
    ],
)
def test_statements_other_than_queries_are_refused(sql, kind):
    assert refusal(sql) == f"{ONLY_QUERIES}; got {kind}"


def test_one_statement_at_a_time():
    assert refusal("SELECT 1; DROP TABLE results") == "one statement at a time; got 2 (SELECT; DROP TABLE)"
    assert refusal("SELECT 1; SELECT 2;") == "one statement at a time; got 2 (SELECT; SELECT)"
    assert duckdb_sql("SELECT label FROM results;") == "SELECT label FROM results"  # one trailing ';' is fine


@pytest.mark.parametrize("sql", ["", "  ; ", "-- nothing but a comment"])
def test_no_query(sql):
    assert refusal(sql) == "no query given"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT label FROM results",
        "WITH alerts AS (SELECT * FROM results WHERE alert) SELECT count(*) FROM alerts",
        "SELECT label FROM results UNION ALL SELECT reason FROM results",
        "SELECT label FROM results INTERSECT SELECT label FROM results",
        "SELECT label FROM results EXCEPT SELECT label FROM results",
        "VALUES (1, 'a'), (2, 'b')",
        "TABLE results",
        "(SELECT label FROM results)",
    ],
)
def test_queries_of_every_kind_are_accepted(sql):
    assert duckdb_sql(sql)


# --- DuckDB syntax Athena would refuse ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * EXCLUDE (geometry) FROM results", "SELECT * EXCLUDE/EXCEPT (...) is DuckDB syntax"),
        ("SELECT * EXCEPT (geometry) FROM results", "SELECT * EXCLUDE/EXCEPT (...) is DuckDB syntax"),
        ("SELECT * REPLACE (upper(label) AS label) FROM results", "SELECT * REPLACE (...) is DuckDB syntax"),
        ("FROM results SELECT label", "a query that starts with FROM is DuckDB syntax"),
        ("FROM results", "a query that starts with FROM is DuckDB syntax"),
        ("SELECT list_value(1, 2)", "function list_value is not an Athena function (line 1, column 8)"),
        ("SELECT strftime(now(), '%Y')", "function strftime is not an Athena function"),
        ("SELECT * FROM read_csv('/etc/passwd')", "only the results table can be read"),
        ("SELECT label::varchar FROM results", "'::' casts are DuckDB syntax; Athena writes CAST(x AS type)"),
        ("SELECT CAST(label AS string) FROM results", "type string is not an Athena type"),
        ("SELECT 1 == 1", "'==' is DuckDB syntax"),
        ("SELECT [1, 2, 3]", "a [...] list is DuckDB syntax"),
        ("SELECT {'a': 1}", "a {...} struct is DuckDB syntax"),
        ("SELECT struct_pack(a := 1)", "':=' is DuckDB syntax"),
        ("SELECT label FROM results WHERE label ILIKE 'LEAF%'", "ILIKE is not in Athena"),
        ("SELECT label FROM results WHERE label SIMILAR TO 'leaf.*'", "SIMILAR TO is not in Athena"),
        ("SELECT DISTINCT ON (label) label FROM results", "DISTINCT ON is not in Athena"),
        ("SELECT label, count(*) FROM results GROUP BY ALL", "GROUP BY ALL (every non-aggregate column)"),
        (
            "SELECT label FROM results UNION BY NAME SELECT label FROM results",
            "UNION BY NAME is DuckDB syntax",
        ),
        ("SELECT * FROM results PIVOT (count(*) FOR label IN ('x'))", "PIVOT/UNPIVOT is not in Athena"),
        ("SELECT * FROM results a ASOF JOIN results b USING (key)", "ASOF JOIN is not in Athena"),
        ("SELECT * FROM results POSITIONAL JOIN results b", "a JOIN needs ON or USING in Athena"),
        (
            "SELECT * FROM results a JOIN results b",
            "a JOIN needs ON or USING in Athena (or write CROSS JOIN)",
        ),
        ("SELECT * FROM results a SEMI JOIN results b ON a.key = b.key", "SEMI JOIN is not in Athena"),
        ("SELECT label FROM results USING SAMPLE 10%", "USING SAMPLE is DuckDB syntax"),
        ("SELECT label FROM results LIMIT 10%", "LIMIT ... PERCENT is not in Athena"),
        ("SELECT $1", "parameters ($1, ?) are not supported"),
        (
            "SELECT geometry.left FROM results",
            'left is a reserved word in Athena; as a name it is written "left"',
        ),
        ("SELECT * FROM results QUALIFY row_number() OVER () = 1", "not Athena SQL"),
        ("SELECT `label` FROM results", "not Athena SQL"),
    ],
)
def test_duckdb_syntax_is_refused(sql, expected):
    assert expected in refusal(sql)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "SELECT lower(label) AS name, count(*) FROM results GROUP BY name",
            "name in GROUP BY names a select-list alias",
        ),
        ("SELECT confidence / 100 AS p FROM results WHERE p > 0.5", "p in WHERE names a select-list alias"),
        ("SELECT 1 AS x, x + 1", "x in the select list names a select-list alias"),
    ],
)
def test_select_list_aliases_resolve_only_where_athena_resolves_them(sql, expected):
    assert expected in refusal(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT lower(label) AS name, count(*) FROM results GROUP BY lower(label) ORDER BY name",
        "SELECT lower(label) AS label FROM results WHERE label = 'x'",  # the table's label
        "SELECT p FROM (SELECT confidence / 100 AS p FROM results) WHERE p > 0.5",
        "SELECT coalesce(label, '(none)') AS label FROM results GROUP BY coalesce(label, '(none)')",
    ],
)
def test_aliases_athena_resolves_are_accepted(sql):
    assert duckdb_sql(sql)


def test_parse_errors_name_the_place():
    message = refusal("SELECT label FROM results WHERE")
    assert message.startswith("not Athena SQL:")
    assert "at line 1, column 27 (near 'WHERE')" in message
    assert refusal("SELECT 1 FROM") == (
        "not Athena SQL: Expected table name but got the end of the query at line 1, column 10 (near 'FROM')"
    )
    assert "at line 2, column 16 (near 'b')" in refusal("SELECT label\nFROM results a b c")
    assert refusal("SELECT label,\n       label::varchar FROM results").endswith("(line 2, column 13: '::')")
    assert refusal("SELECT 'unterminated").startswith("cannot read the query as Athena SQL:")


def test_functions_sqlglot_would_translate_stay_as_the_athena_compat_macros():
    """approx_percentile would become DuckDB's approximate approx_quantile, date_format a strftime
    with sqlglot's reading of the format; the macros keep Athena's behaviour (tested against the
    engine in test_analytics_query.py)."""
    sql = duckdb_sql(
        "SELECT approx_percentile(confidence, 0.5) AS p,"
        " date_format(from_iso8601_timestamp(uploaded_at), '%Y-%m-%d %H:%i') AS d,"
        " date_parse(dt, '%Y-%m-%d') AS t, date_add('day', 1, from_iso8601_date(dt)) AS n FROM results"
    ).lower()
    for call in ("approx_percentile(", "date_format(", "from_iso8601_timestamp(", "date_parse(", "date_add("):
        assert call in sql
    assert "approx_quantile" not in sql and "strftime" not in sql


def test_sqlglot_translates_the_rest():
    assert duckdb_sql("SELECT arbitrary(label) AS l, cardinality(ARRAY[1, 2]) AS c FROM results") == (
        "SELECT ANY_VALUE(label) AS l, ARRAY_LENGTH([1, 2]) AS c FROM results"
    )


def test_a_translation_duckdb_cannot_express_is_refused():
    message = refusal("SELECT reduce(ARRAY[1, 2], 0, (s, x) -> s + x, s -> s * 10)")
    assert message.startswith("cannot run this query locally:")


@pytest.mark.parametrize("name", sorted(named_queries()))
def test_the_named_queries_are_athena_sql(name):
    assert duckdb_sql(named_queries()[name].sql)


# --- tables --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "table"),
    [
        ("SELECT count(*) FROM results", "results"),
        ('SELECT count(*) FROM "results"', '"results"'),
        ("SELECT count(*) FROM RESULTS", "RESULTS"),
        ("SELECT count(*) FROM labelwatch.results", "labelwatch.results"),
        ('SELECT count(*) FROM "labelwatch"."results"', '"labelwatch"."results"'),
        ("SELECT count(*) FROM AwsDataCatalog.labelwatch.results", "labelwatch.results"),
        ('SELECT count(*) FROM "awsdatacatalog"."labelwatch".results', '"labelwatch".results'),
    ],
)
def test_the_results_table_answers_to_its_names(sql, table):
    assert duckdb_sql(sql).endswith(f" FROM {table}")


@pytest.mark.parametrize(
    ("sql", "shown"),
    [
        ("SELECT count(*) FROM other", "other"),
        ("SELECT count(*) FROM other.results", "other.results"),
        ("SELECT count(*) FROM information_schema.tables", "information_schema.tables"),
        ("SELECT count(*) FROM othercatalog.labelwatch.results", "othercatalog.labelwatch.results"),
        ("SELECT * FROM 'rows.json'", "rows.json"),
    ],
)
def test_other_tables_do_not_exist(sql, shown):
    column = sql.index(" FROM ") + len(" FROM ") + 1
    expected = f"table {shown} does not exist; the table is results (or labelwatch.results)"
    assert refusal(sql) == f"{expected} (line 1, column {column})"


def test_the_database_is_the_engines():
    assert duckdb_sql("SELECT count(*) FROM leaves_dev.results", database="leaves_dev")
    assert "does not exist" in refusal("SELECT count(*) FROM labelwatch.results", database="leaves_dev")


def test_with_queries_are_tables_too():
    assert duckdb_sql("WITH a AS (SELECT label FROM results) SELECT count(*) FROM a")


# --- column names -------------------------------------------------------------------------------------


def test_unnamed_columns_get_placeholders_athena_column_names_numbers():
    sql = duckdb_sql("SELECT label, count(*), max(confidence) AS top FROM results GROUP BY label")
    assert sql == (
        'SELECT label, COUNT(*) AS "__athena_unnamed_0", MAX(confidence) AS top FROM results GROUP BY label'
    )
    assert athena_column_names(["label", "__athena_unnamed_0", "top"]) == ["label", "_col1", "top"]
    assert athena_column_names(["__athena_unnamed_7"]) == ["_col0"]
    assert athena_column_names(["__athena_unnamed_"]) == ["__athena_unnamed_"]


def test_column_references_keep_their_names():
    assert duckdb_sql("SELECT label, results.key, geometry.width, (status) FROM results") == (
        "SELECT label, results.key, geometry.width, (status) FROM results"
    )
