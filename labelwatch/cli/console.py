"""The command's output: one rich console for people, plain stdout for machine formats.

Nothing a person copies (a link, an ARN, a path) is ever cut: both consoles soft-wrap (the
terminal wraps a long line, no newline is inserted), and tables are laid out wide enough for
their unbreakable cells. csv and json bypass rich entirely, so a pipe gets exactly the data.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.measure import Measurement
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

# A cell a person copies whole: a URL, an S3 URI, an ARN, an absolute path, or any long token.
_UNBREAKABLE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|arn:|/)\S*$|^\S{24,}$")


def write_out(text: str) -> None:
    """Machine output (csv, json): unstyled, unwrapped, straight to stdout."""
    sys.stdout.write(text)
    sys.stdout.flush()


def unbreakable(text: str) -> bool:
    return bool(_UNBREAKABLE.match(text))


KEPT_WORD = 24  # a word up to this long is never folded (a label beside a long ARN stays readable)


def table(columns: Sequence[str], rows: Sequence[Sequence[str]], *, title: str | None = None) -> Table:
    """A table whose link/ARN/path columns never wrap: they get the width of their longest cell.

    The other columns fold, but not inside a word of up to ``KEPT_WORD`` characters: without that
    floor, a table made as wide as its longest ARN left the label column one character wide.
    """
    result = Table(title=title, title_justify="left")
    for index, column in enumerate(columns):
        cells = [row[index] for row in rows]
        if any(unbreakable(cell) for cell in cells):
            result.add_column(column, no_wrap=True, min_width=max(len(cell) for cell in cells))
        else:
            words = [len(word) for text in (column, *cells) for word in str(text).split()]
            result.add_column(column, overflow="fold", min_width=min(KEPT_WORD, max(words, default=1)))
    for row in rows:
        result.add_row(*row)
    return result


def print_table(renderable: Table, *, out: Console | None = None) -> None:
    """Print at the terminal's width, or wider when unbreakable cells need it (never cropped)."""
    out = out or console
    needed = Measurement.get(out, out.options.update_width(1_000_000), renderable).minimum
    if needed <= out.width:
        out.print(renderable, crop=False)
        return
    # Console.print clamps its width= to the console's own width, so widen the console itself for
    # this table (else the foldable columns are squeezed to nothing beside the unbreakable ones)
    saved = out._width
    out.width = needed
    try:
        out.print(renderable, crop=False)
    finally:
        out._width = saved


def progress(*, transient: bool = False) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
    )
