"""Athena's SQL, checked and translated for the local DuckDB engine.

A query that runs locally must run on Athena, so the local engine never hands the text to DuckDB as
it is: it parses it as Athena SQL, refuses what Athena would refuse, and executes sqlglot's DuckDB
rendering of the parsed query.

Dialect: sqlglot's ``athena`` dialect. It is not an alias of ``trino``: Athena routes DDL (CREATE
TABLE, DESCRIBE, SHOW, MSCK, ...) to its Hive engine and everything else (engine version 3) to its
Trino engine, and sqlglot's ``athena`` tokenizer/parser does the same routing. The queries this
module accepts are the Trino half, so it parses with that half, ``AthenaTrinoParser`` (Trino plus
Athena's ``UNLOAD`` and ``USING EXTERNAL FUNCTION``), subclassed to record the names of the
functions and types a query spells out.

What is refused, with a ``QueryError``:

- text that is not Athena SQL (a parse error, naming the line, column and token), and more or less
  than one statement;
- any statement but a query: ``SELECT``, ``WITH ... SELECT``, ``VALUES``, ``TABLE t`` and their
  ``UNION``/``INTERSECT``/``EXCEPT``. Also ``EXPLAIN``: locally it would show DuckDB's plan, not
  Athena's. And ``DESCRIBE``/``SHOW``: Athena runs them, but on its Hive engine;
- DuckDB syntax sqlglot's parser is lenient enough to accept: ``FROM``-first queries, ``SELECT *
  EXCLUDE/EXCEPT/REPLACE/RENAME``, ``::`` casts, ``==``, ``[1, 2]`` lists and ``{'k': v}``
  structs, ``:=`` named arguments, ``$1`` parameters, ``ILIKE``, ``SIMILAR TO``, ``DISTINCT ON``,
  ``GROUP BY ALL``, ``UNION BY NAME``, ``PIVOT``, ``USING SAMPLE``, ``LIMIT n%``, ``ASOF``/
  ``POSITIONAL``/``SEMI``/``ANTI`` joins and a ``JOIN`` without ``ON``/``USING``;
- a function or type Athena does not have (``athena_names``), e.g. ``list_value``, ``strftime``,
  ``read_csv``, ``CAST(x AS string)``, and a reserved word used unquoted as a name
  (``geometry.left``; Athena needs ``geometry."left"``);
- a select-list alias used in ``WHERE``, ``GROUP BY``, ``HAVING`` or the select list itself, which
  DuckDB resolves and Athena does not (checked where the columns of every source are known);
- a table other than the results table: ``results``, ``<database>.results``,
  ``AwsDataCatalog.<database>.results`` (any quoting or case), or a ``WITH`` query's name.

The functions ``athena_compat`` defines as DuckDB macros are parsed as plain calls, so sqlglot
leaves their names and arguments alone and the macro (tested in ``test_analytics_query.py``) is
the one definition. sqlglot's own translation would turn ``approx_percentile`` into DuckDB's
approximate (not deterministic) ``approx_quantile``, and ``date_format(t, f)`` into ``strftime``
with the format translated only when it is a literal, and then ``%%i`` wrongly to ``%%M``. Every
other function is sqlglot's Trino-to-DuckDB translation.

Column names, as Athena gives them: an output column that is not a column reference and has no
alias is ``_col<N>``, ``N`` its 0-based position in the output (``SELECT label, count(*)`` gives
``label, _col1``), as in Trino's planner. Such projections get a placeholder alias in the DuckDB
text and ``athena_column_names`` turns the placeholders DuckDB reports back into ``_col<N>``; so
``SELECT *`` over a subquery with unnamed columns numbers them as Athena does.

Known gaps. Names and syntax are checked, not meanings, so a query passing here can still fail on
Athena, or give other results: no typing is done (implicit casts DuckDB makes and Trino does not,
``'1' + 1``); a function both engines have under one name may behave differently (``format`` takes
Java's placeholders in Athena and ``{}`` in DuckDB, ``typeof`` spells types differently,
``approx_*`` are exact here); the function list is current Trino's, so a few of the newest names
pass here and are missing from Athena's engine 3, while a listed function DuckDB lacks (and
``athena_compat`` does not define) fails here and runs on Athena. The alias check is skipped over
``UNNEST`` and ``SELECT *`` subqueries, and ignores correlated references; a ``WITH`` name counts as
a table anywhere in the query. Function calls qualified with a catalog or schema are not checked.
Locally refused though Athena runs them: ``information_schema`` and other tables, ``EXPLAIN``,
``DESCRIBE``/``SHOW``, ``?`` parameters (Athena's ``EXECUTE ... USING``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlglot import exp
from sqlglot.dialects.athena import Athena
from sqlglot.errors import ErrorLevel, ParseError, TokenError, UnsupportedError
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.parsers.athena import AthenaTrinoParser
from sqlglot.tokens import Token, TokenType

from . import athena_compat
from .athena_names import is_athena_function, is_athena_type, is_reserved
from .query_types import QueryError

CATALOG = "awsdatacatalog"
ONLY_QUERIES = "only queries (SELECT, WITH ... SELECT, VALUES, TABLE, UNION/INTERSECT/EXCEPT) are allowed"

_FUNCTION_META = "athena_function"
_TYPE_META = "athena_type"
_UNNAMED_PREFIX = "__athena_unnamed_"
_UNNAMED = re.compile(re.escape(_UNNAMED_PREFIX) + r"\d+")

# Athena functions athena_compat defines: parsed as plain calls, so the macro is what runs.
_PASS_THROUGH = {name.upper() for name in (*athena_compat.MACROS, *athena_compat.PYTHON_FUNCTIONS)}

_QUERY_STARTS = {TokenType.SELECT, TokenType.WITH, TokenType.VALUES, TokenType.TABLE, TokenType.L_PAREN}


class _RefusedSyntax(Exception):
    def __init__(self, message: str, token: Token | None = None) -> None:
        self.message = message
        self.token = token
        super().__init__(message)


class _QueryParser(AthenaTrinoParser):
    """Athena's Trino parser, minus the DuckDB syntax sqlglot's base parser also accepts."""

    FUNCTIONS = {
        name: build for name, build in AthenaTrinoParser.FUNCTIONS.items() if name not in _PASS_THROUGH
    }

    def _parse_function_call(self, *args: Any, **kwargs: Any) -> exp.Expr | None:
        token = self._curr
        call = token is not None and self._next is not None and self._next.token_type == TokenType.L_PAREN
        result = super()._parse_function_call(*args, **kwargs)
        if call and isinstance(result, exp.Expr):
            result.meta[_FUNCTION_META] = (token.text, token.start)
        return result

    def _parse_types(self, *args: Any, **kwargs: Any) -> exp.Expr | None:
        token = self._curr
        result = super()._parse_types(*args, **kwargs)
        if token is not None and isinstance(result, exp.DataType):
            result.meta[_TYPE_META] = (token.text, token.start)
        return result

    def _parse_select_query(self, *args: Any, **kwargs: Any) -> exp.Expr | None:
        start = self._curr
        query = super()._parse_select_query(*args, **kwargs)
        if start is not None and start.token_type == TokenType.FROM and isinstance(query, exp.Query):
            raise _RefusedSyntax(
                "a query that starts with FROM is DuckDB syntax; Athena's starts with SELECT", start
            )
        return query

    def _parse_join(self, *args: Any, **kwargs: Any) -> exp.Join | None:
        start = self._curr
        join = super()._parse_join(*args, **kwargs)
        if (
            join is not None
            and start is not None
            and start.token_type != TokenType.COMMA
            and not join.args.get("on")
            and not join.args.get("using")
            and join.kind != "CROSS"
            and join.method != "NATURAL"
        ):
            raise _RefusedSyntax("a JOIN needs ON or USING in Athena (or write CROSS JOIN)", start)
        return join

    def _parse_bracket(self, this: exp.Expr | None = None) -> exp.Expr | None:
        token = self._curr
        if (
            this is None
            and token is not None
            and token.token_type in (TokenType.L_BRACKET, TokenType.L_BRACE)
        ):
            kind = "a [...] list" if token.token_type == TokenType.L_BRACKET else "a {...} struct"
            raise _RefusedSyntax(
                f"{kind} is DuckDB syntax; Athena writes ARRAY[...], MAP(...) or ROW(...)", token
            )
        return super()._parse_bracket(this)


class _AthenaQueries(Athena):
    Parser = _QueryParser


_DIALECT = _AthenaQueries()

# Tokens Trino's grammar has no use for.
_REFUSED_TOKENS: dict[TokenType, str] = {
    TokenType.DCOLON: "'::' casts are DuckDB syntax; Athena writes CAST(x AS type)",
    TokenType.COLON_EQ: "':=' is DuckDB syntax",
    TokenType.PARAMETER: "parameters are not supported",
    TokenType.PLACEHOLDER: "parameters are not supported",
}


@dataclass(frozen=True)
class Translation:
    athena: exp.Expr  # the parsed query, as Athena reads it
    duckdb_sql: str  # what the local engine executes


def translate(sql: str, *, database: str, table: str = "results", columns: Iterable[str] = ()) -> Translation:
    """Parse ``sql`` as one Athena query over ``table`` (whose ``columns`` are known, if given);
    raise ``QueryError`` for anything else."""
    tokens = _tokenize(sql)
    statements = _split_statements(tokens)
    if not statements:
        raise QueryError("no query given", sql)
    if len(statements) > 1:
        kinds = "; ".join(_describe(statement) for statement in statements)
        raise QueryError(f"one statement at a time; got {len(statements)} ({kinds})", sql)
    (statement,) = statements
    if statement[0].token_type not in _QUERY_STARTS and statement[0].token_type != TokenType.FROM:
        raise QueryError(f"{ONLY_QUERIES}; got {_describe(statement)}", sql)
    for token in statement:
        if token.token_type in _REFUSED_TOKENS:
            raise QueryError(_at(_REFUSED_TOKENS[token.token_type], token, sql), sql)
        if token.token_type == TokenType.EQ and token.text == "==":
            raise QueryError(_at("'==' is DuckDB syntax; Athena compares with '='", token, sql), sql)
    tree = _parse(sql, statement)
    if not isinstance(tree, exp.Query | exp.Values):  # e.g. WITH ... INSERT
        raise QueryError(f"{ONLY_QUERIES}; got {tree.key.upper()}", sql)
    _check(tree, sql, database=database, table=table, columns={name.lower() for name in columns})
    duckdb_tree = _for_duckdb(tree.copy())
    try:
        duckdb_sql = duckdb_tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as error:
        raise QueryError(f"cannot run this query locally: {error}", sql) from None
    return Translation(athena=tree, duckdb_sql=duckdb_sql)


def athena_column_names(names: list[str]) -> list[str]:
    """DuckDB's column names for a translated query, as Athena names them."""
    return [f"_col{index}" if _UNNAMED.fullmatch(name) else name for index, name in enumerate(names)]


# --- parsing -----------------------------------------------------------------------------------------


def _tokenize(sql: str) -> list[Token]:
    try:
        tokens = _DIALECT.tokenize(sql)
    except TokenError as error:
        raise QueryError(f"cannot read the query as Athena SQL: {error}", sql) from None
    # Athena's DDL goes to its Hive engine; sqlglot marks such a statement with a leading marker.
    return [token for token in tokens if token.token_type != TokenType.HIVE_TOKEN_STREAM]


def _split_statements(tokens: list[Token]) -> list[list[Token]]:
    statements: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            statements.append([])
        else:
            statements[-1].append(token)
    return [statement for statement in statements if statement]


def _parse(sql: str, statement: list[Token]) -> exp.Expr:
    parser = _DIALECT.parser()
    try:
        (tree,) = parser.parse(statement, sql)
    except _RefusedSyntax as refused:
        raise QueryError(_at(refused.message, refused.token, sql), sql) from None
    except ParseError as error:
        raise QueryError(_parse_error_message(error), sql) from None
    assert tree is not None
    return tree


def _parse_error_message(error: ParseError) -> str:
    if not error.errors:
        return f"not Athena SQL: {error}"
    first = error.errors[0]
    description = _readable(str(first.get("description") or "syntax error"))
    near = (first.get("highlight") or "").strip()
    line, end_column = first.get("line"), first.get("col")  # sqlglot gives the token's last column
    column = end_column - len(near) + 1 if isinstance(end_column, int) and "\n" not in near else end_column
    where = f"line {line}, column {column}"
    return f"not Athena SQL: {description} at {where}" + (f" (near {near!r})" if near else "")


def _readable(description: str) -> str:
    """sqlglot's wording without its internals (token reprs, expression class paths)."""
    description = re.sub(r"<Token token_type: TokenType\.SENTINEL[^>]*>", "the end of the query", description)
    description = re.sub(r"<Token token_type: [^,]*, text: (.*?), line: [^>]*>", r"'\1'", description)
    return re.sub(r"<class 'sqlglot\.expressions\.(?:\w+\.)*(\w+)'>", r"\1", description)


def _at(message: str, token: Token | None, sql: str) -> str:
    if token is None:
        return message
    return f"{message} ({_place(sql, token.start)}: {token.text!r})"


def _place(sql: str, offset: int) -> str:
    """``line L, column C`` of a character offset (both from 1)."""
    line = sql.count("\n", 0, offset) + 1
    column = offset - (sql.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


_TWO_WORD_STATEMENTS = {"CREATE", "DROP", "ALTER", "SHOW", "TRUNCATE", "MSCK", "EXPLAIN", "INSERT"}


def _describe(statement: list[Token]) -> str:
    """A statement's leading keywords, e.g. ``DROP TABLE``, ``CREATE OR REPLACE VIEW``."""
    words = [statement[0].text.upper()]
    if words[0] in _TWO_WORD_STATEMENTS:
        for token in statement[1:4]:
            if token.token_type in (
                TokenType.IDENTIFIER,
                TokenType.STRING,
                TokenType.NUMBER,
                TokenType.L_PAREN,
            ):
                break
            words.append(token.text.upper())
            if words[-1] not in ("OR", "REPLACE", "EXTERNAL", "TEMP", "TEMPORARY", "ANALYZE"):
                break
    return " ".join(words)


# --- checks ------------------------------------------------------------------------------------------


def _check(tree: exp.Expr, sql: str, *, database: str, table: str, columns: set[str]) -> None:
    def refuse(message: str, node: exp.Expr | None = None, offset: int | None = None) -> None:
        if offset is None and node is not None:
            offset = _start(node)
        raise QueryError(message + (f" ({_place(sql, offset)})" if offset is not None else ""), sql)

    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for node in tree.walk():
        function = node.meta.get(_FUNCTION_META)
        if function and not is_athena_function(function[0]):
            refuse(f"function {function[0]} is not an Athena function", offset=function[1])
        type_name = node.meta.get(_TYPE_META) if isinstance(node, exp.DataType) else None
        if type_name and not is_athena_type(type_name[0]):
            refuse(f"type {type_name[0]} is not an Athena type", offset=type_name[1])
        for check in _NODE_CHECKS:
            problem = check(node)
            if problem:
                refuse(problem, node)
        if isinstance(node, exp.Table):
            _check_table(node, refuse, database=database, table=table, cte_names=cte_names)
    _check_alias_references(tree, refuse, table=table, columns=columns)


def _start(node: exp.Expr) -> int | None:
    """Where a node starts in the query: its first token sqlglot placed."""
    starts = [part.meta["start"] for part in node.walk() if "start" in part.meta]
    return min(starts) if starts else None


def _star_modifiers(node: exp.Expr) -> str | None:
    if isinstance(node, exp.Star):
        for arg in ("except_", "replace", "rename", "ilike"):
            if node.args.get(arg):
                word = "EXCLUDE/EXCEPT" if arg == "except_" else arg.upper()
                return f"SELECT * {word} (...) is DuckDB syntax; Athena lists the columns it wants"
    if isinstance(node, exp.Select) and node.args.get("exclude"):
        return "SELECT * EXCLUDE (...) is DuckDB syntax; Athena lists the columns it wants"
    return None


# Select clauses of other dialects sqlglot's parser may fill in: not Trino's.
_FOREIGN_SELECT_CLAUSES = (
    "into", "prewhere", "qualify", "connect", "distribute", "sort", "cluster", "locks", "settings",
    "format", "options", "for_", "operation_modifiers", "kind", "hint", "match",
)  # fmt: skip


def _foreign_clauses(node: exp.Expr) -> str | None:
    if isinstance(node, exp.Select):
        for arg in _FOREIGN_SELECT_CLAUSES:
            if node.args.get(arg):
                return f"this SELECT has a clause Athena does not have ({arg.rstrip('_').upper()})"
    return None


def _duckdb_operators(node: exp.Expr) -> str | None:
    if isinstance(node, exp.ILike):
        return "ILIKE is not in Athena; use lower(x) LIKE '...'"
    if isinstance(node, exp.SimilarTo):
        return "SIMILAR TO is not in Athena; use regexp_like"
    if isinstance(node, exp.Distinct) and node.args.get("on"):
        return "DISTINCT ON is not in Athena"
    if isinstance(node, exp.Group) and node.args.get("all") and not node.expressions:
        return "GROUP BY ALL (every non-aggregate column) is DuckDB syntax; Athena lists the columns"
    if isinstance(node, exp.SetOperation) and node.args.get("by_name"):
        return "UNION BY NAME is DuckDB syntax"
    if isinstance(node, exp.Pivot):
        return "PIVOT/UNPIVOT is not in Athena"
    if isinstance(node, exp.Join):
        words = {str(node.args.get(arg) or "").upper() for arg in ("method", "kind", "side")}
        unsupported = words & {"ASOF", "POSITIONAL", "SEMI", "ANTI", "APPLY"}
        if unsupported:
            return f"{' '.join(sorted(unsupported))} JOIN is not in Athena"
    return None


def _duckdb_clauses(node: exp.Expr) -> str | None:
    if isinstance(node, exp.Parameter | exp.Placeholder) or (
        isinstance(node, exp.Identifier) and not node.quoted and node.name.startswith("$")
    ):
        return "parameters ($1, ?) are not supported"
    if isinstance(node, exp.Select) and node.args.get("sample"):
        return "USING SAMPLE is DuckDB syntax; Athena writes TABLESAMPLE BERNOULLI (p) after the table"
    if isinstance(node, exp.TableSample) and str(node.args.get("method") or "").upper() not in (
        "BERNOULLI",
        "SYSTEM",
    ):
        return "Athena's TABLESAMPLE takes BERNOULLI or SYSTEM and a percentage"
    if (
        isinstance(node, exp.Limit)
        and (options := node.args.get("limit_options"))
        and options.args.get("percent")
    ):
        return "LIMIT ... PERCENT is not in Athena"
    if isinstance(node, exp.HistoricalData | exp.Version):
        return "the results table has no versions to travel to"
    return None


def _reserved_words(node: exp.Expr) -> str | None:
    if isinstance(node, exp.Identifier) and not node.quoted and is_reserved(node.name):
        return f'{node.name} is a reserved word in Athena; as a name it is written "{node.name}"'
    return None


_NODE_CHECKS: tuple[Callable[[exp.Expr], str | None], ...] = (
    _star_modifiers,
    _foreign_clauses,
    _duckdb_operators,
    _duckdb_clauses,
    _reserved_words,
)


def _check_alias_references(
    tree: exp.Expr, refuse: Callable[..., None], *, table: str, columns: set[str]
) -> None:
    """Trino resolves a name in WHERE, GROUP BY, HAVING or the select list against the FROM sources
    only; DuckDB also against the select list's aliases. Refuse a name that only an alias explains.
    Checked where every source's columns are known (the results table, subqueries without ``*``)."""
    for scope in traverse_scope(tree):
        select = scope.expression
        if not isinstance(select, exp.Select):
            continue
        aliases = {
            projection.alias.lower(): projection
            for projection in select.expressions
            if isinstance(projection, exp.Alias)
        }
        if not aliases:
            continue
        source_columns = _source_columns(scope, table=table, columns=columns)
        if source_columns is None:
            continue
        for column in select.find_all(exp.Column):
            name = column.name.lower()
            if column.table or name not in aliases or name in source_columns:
                continue
            if column.find_ancestor(exp.Select) is not select:
                continue  # a subquery's own scope
            clause = column.find_ancestor(exp.Where, exp.Group, exp.Having, exp.Order, exp.Alias, exp.Select)
            if isinstance(clause, exp.Order):
                continue  # ORDER BY may name an output column, in Athena too
            if isinstance(clause, exp.Alias) and clause is aliases[name]:
                continue
            where = {exp.Where: "WHERE", exp.Group: "GROUP BY", exp.Having: "HAVING"}.get(
                type(clause), "the select list"
            )
            refuse(
                f"{column.name} in {where} names a select-list alias; Athena resolves names against the "
                f"FROM tables only (repeat the expression, or select from a subquery)",
                column,
            )


def _source_columns(scope: Scope, *, table: str, columns: set[str]) -> set[str] | None:
    found: set[str] = set()
    for source in scope.sources.values():
        if isinstance(source, exp.Table) and source.name.lower() == table.lower() and columns:
            found |= columns
        elif isinstance(source, Scope) and isinstance(source.expression, exp.Query):
            names = source.expression.named_selects
            if "*" in names or not names:
                return None
            found |= {name.lower() for name in names}
        else:
            return None
    return found


def _check_table(
    node: exp.Table, refuse: Callable[..., None], *, database: str, table: str, cte_names: set[str]
) -> None:
    if not isinstance(node.this, exp.Identifier):
        refuse("only the results table can be read (no table functions)", node)
    name, db, catalog = node.name.lower(), node.db.lower(), node.catalog.lower()
    if not db and not catalog and name in cte_names:
        return
    if name == table.lower() and db in ("", database.lower()) and catalog in ("", CATALOG):
        return
    shown = ".".join(part for part in (node.catalog, node.db, node.name) if part)
    refuse(f"table {shown} does not exist; the table is {table} (or {database}.{table})", node)


# --- DuckDB text -------------------------------------------------------------------------------------


def _for_duckdb(tree: exp.Expr) -> exp.Expr:
    """The parsed query, made ready for DuckDB: no catalog on the table, placeholder names on the
    columns Athena leaves unnamed."""
    for node in list(tree.find_all(exp.Table)):
        if node.args.get("catalog"):
            node.set("catalog", None)
    counter = iter(range(1_000_000_000))

    def unnamed() -> str:
        return f"{_UNNAMED_PREFIX}{next(counter)}"

    for select in list(tree.find_all(exp.Select)):
        select.set(
            "expressions",
            [
                projection if _is_named(projection) else exp.alias_(projection, unnamed(), quoted=True)
                for projection in select.expressions
            ],
        )
    for values in list(tree.find_all(exp.Values)):
        alias = values.args.get("alias")
        if alias is not None and alias.columns:
            continue
        first = values.expressions[0] if values.expressions else None
        width = len(first.expressions) if isinstance(first, exp.Tuple) else 1
        name = alias.name if alias is not None and alias.name else "_values"
        values.set(
            "alias",
            exp.TableAlias(
                this=exp.to_identifier(name),
                columns=[exp.to_identifier(unnamed(), quoted=True) for _ in range(width)],
            ),
        )
        if not isinstance(values.parent, exp.From | exp.Join):  # a query of its own: SELECT * FROM it
            wrapped = exp.Select(expressions=[exp.Star()]).from_(values.copy(), copy=False)
            if values is tree:
                tree = wrapped
            else:
                values.replace(wrapped)
    return tree


def _is_named(projection: exp.Expr) -> bool:
    """Whether Trino names this select-list item: an alias, a column (``a``, ``t.a``, ``row.field``),
    or ``*`` (whose columns keep the names they have)."""
    while isinstance(projection, exp.Paren):
        projection = projection.this
    return isinstance(projection, exp.Alias | exp.Column | exp.Dot | exp.Star)
