"""Athena's SQL locally: result objects -> DuckDB table shaped like the Glue table -> named queries.

The data set is made with the detect function's own record builder, so the records are exactly what
the pipeline writes; expected answers are computed here, in plain Python, from those records.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from detect.keys import image_id, result_key
from detect.labels import Label
from detect.records import build_records, to_ndjson
from moto import mock_aws

from labelwatch.analytics import (
    LocalQueryEngine,
    QueryError,
    ResultFormatError,
    ResultObject,
    UnknownNamedQuery,
    iter_result_objects,
    named_queries,
    named_query,
    parse_records,
)
from labelwatch.analytics.glue_schema import duckdb_type, results_table

BUCKET = "leaf-photos"
MODEL = "arn:aws:rekognition:us-east-1:123456789012:project/leaves/version/leaves.v1/1700000000000"
RULES = {"leaf-smut": 80.0, "bacterial-leaf-blight": 70.0}
LABELS = ["leaf-smut", "bacterial-leaf-blight", "brown-spot", "healthy"]
REASONS = ["unsupported-format:gif", "too-large", "object-missing"]
ODD_KEYS = [
    "field 7/<script>alert('x')</script>.jpg",
    'feld/blätter & "zweige" – ü.jpg',
    "温室/叶子 1.png",
]


def make_result_objects(uploads: int = 60, seed: int = 7) -> list[ResultObject]:
    """Several days, several labels, some rejected, some alerts, object-detection boxes, odd keys."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    objects = []
    for number in range(uploads):
        key = ODD_KEYS[number] if number < len(ODD_KEYS) else f"field-{number % 4}/IMG_{1000 + number}.jpg"
        uploaded_at = start + timedelta(days=number % 5, minutes=7 * number, seconds=number)
        sequencer = f"{number:018X}"
        if number < len(ODD_KEYS):  # the odd keys: the latest uploads, each with an alert
            uploaded_at = start + timedelta(days=4, hours=12, minutes=number)
            status, reason = "ok", None
            labels = [
                Label(name="leaf-smut", confidence=95.5 - number),
                Label(name="healthy", confidence=40.0),
            ]
        elif number % 7 == 3:
            status, reason, labels = "rejected", REASONS[number % len(REASONS)], []
        else:
            status, reason = "ok", None
            labels = []
            for name in rng.sample(LABELS, rng.choice([0, 1, 1, 2, 3])):
                boxes = 2 if name == "leaf-smut" and rng.random() < 0.3 else 1
                for _ in range(boxes):
                    geometry = (
                        {"Width": 0.25, "Height": 0.5, "Left": rng.random() / 2, "Top": 0.1}
                        if boxes > 1
                        else None
                    )
                    confidence = round(rng.uniform(35, 99.9), 2)
                    labels.append(Label(name=name, confidence=confidence, geometry=geometry))
        records = build_records(
            bucket=BUCKET,
            key=key,
            version_id=None,
            image_format=None if status == "rejected" else "jpeg",
            labels=labels,
            is_alert=lambda label: label.name in RULES and label.confidence >= RULES[label.name],
            threshold_for=lambda label: RULES.get(label.name),
            status=status,
            reason=reason,
            model=MODEL,
            uploaded_at=uploaded_at,
            detected_at=uploaded_at + timedelta(seconds=3),
            execution=f"arn:aws:states:us-east-1:123456789012:express:labelwatch:{number}:run",
            width=None if status == "rejected" else 640,
            height=None if status == "rejected" else 480,
            normalised="webp→jpeg" if number % 7 == 0 and status != "rejected" else None,
        )
        objects.append(
            ResultObject(
                key=result_key("results/", uploaded_at, image_id(BUCKET, key, sequencer)),
                body=to_ndjson(records).encode("utf-8"),
            )
        )
    return objects


def flat_records(objects: list[ResultObject]) -> list[dict]:
    """The records with dt, computed independently of the code under test."""
    out = []
    for obj in objects:
        day = obj.key.split("dt=")[1][:10]
        for line in obj.body.decode().splitlines():
            out.append({**json.loads(line), "dt": day})
    return out


@pytest.fixture(scope="module")
def objects() -> list[ResultObject]:
    return make_result_objects()


@pytest.fixture(scope="module")
def records(objects) -> list[dict]:
    return flat_records(objects)


@pytest.fixture(scope="module")
def engine(objects):
    with LocalQueryEngine(objects) as engine:
        yield engine


# --- expected answers of the named queries, from the records --------------------------------------


def expect_label_counts(records):
    groups = defaultdict(list)
    for record in records:
        if record["status"] == "ok":
            groups[record["label"] or "(none)"].append(record)
    rows = []
    for label, group in groups.items():
        confidences = [r["confidence"] for r in group if r["confidence"] is not None]
        rows.append(
            (
                label,
                len(group),
                sum(1 for r in group if r["alert"]),
                sum(confidences) / len(confidences) if confidences else None,
                max(confidences) if confidences else None,
            )
        )
    return sorted(rows, key=lambda row: (-row[1], row[0]))


def expect_alerts_per_day(records):
    uploads = Counter((r["dt"], r["image"], r["uploaded_at"]) for r in records if r["alert"])
    days = defaultdict(lambda: [0, 0])
    for (day, _, _), matches in uploads.items():
        days[day][0] += 1
        days[day][1] += matches
    return [(day, alerts, matched) for day, (alerts, matched) in sorted(days.items())]


def expect_recent_alerts(records):
    alerts = [(r["image"], r["label"], r["confidence"], r["uploaded_at"]) for r in records if r["alert"]]
    return sorted(alerts, key=lambda row: (row[3], row[2]), reverse=True)[:50]


def check_label_counts(result, records):
    assert result.columns == ["label", "detections", "alerts", "avg_confidence", "max_confidence"]
    expected = expect_label_counts(records)
    assert [row[:3] for row in result.rows] == [row[:3] for row in expected]
    for got, want in zip(result.rows, expected, strict=True):
        for got_value, want_value in zip(got[3:], want[3:], strict=True):
            assert (got_value is None) == (want_value is None)
            if want_value is not None:
                assert got_value == pytest.approx(want_value, abs=0.05 + 1e-9)


def check_alerts_per_day(result, records):
    assert result.columns == ["day", "alerts", "matched_labels"]
    assert [tuple(row) for row in result.rows] == expect_alerts_per_day(records)


def check_recent_alerts(result, records):
    assert result.columns == ["image", "label", "confidence", "uploaded_at"]
    expected = expect_recent_alerts(records)
    assert len(result.rows) == len(expected)
    assert [(row[3], row[2]) for row in result.rows] == [(row[3], row[2]) for row in expected]
    assert sorted(result.rows) == sorted(expected)


CHECKS = {
    "label_counts": check_label_counts,
    "alerts_per_day": check_alerts_per_day,
    "recent_alerts": check_recent_alerts,
}


# --- the data set itself ---------------------------------------------------------------------------


def test_data_set_is_realistic(records):
    assert len({r["dt"] for r in records}) == 5
    assert {r["label"] for r in records} >= {*LABELS, None}
    assert {r["status"] for r in records} == {"ok", "rejected"}
    assert 5 < sum(1 for r in records if r["alert"]) < 50
    assert any(r["geometry"] for r in records)
    assert any("<script>" in r["key"] for r in records)


# --- named queries ---------------------------------------------------------------------------------


def test_every_named_query_has_a_correctness_check():
    assert set(named_queries()) == set(CHECKS), "add an expected-answer check for each infra/queries file"


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_named_query_answers_match_the_records(engine, records, name):
    CHECKS[name](engine.run(named_query(name).sql), records)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_named_queries_return_no_rows_without_results(name):
    with LocalQueryEngine([]) as empty:
        result = empty.run(named_query(name).sql)
    assert result.rows == []
    assert result.columns  # the columns are still known


def test_named_query_metadata():
    queries = named_queries()
    assert list(queries) == sorted(queries)
    assert queries["label_counts"].description.startswith("Label mix")
    assert "FROM results" in queries["label_counts"].sql


def test_unknown_named_query_lists_the_known_ones():
    with pytest.raises(UnknownNamedQuery) as caught:
        named_query("nope")
    assert "label_counts" in str(caught.value)


# --- the table -------------------------------------------------------------------------------------


def test_table_answers_to_both_names(engine, records):
    plain = engine.run("SELECT count(*) FROM results").rows
    qualified = engine.run("SELECT count(*) FROM labelwatch.results").rows
    assert plain == qualified == [(len(records),)]
    assert engine.row_count == len(records)


def test_database_name_is_configurable(objects):
    with LocalQueryEngine(objects[:3], database="leaves_dev") as engine:
        assert engine.run('SELECT count(*) FROM "leaves_dev".results').rows[0][0] > 0
        with pytest.raises(QueryError):
            engine.run("SELECT count(*) FROM labelwatch.results")


def test_columns_and_types_are_the_glue_tables(engine):
    table = results_table()
    described = engine.describe()
    assert [row[0] for row in described] == [c.name for c in table.columns] + ["dt"]
    types = {row[0]: row[1] for row in described}
    assert types["uploaded_at"] == "VARCHAR"  # a string in Glue, so a string here
    assert types["confidence"] == "DOUBLE"
    assert types["width"] == "INTEGER"
    assert types["alert"] == "BOOLEAN"
    assert types["dt"] == "VARCHAR"
    assert (
        types["geometry"].replace('"', "") == "STRUCT(width DOUBLE, height DOUBLE, left DOUBLE, top DOUBLE)"
    )
    assert duckdb_type("struct<a:double,b:array<int>>") == 'STRUCT("a" DOUBLE, "b" INTEGER[])'


def test_the_query_engine_reads_the_stacks_schema_without_loading_the_cdk():
    """`labelwatch query` must not start Node.js: the schema and the queries come from CDK-free modules."""
    import subprocess
    import sys

    code = (
        "import sys, labelwatch.analytics.local_query, labelwatch.analytics.named_queries;"
        "print(sorted(m for m in sys.modules if m.startswith(('aws_cdk', 'jsii'))))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
    import infra.analytics as analytics  # the stack builds its Glue table from the same columns

    assert [(c.name, c.hive_type, c.comment) for c in results_table().columns] == list(
        analytics.RESULT_COLUMNS
    )
    assert {name: q.sql for name, q in named_queries().items()} == analytics.named_query_sql()


def test_empty_table_has_every_column():
    with LocalQueryEngine() as empty:
        result = empty.run("SELECT * FROM labelwatch.results")
    assert result.rows == []
    assert result.columns == [c.name for c in results_table().columns] + ["dt"]


def test_dt_comes_from_the_key_and_geometry_keys_match_case_insensitively(engine, records):
    rows = engine.run("SELECT dt, count(*) FROM results GROUP BY dt ORDER BY dt").rows
    assert rows == sorted(Counter(r["dt"] for r in records).items())
    boxes = engine.run("SELECT geometry.width, geometry.top FROM results WHERE geometry IS NOT NULL").rows
    assert boxes and all(row == (0.25, 0.1) for row in boxes)


def test_unicode_and_markup_in_keys_survive(engine):
    keys = {row[0] for row in engine.run("SELECT key FROM results").rows}
    assert set(ODD_KEYS) <= keys


def test_athena_functions_are_available(engine, records):
    result = engine.run(
        """
        SELECT
            count_if(date_format(from_iso8601_timestamp(uploaded_at), '%Y-%m-%d') = dt) AS same_day,
            count(*) AS total,
            approx_percentile(confidence, 0.5) AS median,
            approx_distinct(label) AS labels,
            min(to_iso8601(from_iso8601_timestamp(uploaded_at))) AS first_upload,
            max(date_parse(dt, '%Y-%m-%d')) AS last_day
        FROM results
        """
    )
    same_day, total, median, labels, first_upload, last_day = result.rows[0]
    assert same_day == total == len(records)
    confidences = sorted(r["confidence"] for r in records if r["confidence"] is not None)
    assert median in confidences
    assert labels == len(LABELS)
    first = min(r["uploaded_at"] for r in records)
    assert first_upload == first.replace("Z", ".000Z")
    assert last_day == datetime(2026, 11, 24)


def test_date_format_translates_mysql_specifiers():
    with LocalQueryEngine() as empty:
        row = empty.run(
            """
            SELECT
                date_format(from_iso8601_timestamp('2026-11-05T09:07:03Z'), '%Y/%c/%e %H:%i:%s %M %%i'),
                date_add('day', 2, from_iso8601_date('2026-11-05')),
                day_of_week(from_iso8601_date('2026-11-29'))
            """
        ).rows[0]
    assert row[0] == "2026/11/5 09:07:03 November %i"
    assert row[1].date().isoformat() == "2026-11-07"
    assert row[2] == 7  # Sunday, ISO numbering as in Athena


def test_sql_errors_come_out_as_query_errors(engine):
    with pytest.raises(QueryError) as caught:
        engine.run("SELECT no_such_column FROM results")
    assert "no_such_column" in caught.value.message
    assert caught.value.sql == "SELECT no_such_column FROM results"
    assert "no_such_column" in str(caught.value)
    assert "LINE 1" not in caught.value.message  # DuckDB's quote of its translation is left out


# --- Athena's SQL, not DuckDB's --------------------------------------------------------------------


def test_duckdb_only_syntax_is_refused(engine):
    with pytest.raises(QueryError, match=r"SELECT \* EXCLUDE/EXCEPT \(\.\.\.\) is DuckDB syntax"):
        engine.run("SELECT * EXCLUDE (geometry) FROM results")
    with pytest.raises(QueryError, match="a query that starts with FROM is DuckDB syntax"):
        engine.run("FROM results SELECT label")
    with pytest.raises(QueryError, match="function list_value is not an Athena function"):
        engine.run("SELECT list_value(label) FROM results")


def test_only_queries_run(engine, records):
    for statement in ("DROP TABLE results", "DELETE FROM results", "CREATE TABLE x AS SELECT 1"):
        with pytest.raises(
            QueryError, match=r"only queries .* are allowed; got (DROP TABLE|DELETE|CREATE TABLE)"
        ):
            engine.run(statement)
    with pytest.raises(QueryError, match=r"one statement at a time; got 2 \(SELECT; DROP TABLE\)"):
        engine.run("SELECT 1; DROP TABLE results")
    assert engine.run("SELECT count(*) AS n FROM results").rows == [(len(records),)]  # still all there


def test_columns_are_named_as_athena_names_them(engine):
    assert engine.run("SELECT count(*) FROM results").columns == ["_col0"]
    grouped = engine.run("SELECT label, count(*), max(confidence) AS top FROM results GROUP BY label")
    assert grouped.columns == ["label", "_col1", "top"]
    assert engine.run("SELECT results.key, geometry.width, upper(status) FROM results").columns == [
        "key",
        "width",
        "_col2",
    ]
    # numbered by position in the output, through SELECT * of a subquery, as in Trino
    nested = engine.run("SELECT *, 1 FROM (SELECT count(*), max(confidence) AS top FROM results)")
    assert nested.columns == ["_col0", "top", "_col2"]
    assert engine.run("VALUES (1, 'a'), (2, 'b')").as_dicts() == [
        {"_col0": 1, "_col1": "a"},
        {"_col0": 2, "_col1": "b"},
    ]
    assert engine.run("SELECT 1 UNION ALL SELECT 2 AS two").columns == ["_col0"]  # the first query's


def test_the_results_table_answers_to_athenas_names(engine, records):
    for table in ('"results"', "AwsDataCatalog.labelwatch.results", '"labelwatch"."results"'):
        assert engine.run(f"SELECT count(*) FROM {table}").rows == [(len(records),)]
    with pytest.raises(QueryError, match="table other does not exist"):
        engine.run("SELECT count(*) FROM other")


# --- result objects ----------------------------------------------------------------------------------


def test_parse_records_adds_dt_from_the_key(objects, records):
    parsed = parse_records(objects)
    assert parsed == records


def test_malformed_line_names_the_key_and_line():
    good = json.dumps({"image": "s3://b/a.jpg", "label": "x"})
    bad = ResultObject("results/dt=2026-11-25/abc.json", f"{good}\n{{not json\n".encode())
    with pytest.raises(ResultFormatError) as caught:
        parse_records([bad])
    assert caught.value.key == "results/dt=2026-11-25/abc.json"
    assert caught.value.line == 2
    assert "results/dt=2026-11-25/abc.json line 2" in str(caught.value)
    with pytest.raises(ResultFormatError, match="abc.json line 2"):
        LocalQueryEngine([bad])


def test_value_of_the_wrong_type_names_the_key_and_line():
    bad = ResultObject("results/dt=2026-11-25/abc.json", b'{"label": "x", "confidence": "very"}\n')
    with pytest.raises(ResultFormatError, match=r"abc.json line 1: column confidence"):
        LocalQueryEngine([bad])


def test_key_without_partition_is_an_error():
    with pytest.raises(ResultFormatError, match="dt="):
        parse_records([ResultObject("results/abc.json", b"{}\n")])


def test_iter_result_objects_lists_pages_and_skips_what_athena_would_not_read(objects):
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="results-bucket")
        for obj in objects[:5]:
            s3.put_object(Bucket="results-bucket", Key=obj.key, Body=obj.body)
        s3.put_object(Bucket="results-bucket", Key="results/dt=2026-11-20/_SUCCESS", Body=b"")
        s3.put_object(Bucket="results-bucket", Key="results/stray.json", Body=b"{}")
        s3.put_object(Bucket="results-bucket", Key="athena-results/q.csv", Body=b"a,b")
        found = list(iter_result_objects(s3, "results-bucket", page_size=2))
        with LocalQueryEngine.from_s3(s3, "results-bucket") as engine:
            count = engine.run("SELECT count(*) FROM results").rows[0][0]
    assert sorted(found, key=lambda o: o.key) == sorted(objects[:5], key=lambda o: o.key)
    assert count == len(flat_records(objects[:5]))
