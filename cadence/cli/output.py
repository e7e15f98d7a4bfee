"""How the `cadence` command prints: one Console setting for every group, tables never cut when piped."""

from __future__ import annotations

import datetime as dt

from rich.console import Console
from rich.table import Table

from tasks.errors import CadenceError


def console() -> Console:
    """Plain output: no markup, highlighting or emoji read into names and slugs."""
    return Console(highlight=False, markup=False, emoji=False)


def print_table(out: Console, table: Table) -> None:
    """Print a table in full: piped or redirected output is as wide as the table needs, never cut at 80 columns."""
    if out.is_terminal:
        out.print(table)
        return
    width = max(out.measure(table, options=out.options.update(max_width=10_000)).maximum, 40)
    Console(highlight=False, markup=False, emoji=False, width=width, file=out.file).print(table)


def short(text: str | None, width: int) -> str:
    """Text on one line, cut with an ellipsis at `width` characters."""
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def parse_day(value: str | None, option: str) -> dt.date | None:
    """A YYYY-MM-DD option value as a date (None stays None); anything else is a one-line error naming `option`."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CadenceError(f"{option} must be a date like 2026-11-25, got {value!r}") from None
