"""`cadence check-output`: check every client-facing render in the database for what a client must never read."""

from __future__ import annotations

import datetime as dt

import typer
from rich.console import Console
from rich.table import Table

from tasks.client_check import RULES, check_database, counts
from tasks.errors import CadenceError
from tasks.resources import ready_engine
from tasks.settings import get_settings

# Excerpts are client text: printed as given, never read as Rich markup.
out = Console(highlight=False, markup=False, emoji=False)


def check_output_command(
    client: str | None = typer.Option(None, "--client", help="only this client's outputs (its slug)"),
    as_of: str | None = typer.Option(None, "--as-of", help="YYYY-MM-DD the documents count as made on "
                                                            "(default: each one's creation day)"),
    pdfs: bool = typer.Option(True, "--pdfs/--no-pdfs", help="read the PDFs' text too (slower)"),
) -> None:
    """Check client emails, reports and PDFs for AM advice, private dates, others' data, slugs and bad dates."""
    made_on = None
    if as_of is not None:
        try:
            made_on = dt.date.fromisoformat(as_of)
        except ValueError:
            raise CadenceError(f"--as-of must be a date like 2026-11-25, got {as_of!r}") from None
    engine = ready_engine()
    if client is not None:
        from sqlalchemy import select

        from models import Client

        with engine.connect() as conn:
            if conn.scalar(select(Client.id).where(Client.slug == client)) is None:
                raise CadenceError(f"no client with slug {client!r}")
    documents, violations = check_database(engine, get_settings().agency_name, client, made_on, pdfs)
    if violations:
        table = Table(title="Client-output violations", title_justify="left")
        for column in ("client", "document", "rule", "excerpt"):
            table.add_column(column, overflow="fold")
        for v in violations:
            table.add_row(v.client, v.document, v.rule, v.excerpt)
        out.print(table)
    by_rule = counts(violations)
    out.print(f"{len(documents)} client-facing documents checked; "
              + ", ".join(f"{rule} {by_rule[rule]}" for rule in RULES))
    if violations:
        out.print(f"FAILED: {len(violations)} violations")
        raise typer.Exit(1)
    out.print("clean: no violation")
