"""Analytics over the detection results: Athena's SQL locally (DuckDB) or on Athena, and an offline
HTML report.

    objects = iter_result_objects(s3, results_bucket)            # or [ResultObject(key, body), ...]
    with LocalQueryEngine(objects, database="labelwatch") as engine:
        result = engine.run(named_query("label_counts").sql)     # QueryResult(columns, rows)
    result = run_athena_query(sql, athena, workgroup="labelwatch", database="labelwatch")
    html = build_report(parse_records(objects), thumbnails=fetch, title=..., generated_at=...)
"""

from .athena_query import run_athena_query
from .local_query import DEFAULT_DATABASE, LocalQueryEngine
from .named_queries import NamedQuery, UnknownNamedQuery, named_queries, named_query
from .query_types import QueryError, QueryResult
from .report import build_report, write_report
from .results_source import ResultFormatError, ResultObject, iter_result_objects, parse_records

__all__ = [
    "DEFAULT_DATABASE",
    "LocalQueryEngine",
    "NamedQuery",
    "QueryError",
    "QueryResult",
    "ResultFormatError",
    "ResultObject",
    "UnknownNamedQuery",
    "build_report",
    "iter_result_objects",
    "named_queries",
    "named_query",
    "parse_records",
    "run_athena_query",
    "write_report",
]
