"""`cadence import`: load a platform export into an account."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cadence.wiring import ready_engine
from models.enums import Platform

if TYPE_CHECKING:
    from tasks.ingest import ImportReport

out = Console(highlight=False)
SHOWN_EXAMPLES = 5


def import_command(
    file: Path = typer.Argument(..., help="CSV, XLSX or Parquet export", show_default=False),
    platform: str = typer.Option(
        ..., "--platform", "-p", help=f"column mapping: {', '.join(p.value for p in Platform)}"
    ),
    account: str = typer.Option(..., "--account", "-a", help="the account's external id (`cadence account list`)"),
    known_campaigns_only: bool = typer.Option(
        False, "--known-campaigns-only", help="quarantine rows of campaigns not in the account instead of adding them"
    ),
) -> None:
    """Import a platform export: every row loaded, quarantined with a reason, or a duplicate."""
    # Imported here so that pandas loads only for an import, not for every `cadence` command.
    from tasks.ingest import import_file

    report = import_file(ready_engine(), file, platform=platform, account=account,
                         known_campaigns_only=known_campaigns_only)
    show(report)


def show(report: ImportReport) -> None:
    """Print the import report: counts that add up, reasons with counts, the first quarantined rows."""
    name, account = escape(report.file_name), escape(report.account)
    if report.already_imported:
        out.print(f"{name} was already imported into {report.platform} account {account} "
                  f"as batch {report.batch_id}: nothing changed. That import:", soft_wrap=True)
    else:
        days = f"; days {report.first_day} to {report.last_day}" if report.first_day else ""
        out.print(f"[bold]{name}[/] → {report.platform} account {account}, batch {report.batch_id}", soft_wrap=True)
        out.print(f"read as {escape(report.source)}{days}", soft_wrap=True)
    counts = Table(show_header=False, box=None, padding=(0, 2, 0, 2))
    counts.add_row("rows in", str(report.rows_in))
    counts.add_row("loaded", f"{report.loaded} ({report.inserted} new, {report.updated} updated)")
    counts.add_row("quarantined", str(report.quarantined))
    counts.add_row("duplicates", str(report.duplicates))
    counts.add_row("campaigns created", str(report.campaigns_created))
    out.print(counts)
    check = "" if report.reconciles else "  [bold red](does not add up)[/]"
    out.print(f"{report.rows_in} rows in = {report.loaded} loaded + {report.quarantined} quarantined "
              f"+ {report.duplicates} duplicates{check}", soft_wrap=True)
    if report.summed_over:
        out.print(f"rows summed per campaign and day over: {escape(', '.join(report.summed_over))}", soft_wrap=True)
    if report.reasons:
        reasons = Table("quarantine reason", "rows", box=None, padding=(0, 2, 0, 2))
        for reason, rows in report.reasons.items():
            reasons.add_row(escape(reason), str(rows))
        out.print(reasons)
    if report.examples:
        examples = Table("row", "reason", "values in the file", box=None, padding=(0, 2, 0, 2))
        for example in report.examples[:SHOWN_EXAMPLES]:
            examples.add_row(str(example.row), escape(example.reason), escape(_cells(example.raw)))
        out.print(examples)
        if report.quarantined > SHOWN_EXAMPLES:
            out.print(f"… and {report.quarantined - SHOWN_EXAMPLES} more quarantined rows in batch {report.batch_id}")


def _cells(raw: dict[str, Any], limit: int = 100) -> str:
    text = "; ".join(f"{k}={v}" for k, v in raw.items() if v not in (None, ""))
    return text if len(text) <= limit else text[: limit - 1] + "…"
