"""`cadence import`: load a platform export into an account."""

from __future__ import annotations

from pathlib import Path

import typer


def import_command(
    file: Path = typer.Argument(..., help="CSV, XLSX or Parquet export"),
    platform: str = typer.Option(..., "--platform", "-p", help="column mapping to use"),
    account: str = typer.Option(..., "--account", "-a", help="the account's external id"),
) -> None:
    """Import a platform export: every row loaded, quarantined with a reason, or a duplicate."""
    raise NotImplementedError("being written")
