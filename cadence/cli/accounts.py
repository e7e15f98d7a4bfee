"""`cadence client` and `cadence account`: see and add the clients and ad accounts data lands in."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.table import Table
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cadence.cli.lookup import client_by_slug as _client
from cadence.cli.output import console, print_table
from models import AdAccount, Campaign, Client, Staff
from models.enums import Platform, StaffRole, Tier
from tasks.errors import CadenceError
from tasks.messaging.review import APPROVAL_KINDS, approval_mode, set_approval
from tasks.resources import ready_engine

app = typer.Typer(help="List or add ad accounts.", no_args_is_help=True)
clients_app = typer.Typer(help="List or add clients.", no_args_is_help=True)
# Names, notes and addresses are data: printed as given, never read as Rich markup or :emoji: codes.
out = console()
# the --kind help names every kind; computed once here, not in the parameter's default
KIND_HELP = f"message kind (repeatable): {', '.join(APPROVAL_KINDS)}"


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise CadenceError(f"unknown time zone {value!r} (use an IANA name such as Europe/Moscow)") from None
    return value


def _money(value: str | None, what: str) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise CadenceError(f"{what} must be a number, got {value!r}") from None
    if amount < 0:
        raise CadenceError(f"{what} cannot be negative, got {value}")
    return amount


@clients_app.command("list")
def list_clients() -> None:
    """Show every client with its tier, market, owner and account count."""
    with Session(ready_engine()) as s:
        rows = s.execute(
            select(Client, Staff.email, func.count(AdAccount.id))
            .join(Staff, Client.owner_am_id == Staff.id)
            .outerjoin(AdAccount, AdAccount.client_id == Client.id)
            .group_by(Client.id, Staff.email)
            .order_by(Client.slug)
        ).all()
    table = Table("slug", "name", "tier", "market", "currency", "owner AM", "accounts")
    for client, owner, accounts in rows:
        table.add_row(client.slug, client.name, client.effective_tier.value, client.market, client.currency,
                      owner, str(accounts))
    if rows:
        print_table(out, table)
    else:
        out.print("no clients yet: `cadence demo` makes a demo agency, `cadence client add` one client")


@clients_app.command("add")
def add_client(
    slug: str = typer.Option(..., help="short ASCII id, e.g. acme"),
    name: str = typer.Option(...),
    industry: str = typer.Option("unspecified"),
    market: str = typer.Option(..., help="ISO country code, e.g. CN, RU, US"),
    time_zone: str = typer.Option(..., help="IANA zone, e.g. Asia/Shanghai"),
    currency: str = typer.Option(..., help="ISO currency code, e.g. CNY"),
    am_email: str = typer.Option(..., help="owner AM; added as staff if new"),
    tier: Tier = typer.Option(Tier.REGULAR),
    cpa_min: str | None = typer.Option(None, help="lower edge of the acceptable CPA band"),
    cpa_max: str | None = typer.Option(None, help="upper edge of the acceptable CPA band"),
    monthly_budget: str | None = typer.Option(None),
    test: bool = typer.Option(False, "--test", help="a test or internal client: swept, never sent client mail"),
) -> None:
    """Add a client (and its owner AM, if not yet known)."""
    low, high = _money(cpa_min, "--cpa-min"), _money(cpa_max, "--cpa-max")
    if low is not None and high is not None and low > high:
        raise CadenceError(f"--cpa-min {low} is above --cpa-max {high}")
    if len(market) != 2 or not market.isalpha():
        raise CadenceError(f"--market must be a two-letter country code, got {market!r}")
    with Session(ready_engine()) as s, s.begin():
        if s.scalars(select(Client.id).where(Client.slug == slug)).first() is not None:
            raise CadenceError(f"client {slug!r} already exists")
        am = s.scalars(select(Staff).where(Staff.email == am_email)).one_or_none()
        if am is None:
            am = Staff(email=am_email, name=am_email.split("@")[0], role=StaffRole.AM)
        s.add(Client(
            slug=slug, name=name, industry=industry, market=market.upper(), time_zone=_zone(time_zone),
            currency=currency.upper(), tier=tier, owner_am=am, cooperation_start=dt.date.today(),
            cpa_min=low, cpa_max=high, monthly_budget=_money(monthly_budget, "--monthly-budget"), is_test=test,
        ))
    out.print(f"client {slug} added" + (" as a test client (no client mail)" if test else ""))


@clients_app.command("test")
def mark_test(
    slug: str = typer.Argument(..., help="the client's slug"),
    off: bool = typer.Option(False, "--off", help="make it a real client again"),
) -> None:
    """Mark a client as a test (internal) client: still swept and reported on, never sent client mail."""
    with Session(ready_engine()) as s, s.begin():
        _client(s, slug).is_test = not off
    out.print(f"client {slug} is {'a real client again' if off else 'a test client: it gets no client mail'}")


@clients_app.command("approval")
def approval_command(
    slug: str = typer.Argument(..., help="the client's slug"),
    kinds: list[str] = typer.Option([], "--kind", help=KIND_HELP),
    mode: str | None = typer.Option(None, "--mode", help="auto (sent as composed) or am_approves (waits for the AM)"),
    default: bool = typer.Option(False, "--default", help="back to the tier's default (strategic: am_approves)"),
) -> None:
    """Show or set which of a client's messages wait for the AM's approval, per kind."""
    if (mode is not None or default) and not kinds:
        raise CadenceError("say which kinds with --kind (repeatable): " + ", ".join(APPROVAL_KINDS))
    if kinds and (mode is None) == (not default):
        raise CadenceError("give either --mode auto|am_approves or --default")
    with Session(ready_engine()) as s, s.begin():
        client = _client(s, slug)
        settings = dict(client.settings or {})
        for kind in kinds:
            settings = set_approval(settings, kind, None if default else mode)
        if kinds:
            client.settings = settings
        explicit = settings.get("approval") or {}
        table = Table("kind", "approval", "from")
        for kind in APPROVAL_KINDS:
            table.add_row(kind, approval_mode(settings, client.effective_tier, kind).value,
                          "client setting" if kind in explicit else f"{client.effective_tier.value} tier default")
        table.add_row("crisis-*", "auto", "always: the incident owner's stage change is the approval")
    out.print(table)


@app.command("list")
def list_accounts(client: str | None = typer.Option(None, help="only this client's accounts")) -> None:
    """Show ad accounts: platform, external id (what `cadence import --account` takes), client."""
    with Session(ready_engine()) as s:
        query = (
            select(AdAccount, Client.slug, func.count(Campaign.id))
            .join(Client, AdAccount.client_id == Client.id)
            .outerjoin(Campaign, Campaign.account_id == AdAccount.id)
            .group_by(AdAccount.id, Client.slug)
            .order_by(Client.slug, AdAccount.platform, AdAccount.external_id)
        )
        if client:
            query = query.where(Client.id == _client(s, client).id)
        rows = s.execute(query).all()
    table = Table("client", "platform", "external id", "name", "currency", "status", "campaigns")
    for account, slug, campaigns in rows:
        table.add_row(slug, account.platform.value, account.external_id, account.name, account.currency,
                      account.status.value, str(campaigns))
    if rows:
        print_table(out, table)
    else:
        out.print("no accounts yet: `cadence account add` adds one")


@app.command("add")
def add_account(
    client: str = typer.Option(..., help="the client's slug"),
    platform: Platform = typer.Option(...),
    external_id: str = typer.Option(..., help="the account id on the platform"),
    name: str | None = typer.Option(None),
    currency: str | None = typer.Option(None, help="default: the client's currency"),
    time_zone: str | None = typer.Option(None, help="default: the client's time zone"),
) -> None:
    """Add an ad account to a client, ready for `cadence import`."""
    with Session(ready_engine()) as s, s.begin():
        owner = _client(s, client)
        taken = select(AdAccount.id).where(AdAccount.platform == platform, AdAccount.external_id == external_id)
        if s.scalars(taken).first() is not None:
            raise CadenceError(f"{platform.value} account {external_id!r} already exists")
        s.add(AdAccount(
            client=owner, platform=platform, external_id=external_id, name=name or external_id,
            currency=(currency or owner.currency).upper(), time_zone=_zone(time_zone or owner.time_zone),
            created_on=dt.date.today(),
        ))
    out.print(f"{platform.value} account {external_id} added to {client}")


mapping_app = typer.Typer(help="An account's saved export column names, used by every `cadence import`.",
                          no_args_is_help=True)
app.add_typer(mapping_app, name="mapping")


def store_mapping(engine: Engine, account: str, platform: str, mapping: dict[str, str]) -> None:
    """Save header → field pairs (an empty field forgets the header) for one account."""
    from tasks.ingest.map import check_platform
    from tasks.ingest.write import find_account, save_mapping

    with Session(engine) as s, s.begin():
        save_mapping(s, find_account(s, account, check_platform(platform)).id, mapping)


@mapping_app.command("set")
def set_mapping(
    account: str = typer.Argument(..., help="the account's external id"),
    maps: list[str] = typer.Option([], "--map", "-m", help='--map "Amount Spent=spend" (repeatable)'),
    forget: list[str] = typer.Option([], "--forget", help="a header to take out of the saved mapping (repeatable)"),
    platform: str = typer.Option("generic", "--platform", "-p", help="needed when the id exists on two platforms"),
) -> None:
    """Save which export column is which field for this account; later imports use it without --map."""
    from tasks.ingest.map import parse_map

    if not maps and not forget:
        raise CadenceError('give --map "HEADER=field" or --forget HEADER')
    store_mapping(ready_engine(), account, platform, {**parse_map(maps), **dict.fromkeys(forget, "")})
    show_mapping(account, platform)


@mapping_app.command("show")
def show_mapping(
    account: str = typer.Argument(..., help="the account's external id"),
    platform: str = typer.Option("generic", "--platform", "-p", help="needed when the id exists on two platforms"),
) -> None:
    """Show the account's saved column mapping."""
    from tasks.ingest.map import check_platform
    from tasks.ingest.write import find_account, saved_mapping

    with Session(ready_engine()) as s:
        found = find_account(s, account, check_platform(platform))
        mapping, name = saved_mapping(s, found.id), f"{found.platform.value} account {found.external_id}"
    if not mapping:
        out.print(f"{name} has no saved mapping: imports use the platform's header names "
                  f"(`cadence import --show-mapping {found.platform.value}`)")
        return
    table = Table("header in the export", "read as")
    for header, field in mapping.items():
        table.add_row(header, field)
    out.print(f"{name} saved mapping:")
    out.print(table)
