"""`cadence note add`: record what was done on an account, or a market or competitor note for the packs."""

from __future__ import annotations

import datetime as dt
from enum import Enum

import typer
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from cadence.cli.lookup import client_by_slug
from models import AdAccount, OptimisationNote, Staff
from models.enums import NoteKind
from tasks.errors import CadenceError
from tasks.resources import ready_engine

app = typer.Typer(help="Record optimisation, market and competitor notes.", no_args_is_help=True)
# Names, notes and addresses are data: printed as given, never read as Rich markup or :emoji: codes.
out = Console(highlight=False, markup=False, emoji=False)


class Kind(str, Enum):
    OPTIMISATION = NoteKind.OPTIMISATION.value
    MARKET = NoteKind.MARKET.value
    COMPETITOR = NoteKind.COMPETITOR.value


@app.command("add")
def add_note(
    client: str = typer.Argument(..., help="the client's slug"),
    action: str = typer.Option(..., "--action", "-a", help="what was done or observed, as the client will read it"),
    kind: Kind = typer.Option(Kind.OPTIMISATION, "--kind", "-k", help="optimisation, market or competitor"),
    reason: str = typer.Option("", "--reason", "-r", help="why, in plain words"),
    day: str | None = typer.Option(None, "--day", help="YYYY-MM-DD; default: today"),
    account: str | None = typer.Option(None, "--account", help="the ad account's external id"),
    author: str | None = typer.Option(None, "--author", help="the author's staff email"),
) -> None:
    """Add one note; stand-up updates, recaps and strategy packs pick it up by its day."""
    if not action.strip():
        raise CadenceError("--action cannot be empty")
    try:
        on = dt.date.fromisoformat(day) if day else dt.date.today()
    except ValueError:
        raise CadenceError(f"--day must be YYYY-MM-DD, got {day!r}") from None
    with Session(ready_engine()) as s, s.begin():
        found = client_by_slug(s, client)
        account_id = None
        if account is not None:
            account_id = s.scalar(select(AdAccount.id).where(AdAccount.client_id == found.id,
                                                             AdAccount.external_id == account))
            if account_id is None:
                raise CadenceError(f"client {client!r} has no account {account!r}")
        author_id = None
        if author is not None:
            author_id = s.scalar(select(Staff.id).where(Staff.email == author))
            if author_id is None:
                raise CadenceError(f"no staff member {author!r}")
        note = OptimisationNote(client_id=found.id, account_id=account_id, author_id=author_id,
                                kind=NoteKind(kind.value), day=on, action=action.strip(), reason=reason.strip())
        s.add(note)
        s.flush()
        out.print(f"note {note.id} added: {kind.value} for {client} on {on.isoformat()}")
