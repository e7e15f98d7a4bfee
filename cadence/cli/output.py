"""How the `cadence` command prints: one Console setting for every group, tables never cut when piped."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


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
