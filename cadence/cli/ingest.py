"""`cadence import`: load a platform export into an account."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from models.enums import Platform
from tasks.errors import CadenceError
from tasks.resources import ready_engine

if TYPE_CHECKING:
    from tasks.ingest.write import ImportReport

out = Console(highlight=False)
SHOWN_EXAMPLES = 5


def import_command(
    file: Path | None = typer.Argument(None, help="CSV, XLSX or Parquet export", show_default=False),
    platform: str | None = typer.Option(
        None, "--platform", "-p", help=f"column mapping: {', '.join(p.value for p in Platform)}"
    ),
    account: str | None = typer.Option(
        None, "--account", "-a", help="the account's external id (`cadence account list`)"
    ),
    known_campaigns_only: bool = typer.Option(
        False, "--known-campaigns-only", help="quarantine rows of campaigns not in the account instead of adding them"
    ),
    maps: list[str] = typer.Option(
        [], "--map", "-m", help='say which column is which: --map "Amount Spent=spend" (repeatable); fields: '
        "day, campaign_id, campaign_name, impressions, clicks, spend, conversions, conversion_value, "
        "or segment (summed over) / ignore"
    ),
    save_mapping: bool = typer.Option(
        False, "--save-mapping", help="keep the --map values for this account's later imports"
    ),
    date_format: str | None = typer.Option(
        None, "--date-format", help="how the day column writes dates, as for strftime: %d.%m.%Y, %b %d, …"
    ),
    year: int | None = typer.Option(None, "--year", help="the year of dates written without one (24.11, Nov 24)"),
    rates: list[str] = typer.Option(
        [], "--rate", help="convert money named in another currency: --rate EUR=98.5 (account currency per EUR)"
    ),
    show_mapping: str | None = typer.Option(
        None, "--show-mapping", metavar="PLATFORM", help="print the header names accepted for PLATFORM and exit"
    ),
) -> None:
    """Import a platform export: every row loaded, quarantined with a reason, or a duplicate."""
    # Imported here so that pandas loads only for an import, not for every `cadence` command.
    from tasks.ingest.map import parse_map, parse_rates
    from tasks.ingest.write import import_file

    if show_mapping is not None:
        print_mapping(show_mapping)
        return
    if file is None or platform is None or account is None:
        missing = [n for n, v in (("FILE", file), ("--platform", platform), ("--account", account)) if v is None]
        raise CadenceError(f"`cadence import` needs {', '.join(missing)} (or --show-mapping PLATFORM)")
    if year is not None and not 2000 <= year <= 2100:
        raise CadenceError(f"--year {year} is not a year Cadence keeps data for (2000–2100)")
    mapping = parse_map(maps)
    if save_mapping and not mapping:
        raise CadenceError('--save-mapping saves --map values: give at least one --map "HEADER=field"')
    engine = ready_engine()
    report = import_file(engine, file, platform=platform, account=account,
                         known_campaigns_only=known_campaigns_only, mapping=mapping, year=year,
                         date_format=date_format, rates=parse_rates(rates))
    show(report)
    if save_mapping:
        from cadence.cli.accounts import store_mapping

        store_mapping(engine, account, platform, mapping)
        out.print(f"mapping saved for account {escape(account)}: later imports use it without --map", soft_wrap=True)
    if report.nothing_loaded:
        raise CadenceError(f"nothing loaded from {report.file_name}: {report.nothing_loaded}")


def print_mapping(platform: str) -> None:
    """The header names each field accepts for a platform, as `--show-mapping` prints them."""
    from tasks.ingest.map import check_platform, describe_mapping

    name = check_platform(platform)
    table = Table("field", "accepted headers (case, spaces, _ and a currency note in any brackets ignored)",
                  box=None, padding=(0, 2, 0, 0))
    for field, aliases in describe_mapping(name):
        table.add_row(field, escape(", ".join(aliases)))
    out.print(f"[bold]{name}[/] headers, tried before every other platform's; any other column is named with "
              f"--map \"HEADER=field\" (docs/imports.md)", soft_wrap=True)
    out.print(table)


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
    if report.columns:
        read = ", ".join(f"{h} → {f}" for h, f in report.columns.items())
        out.print(f"columns read: {escape(read)}", soft_wrap=True)
    if report.summed_over:
        out.print(f"rows summed per campaign and day over: {escape(', '.join(report.summed_over))}", soft_wrap=True)
    if report.unread:
        out.print(f"columns not read: {escape(', '.join(report.unread))}", soft_wrap=True)
    for note in report.notes:
        out.print(escape(note), soft_wrap=True)
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
