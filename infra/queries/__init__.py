"""The stack's Athena named queries, one ``.sql`` file each (no CDK import: the CLI reads them too).

The SQL names the table ``results`` and sticks to functions both Athena (Trino) and DuckDB have,
so the embedded stack runs the same files.
"""

from __future__ import annotations

from pathlib import Path

QUERIES_DIR = Path(__file__).parent


def named_query_sql() -> dict[str, str]:
    """The named queries by name (file stem)."""
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(QUERIES_DIR.glob("*.sql"))}


def description(sql: str) -> str:
    """The SQL file's leading ``--`` comment, as one line (Athena allows 1024 characters)."""
    lines = []
    for line in sql.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line.removeprefix("--").strip())
    return " ".join(lines)[:1024]
