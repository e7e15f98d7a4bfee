"""`cadence account connect` (a platform login and the accounts it reaches) and `cadence sync` (pull now)."""

from __future__ import annotations

import datetime as dt
import re
import sys

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from cadence.cli.lookup import client_by_slug as _client
from models import AdAccount, PlatformConnection
from models.base import utcnow
from models.enums import Platform
from tasks.errors import CadenceError
from tasks.resources import ready_engine

out = Console(highlight=False, markup=False, emoji=False, soft_wrap=True)


def _platform(value: str) -> str:
    from tasks.connectors import CONNECTORS
    from tasks.ingest.map import PLATFORM_NICKNAMES

    key = re.sub(r"[\s-]+", "_", value.strip().lower())
    key = PLATFORM_NICKNAMES.get(key, key)
    if key not in CONNECTORS:
        raise CadenceError(f"no connector for {value!r}: connect one of {', '.join(sorted(CONNECTORS))}")
    return key


def _pairs(values: list[str], what: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip() or not rest.strip():
            raise CadenceError(f"{what} takes KEY=VALUE, got {value!r}")
        pairs[key.strip()] = rest.strip()
    return pairs


def block_name(platform: str, label: str, role: str) -> str:
    """The Prefect Secret block a login's secret is stored in (block names: lowercase letters, digits, dashes)."""
    return re.sub(r"[^a-z0-9-]+", "-", f"cadence-{platform}-{label}-{role}".lower()).strip("-")


def connect_command(
    platform: str = typer.Argument(..., help="google_ads, meta or yandex_direct"),
    label: str = typer.Option(..., "--label", help="a name for this login, e.g. agency-main"),
    agency: bool = typer.Option(False, "--agency", help="an agency login: its clients are reached by Client-Login"),
    client: str | None = typer.Option(None, "--client", help="add every reached account not yet in Cadence to this "
                                      "client (a single advertiser's login)"),
    assign: list[str] = typer.Option([], "--assign", help="EXTERNAL_ID=CLIENT_SLUG: add that account to that client "
                                     "(repeat; an agency login's clients)"),
    option: list[str] = typer.Option([], "--option", help="KEY=VALUE platform options: login_customer_id=..., "
                                     "oauth_client_id=..., processing_mode=offline"),
    secret_env: list[str] = typer.Option([], "--secret-env", help="ROLE=VARIABLE: read this secret from the "
                                         "environment at run time instead of storing it in a Prefect Secret block"),
    stdin: bool = typer.Option(False, "--stdin", help="read the secrets from standard input, one per line, in the "
                               "order the platform asks for them"),
    reuse_secrets: bool = typer.Option(False, "--reuse-secrets", help="keep the login's stored secrets (only "
                                       "re-list and assign accounts)"),
) -> None:
    """Store a platform login, list the accounts it reaches, and add or update them with their currency and zone."""
    from tasks.connectors import SECRET_ROLES, ConnectionInfo, Secrets, connector_for, write_secret

    platform = _platform(platform)
    options: dict[str, object] = dict(_pairs(option, "--option"))
    if agency:
        options["agency"] = True
    assignments = _pairs(assign, "--assign")
    engine = ready_engine()
    with Session(engine) as s:
        if client:
            _client(s, client)
        for slug in set(assignments.values()):
            _client(s, slug)
        existing = s.scalars(select(PlatformConnection).where(PlatformConnection.platform == Platform(platform),
                                                              PlatformConnection.label == label)).one_or_none()
        stored_names = dict(existing.secrets) if existing else {}
        if existing:
            options = {**existing.options, **options}

    roles = SECRET_ROLES.get(platform, ("token",))
    names: dict[str, str] = {}
    values: dict[str, str] = {}
    if reuse_secrets:
        if not stored_names:
            raise CadenceError(f"no stored {platform} login {label!r} to reuse: connect it once with its secrets")
        names = stored_names
    else:
        from_env = _pairs(secret_env, "--secret-env")
        lines = sys.stdin.read().splitlines() if stdin else []
        for index, role in enumerate(roles):
            if role in from_env:
                names[role] = f"env:{from_env[role]}"
                continue
            if stdin:
                value = lines[index].strip() if index < len(lines) else ""
            elif index and from_env:  # secrets named in the environment: the optional ones are too, or absent
                continue
            else:
                value = typer.prompt(f"{platform} {role}" + ("" if index == 0 else " (Enter to skip)"),
                                     default="" if index else None, hide_input=True, show_default=False)
            if not value:
                if index == 0:
                    raise CadenceError(f"the {role} is required")
                continue
            names[role] = f"block:{block_name(platform, label, role)}"
            values[role] = value
    connector = connector_for(ConnectionInfo(0, platform, label, dict(options)), Secrets(names, values))
    try:
        reached = connector.accounts()
    finally:
        close = getattr(connector, "close", None)
        if close:
            close()
    for role, value in values.items():  # stored only once the platform accepted them
        write_secret(names[role], value)

    rows = []
    with Session(engine) as s, s.begin():
        connection = s.scalars(select(PlatformConnection).where(PlatformConnection.platform == Platform(platform),
                                                                PlatformConnection.label == label)).one_or_none()
        if connection is None:
            connection = PlatformConnection(platform=Platform(platform), label=label)
            s.add(connection)
        connection.secrets, connection.options, connection.problem = names, dict(options), None
        s.flush()
        for info in reached:
            account = s.scalars(select(AdAccount).where(AdAccount.platform == Platform(platform),
                                                        AdAccount.external_id == info.external_id)).one_or_none()
            slug = assignments.get(info.external_id) or client
            if account is None and slug is None:
                rows.append((info, "not added", "-"))
                continue
            if account is None:
                account = AdAccount(client=_client(s, slug), platform=Platform(platform), external_id=info.external_id,
                                    name=info.name[:200], currency=info.currency, time_zone=info.time_zone,
                                    created_on=utcnow().date())
                s.add(account)
                what = "added"
            else:
                what = "updated"
                moved_to = assignments.get(info.external_id)  # --client only places accounts new to Cadence
                if moved_to and account.client.slug != moved_to:
                    account.client = _client(s, moved_to)
                    what = "moved"
            account.currency, account.time_zone, account.connection = info.currency, info.time_zone, connection
            if account.sync_problem and account.sync_problem.startswith("reconnect"):
                account.sync_problem, account.sync_problem_since = None, None
            rows.append((info, what, account.client.slug))
    table = Table("account", "name", "currency", "time zone", "client", "")
    for info, what, slug in rows:
        table.add_row(info.external_id, info.name, info.currency, info.time_zone, slug, what)
    out.print(table)
    waiting = [info.external_id for info, what, _ in rows if what == "not added"]
    out.print(f"{platform} login {label!r}: {len(reached)} account(s) reached, "
              f"{len(reached) - len(waiting)} syncing; secrets in {', '.join(sorted(set(names.values())))}")
    if waiting:
        out.print(f"{len(waiting)} not added (no client): add them with --assign EXTERNAL_ID=CLIENT_SLUG "
                  f"(or --client SLUG for all) and --reuse-secrets, e.g. `cadence account connect {platform} "
                  f"--label {label} --reuse-secrets --assign {waiting[0]}=CLIENT_SLUG`")


def sync_command(
    account: list[str] = typer.Option([], "--account", "-a", help="only this external id (repeat)"),
    platform: list[str] = typer.Option([], "--platform", "-p", help="only this platform (repeat)"),
    days: int | None = typer.Option(None, "--days", min=1, max=400, help="pull this many days up to yesterday "
                                    "instead of the restatement window"),
    as_of: dt.datetime | None = typer.Option(None, "--as-of", formats=["%Y-%m-%d"], help="pull the days before "
                                             "this date (default: each account's own today)"),
) -> None:
    """Pull the connected accounts now, as the morning platform-sync does, and say what came in."""
    from flows.platform_sync import platform_sync

    ready_engine()
    platforms = [_platform(p) for p in platform] or None
    result = platform_sync(as_of=as_of.date() if as_of else None, accounts=account or None, platforms=platforms,
                           days=days)
    out.print(f"{result['synced']} of {result['accounts']} account(s) synced, {result['rows']:,} rows pulled, "
              f"{result['rows_lost']} lost")
    for external_id, status in sorted(result["failed"].items()):
        out.print(f"  {external_id}: {status} (see the platform-sync-summary artifact)")
    if result["failed"]:
        raise typer.Exit(1)


def logins_command() -> None:
    """Show each platform login: its accounts, when it last synced, and what needs a person (reconnect)."""
    from sqlalchemy import func

    with Session(ready_engine()) as s:
        rows = s.execute(
            select(PlatformConnection, func.count(AdAccount.id))
            .outerjoin(AdAccount, AdAccount.connection_id == PlatformConnection.id)
            .group_by(PlatformConnection.id)
            .order_by(PlatformConnection.platform, PlatformConnection.label)
        ).all()
    if not rows:
        out.print("no platform logins yet: `cadence account connect PLATFORM --label NAME`")
        return
    table = Table("platform", "label", "accounts", "last synced (UTC)", "problem")
    for connection, accounts in rows:
        synced = connection.last_synced_at.strftime("%Y-%m-%d %H:%M") if connection.last_synced_at else "never"
        table.add_row(connection.platform.value, connection.label, str(accounts), synced,
                      (connection.problem or "")[:120])
    out.print(table)
