"""The stack's named queries (``infra/queries/*.sql``, the same files the stack saves in Athena)."""

from __future__ import annotations

from dataclasses import dataclass

from infra.queries import description, named_query_sql


@dataclass(frozen=True)
class NamedQuery:
    name: str  # the file stem, as in the Athena console
    description: str  # the SQL's leading comment
    sql: str


class UnknownNamedQuery(LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"no named query {name!r}; known: {', '.join(known) or '(none)'}")


def named_queries() -> dict[str, NamedQuery]:
    """By name, sorted: the files the stack saves in Athena."""
    return {
        name: NamedQuery(name=name, description=description(sql), sql=sql)
        for name, sql in named_query_sql().items()
    }


def named_query(name: str) -> NamedQuery:
    queries = named_queries()
    try:
        return queries[name]
    except KeyError:
        raise UnknownNamedQuery(name, list(queries)) from None
