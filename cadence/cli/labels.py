"""`cadence key-date add|list` and `cadence label set|list|missing`: dates worth preparing for, names per language."""

from __future__ import annotations

import datetime as dt
from enum import Enum

import typer
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from cadence.cli.lookup import client_by_slug as _client
from models import DisplayName, KeyDate
from models.enums import KeyDateKind, LabelKind, Language, Visibility
from models.service import default_visibility
from tasks.errors import CadenceError
from tasks.reports.client_view import AGENCY_SCOPE, missing_names
from tasks.resources import ready_engine

key_dates_app = typer.Typer(help="Key dates: client dates and market peaks, private or shareable.",
                            no_args_is_help=True)
labels_app = typer.Typer(help="Display names of initiatives and key dates in each language.", no_args_is_help=True)
# Titles and names are data: printed as given, never read as Rich markup or :emoji: codes.
out = Console(highlight=False, markup=False, emoji=False)

Kind = Enum("Kind", {k.name: k.value for k in KeyDateKind}, type=str)  # type: ignore[misc]
Seen = Enum("Seen", {v.name: v.value for v in Visibility}, type=str)  # type: ignore[misc]
Lang = Enum("Lang", {v.name: v.value for v in Language}, type=str)  # type: ignore[misc]


@key_dates_app.command("add")
def add_key_date(
    title: str = typer.Argument(..., help="what the date is, e.g. 'Launch: spring collection'"),
    on: str = typer.Option(..., "--on", help="YYYY-MM-DD"),
    kind: Kind = typer.Option(..., "--kind", "-k",
                              help="birthday, anniversary, launch, financing, renewal, market_peak"),
    client: str | None = typer.Option(None, "--client", help="the client's slug (a client's own date)"),
    market: str | None = typer.Option(None, "--market", help="two-letter market code (a market peak)"),
    visibility: Seen | None = typer.Option(
        None, "--visibility", help="private (AM reminders only) or shareable (client documents too); default by kind:"
        " birthday, anniversary, renewal, financing private; launch, market_peak shareable"),
    lead_days: int = typer.Option(7, "--lead-days", min=0, help="remind this many days before"),
    yearly: bool = typer.Option(False, "--yearly/--once", help="recurs every year"),
    note: str = typer.Option("", "--note", help="an internal note for the AM"),
) -> None:
    """Add a key date for a client or a market; private dates drive AM reminders only."""
    if not title.strip():
        raise CadenceError("the title cannot be empty")
    if (client is None) == (market is None):
        raise CadenceError("give exactly one of --client SLUG or --market CC")
    try:
        day = dt.date.fromisoformat(on)
    except ValueError:
        raise CadenceError(f"--on must be YYYY-MM-DD, got {on!r}") from None
    chosen = Visibility(visibility.value) if visibility else default_visibility(kind.value)
    with Session(ready_engine()) as s, s.begin():
        if client is not None:
            found = _client(s, client)
            scope, client_id, code = found.slug, found.id, found.market
        else:
            if len(market or "") != 2 or not market.isalpha():
                raise CadenceError(f"--market must be a two-letter code, got {market!r}")
            scope, client_id, code = f"market:{market.upper()}", None, market.upper()
        if s.scalar(select(KeyDate.id).where(KeyDate.scope == scope, KeyDate.kind == KeyDateKind(kind.value),
                                             KeyDate.title == title.strip(), KeyDate.on_date == day)):
            raise CadenceError(f"{title.strip()!r} on {day} already exists for {scope}")
        s.add(KeyDate(scope=scope, client_id=client_id, market=code, kind=KeyDateKind(kind.value),
                      title=title.strip(), on_date=day, recurs_yearly=yearly, lead_days=lead_days, note=note,
                      visibility=chosen))
    out.print(f"key date added: {title.strip()} on {day.isoformat()} for {scope} ({kind.value}, {chosen.value})")


@key_dates_app.command("list")
def list_key_dates(client: str | None = typer.Option(None, "--client", help="only this client's own dates")) -> None:
    """Key dates with their visibility."""
    with Session(ready_engine()) as s:
        query = select(KeyDate).order_by(KeyDate.on_date, KeyDate.title)
        if client is not None:
            query = query.where(KeyDate.client_id == _client(s, client).id)
        for k in s.scalars(query):
            out.print(f"{k.on_date.isoformat()}  {k.scope:<24} {k.kind.value:<12} {k.visibility.value:<10} {k.title}")


@labels_app.command("set")
def set_label(
    text: str = typer.Argument(..., help="the name as readers of that language see it"),
    language: Lang = typer.Option(..., "--language", "-l", help="en, zh or ru"),
    initiative: str | None = typer.Option(None, "--initiative", help="the initiative slug, e.g. performance"),
    key_date: str | None = typer.Option(None, "--key-date", help="the key date's stored title"),
    client: str | None = typer.Option(None, "--client", help="the client's slug; without it, agency-wide"),
) -> None:
    """Set (or replace) one display name; client documents in that language show it instead of the slug or title."""
    if (initiative is None) == (key_date is None):
        raise CadenceError("give exactly one of --initiative SLUG or --key-date TITLE")
    if not text.strip():
        raise CadenceError("the name cannot be empty")
    kind, key = (LabelKind.INITIATIVE, initiative) if initiative is not None else (LabelKind.KEY_DATE, key_date)
    with Session(ready_engine()) as s, s.begin():
        found = _client(s, client) if client is not None else None
        scope = found.slug if found else AGENCY_SCOPE
        row = s.scalars(select(DisplayName).where(DisplayName.scope == scope, DisplayName.kind == kind,
                                                  DisplayName.key == key,
                                                  DisplayName.language == Language(language.value))).one_or_none()
        if row is None:
            s.add(DisplayName(scope=scope, client_id=found.id if found else None, kind=kind, key=key,
                              language=Language(language.value), text=text.strip()))
        else:
            row.text = text.strip()
    where = f"for {client}" if client else "agency-wide"
    out.print(f"{kind.value} {key!r} in {language.value}: {text.strip()} ({where})")


@labels_app.command("list")
def list_labels(client: str | None = typer.Option(None, "--client", help="only this client's own names")) -> None:
    """Display names, agency-wide and per client."""
    with Session(ready_engine()) as s:
        query = select(DisplayName).order_by(DisplayName.scope, DisplayName.kind, DisplayName.key,
                                             DisplayName.language)
        if client is not None:
            query = query.where(DisplayName.scope == _client(s, client).slug)
        for d in s.scalars(query):
            out.print(f"{d.scope:<24} {d.kind.value:<10} {d.language.value}  {d.key}  →  {d.text}")


@labels_app.command("missing")
def list_missing() -> None:
    """Initiatives and shareable key dates with no name in a language their client's contacts read."""
    rows = missing_names(ready_engine())
    for r in rows:
        out.print(f"{r['client']:<24} {r['kind']:<10} {r['language']}  {r['key']}")
    out.print(f"{len(rows)} display name(s) missing" if rows else "every label has a name in its readers' languages")
