"""Record values -> the Glue column types, the way Athena's JSON SerDe reads them.

Missing fields are NULL, unknown fields are ignored, struct field names match case-insensitively
(records keep Rekognition's ``Width``/``Left``...; the table says ``width``/``left``), numbers in a
string column read as their text. A value that cannot be read as its column's type is an error (in
Athena the query would fail with HIVE_BAD_DATA).
"""

from __future__ import annotations

import json
import math
from typing import Any


class CoercionError(ValueError):
    pass


def coerce(value: Any, parsed_type: Any, column: str) -> Any:
    """``value`` read as ``parsed_type`` (from ``glue_schema.parse_hive_type``)."""
    if value is None:
        return None
    if isinstance(parsed_type, tuple):
        return _coerce_complex(value, parsed_type, column)
    if parsed_type in ("string", "varchar", "char"):
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return json.dumps(value, ensure_ascii=False)
    if parsed_type in ("double", "float") or parsed_type.startswith("decimal"):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif parsed_type in ("int", "integer", "bigint", "smallint", "tinyint"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            return int(value)
    elif parsed_type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    else:  # date, timestamp...: as text, DuckDB casts
        return value if isinstance(value, str) else json.dumps(value)
    raise CoercionError(
        f"column {column}: {json.dumps(value, ensure_ascii=False)[:80]} is not a {parsed_type}"
    )


def _coerce_complex(value: Any, parsed_type: tuple, column: str) -> Any:
    kind = parsed_type[0]
    if kind == "struct":
        if not isinstance(value, dict):
            raise CoercionError(f"column {column}: expected an object, got {type(value).__name__}")
        by_lower = {str(name).lower(): item for name, item in value.items()}
        return {name: coerce(by_lower.get(name), sub, f"{column}.{name}") for name, sub in parsed_type[1]}
    if kind == "array":
        if not isinstance(value, list):
            raise CoercionError(f"column {column}: expected an array, got {type(value).__name__}")
        return [coerce(item, parsed_type[1], f"{column}[]") for item in value]
    if not isinstance(value, dict):
        raise CoercionError(f"column {column}: expected an object, got {type(value).__name__}")
    return {str(k): coerce(v, parsed_type[2], f"{column}{{}}") for k, v in value.items()}
