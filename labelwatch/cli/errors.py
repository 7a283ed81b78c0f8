"""Exit codes scripts can rely on (also listed in the README)."""

from __future__ import annotations

OK = 0
FAILURE = 1  # something unexpected went wrong (a bug, or AWS said no)
USAGE = 2  # bad command line (click's own code)
NO_STACK = 3  # no local stack is running / the deployed stack was not found
BAD_INPUT = 4  # a dataset, SQL query, path or parameter that cannot be used
INCOMPLETE = 5  # the work did not finish: images without an outcome, a model not running


class CliError(Exception):
    """An error the user can act on: printed without a traceback, exits with ``code``."""

    def __init__(self, message: str, code: int = FAILURE, hint: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.hint = hint
