"""`cadence findings list|show|ack`: read the sweep's findings from the shell and acknowledge them."""

from __future__ import annotations

import datetime as dt
import json
from enum import Enum

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cadence.cli.output import console, parse_day, print_table, short
from models import AdAccount, Campaign, Client, Finding
from models.base import utcnow
from models.enums import FindingStatus, Severity
from tasks.errors import CadenceError
from tasks.resources import ready_engine
from tasks.rules import SEVERITY_RANK

app = typer.Typer(help="The sweep's findings: list, show, acknowledge.", no_args_is_help=True)
# Slugs, names and advice are data: printed as given, never read as Rich markup or :emoji: codes.
out = console()

Status = Enum("Status", {v.name: v.value for v in FindingStatus}, type=str)  # type: ignore[misc]
Level = Enum("Level", {v.name: v.value for v in Severity}, type=str)  # type: ignore[misc]
UNRESOLVED = (FindingStatus.OPEN, FindingStatus.ACKNOWLEDGED)


def _subject(campaign: str | None, subject: str) -> str:
    return f"campaign {campaign}" if campaign else subject


@app.command("list")
def list_findings(
    client: list[str] = typer.Option([], "--client", help="only this client's (slug, repeatable)"),
    day: str | None = typer.Option(None, "--day", help="the swept day, YYYY-MM-DD (default: the latest swept day)"),
    detector: list[str] = typer.Option([], "--detector", help="only this detector's (repeatable)"),
    severity: list[Level] = typer.Option([], "--severity", help="info, warning or critical (repeatable)"),
    status: list[Status] = typer.Option([], "--status", help="open, acknowledged or resolved (repeatable; "
                                        "default: open and acknowledged)"),
    limit: int = typer.Option(200, "--limit", min=1, help="at most this many, most severe first"),
) -> None:
    """Findings of one swept day, most severe first, with the client, account and subject in full."""
    wanted_day = parse_day(day, "--day")
    with Session(ready_engine()) as s:
        if client:
            known = set(s.scalars(select(Client.slug).where(Client.slug.in_(client))))
            unknown = sorted(set(client) - known)
            if unknown:
                raise CadenceError(f"no client {', '.join(unknown)}: see `cadence client list`")
        if wanted_day is None:
            latest = select(func.max(Finding.day))
            if client:
                latest = latest.join(Client, Client.id == Finding.client_id).where(Client.slug.in_(client))
            wanted_day = s.scalar(latest)
            if wanted_day is None:
                out.print("no findings yet: the daily sweep writes them (`cadence run daily-account-sweep`)")
                return
        states = [FindingStatus(v.value) for v in status] or list(UNRESOLVED)
        query = (select(Finding, Client.slug, AdAccount.external_id, Campaign.external_id)
                 .join(Client, Client.id == Finding.client_id)
                 .join(AdAccount, AdAccount.id == Finding.account_id)
                 .outerjoin(Campaign, Campaign.id == Finding.campaign_id)
                 .where(Finding.day == wanted_day, Finding.status.in_(states)))
        if client:
            query = query.where(Client.slug.in_(client))
        if detector:
            query = query.where(Finding.detector.in_(detector))
        if severity:
            query = query.where(Finding.severity.in_([Severity(v.value) for v in severity]))
        rows = s.execute(query).all()
    rows.sort(key=lambda r: (SEVERITY_RANK[r[0].severity], r[1], r[2], r[0].subject, r[0].detector))
    if not rows:
        out.print(f"no {'/'.join(x.value for x in states)} findings for {wanted_day.isoformat()} with those filters")
        return
    table = Table("id", "severity", "status", "client", "account", "subject", "detector", "recommendation",
                  title=f"Findings for {wanted_day.isoformat()}", title_justify="left")
    for column in table.columns[:7]:  # identifiers are what one greps and pastes: never folded or cut
        column.no_wrap = True
    for f, slug, account, campaign in rows[:limit]:
        table.add_row(str(f.id), f.severity.value, f.status.value, slug, account, _subject(campaign, f.subject),
                      f.detector, short(f.recommendation, 70))
    print_table(out, table)
    counts: dict[str, int] = {}
    for f, *_ in rows:
        counts[f.severity.value] = counts.get(f.severity.value, 0) + 1
    more = f" (first {limit} shown)" if len(rows) > limit else ""
    out.print(f"{len(rows)} findings{more}: " + ", ".join(f"{k} {v}" for k, v in sorted(
        counts.items(), key=lambda kv: SEVERITY_RANK[kv[0]])))


def _load(s: Session, finding_id: int) -> tuple[Finding, str, str, str | None]:
    row = s.execute(select(Finding, Client.slug, AdAccount.external_id, Campaign.external_id)
                    .join(Client, Client.id == Finding.client_id)
                    .join(AdAccount, AdAccount.id == Finding.account_id)
                    .outerjoin(Campaign, Campaign.id == Finding.campaign_id)
                    .where(Finding.id == finding_id)).one_or_none()
    if row is None:
        raise CadenceError(f"no finding {finding_id}: see `cadence findings list`")
    return row[0], row[1], row[2], row[3]


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


@app.command("show")
def show(finding_id: int = typer.Argument(..., help="the id from `cadence findings list`")) -> None:
    """One finding: what, where, its evidence (JSON) and the recommendation."""
    with Session(ready_engine()) as s:
        f, slug, account, campaign = _load(s, finding_id)
    fields = [("finding", str(f.id)), ("day", f.day.isoformat()), ("client", slug), ("account", account),
              ("subject", _subject(campaign, f.subject)), ("detector", f.detector),
              ("severity", f.severity.value), ("status", f.status.value), ("first seen", _when(f.first_seen_at)),
              ("resolved at", _when(f.resolved_at))]
    if f.acknowledged_at or f.acknowledged_by:
        fields.append(("acknowledged", f"{_when(f.acknowledged_at)} by {f.acknowledged_by or '?'}"
                       + (f": {f.ack_note}" if f.ack_note else "")))
    for name, value in fields:
        if value:
            out.print(f"[bold]{name:>14}[/]  {escape(value)}", markup=True)
    out.print("[bold]recommendation[/]", markup=True)
    out.print(f"  {f.recommendation}", soft_wrap=True)
    out.print("[bold]evidence[/]", markup=True)
    out.print(json.dumps(f.evidence, indent=2, ensure_ascii=False, sort_keys=True, default=str), soft_wrap=True)


@app.command("ack")
def ack(
    finding_id: int = typer.Argument(..., help="the id from `cadence findings list`"),
    by: str | None = typer.Option(None, "--by", help="who acknowledges (default: $USER)"),
    note: str = typer.Option("", "--note", help="what is being done about it"),
) -> None:
    """Acknowledge a finding: it stays listed, as acknowledged, on later days while the problem holds."""
    import getpass

    who = (by or getpass.getuser() or "").strip()
    if not who:
        raise CadenceError("--by cannot be empty")
    with Session(ready_engine()) as s, s.begin():
        f, slug, _, campaign = _load(s, finding_id)
        if f.status is FindingStatus.RESOLVED:
            raise CadenceError(f"finding {finding_id} is resolved ({_when(f.resolved_at)}): nothing to acknowledge")
        f.status = FindingStatus.ACKNOWLEDGED
        f.acknowledged_at = utcnow()
        f.acknowledged_by = who
        f.ack_note = note.strip() or None
        what = f"{slug} {_subject(campaign, f.subject)} {f.detector} ({f.day.isoformat()})"
    out.print(f"finding {finding_id} acknowledged by {who}: {what}")
