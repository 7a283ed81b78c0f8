"""The stack's named queries (``infra/queries/*.sql``, the same files the stack saves in Athena)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files


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


def _description(sql: str) -> str:
    lines = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line.removeprefix("--").strip())
    return " ".join(lines)


def named_queries() -> dict[str, NamedQuery]:
    """By name, sorted, read from the ``infra`` package's ``queries`` folder."""
    folder = files("infra").joinpath("queries")
    found = sorted(
        (item for item in folder.iterdir() if item.name.endswith(".sql")), key=lambda item: item.name
    )
    queries = {}
    for item in found:
        sql = item.read_text(encoding="utf-8")
        name = item.name.removesuffix(".sql")
        queries[name] = NamedQuery(name=name, description=_description(sql), sql=sql)
    return queries


def named_query(name: str) -> NamedQuery:
    queries = named_queries()
    try:
        return queries[name]
    except KeyError:
        raise UnknownNamedQuery(name, list(queries)) from None
