"""`cadence today`: what needs a person now, for the agency or one client — the same content as the `agency-today`
and `client-<slug>` artifacts."""

from __future__ import annotations

import difflib
import json

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from cadence.cli.output import console, print_table, short
from cadence.settings import get_settings
from cadence.wiring import ready_engine
from models import Client
from models.base import utcnow
from tasks.errors import CadenceError

out = console()


def unknown_client(slug: str, known: list[str]) -> CadenceError:
    """A wrong slug as one line, with the nearest slugs."""
    near = difflib.get_close_matches(slug, known, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(near)}? " if near else ""
    return CadenceError(f"no client {slug!r}: {hint}see `cadence client list`")


def _section(title: str, empty: str, table: Table | None) -> None:
    out.print()
    out.print(title)
    if table is None or not table.rows:
        out.print(f"  {empty}")
    else:
        print_table(out, table)


def today_command(
    client: str | None = typer.Option(None, "--client", help="one client's view (its slug); default: the agency's"),
    as_json: bool = typer.Option(False, "--json", help="the same content as JSON, times in UTC (ISO 8601)"),
) -> None:
    """What needs a person now: critical clients, open incidents, request clocks, messages, failures.

    Times are shown in the reader's zone (the AM's, or the contact's for client mail) with UTC in brackets.
    """
    from tasks.today import EMPTY, build_today, moment

    zone = get_settings().agency_time_zone
    with Session(ready_engine()) as s:
        today = build_today(s, utcnow(), zone)
        if client is not None:
            row = s.execute(select(Client.id, Client.name).where(Client.slug == client)).first()
            if row is None:
                raise unknown_client(client, list(s.scalars(select(Client.slug))))
            today = today.for_client(row.id, client, row.name)
    if as_json:
        out.print(json.dumps(today.as_dict(), ensure_ascii=False, indent=2), soft_wrap=True)
        return
    who = f"{today.client_name} ({today.client})" if today.client else "the agency"
    out.print(f"Today for {who}: {today.as_of.astimezone(get_settings().zone):%Y-%m-%d %H:%M} {zone} "
              f"({today.as_of:%H:%M} UTC)")

    table = Table("client", "tier", "AM", "critical", "worst: what", "where", "day", "acknowledged")
    for c in today.critical:
        f = c.findings[0]
        table.add_row(c.slug, c.tier, c.am, str(len(c.findings)), short(f.headline, 90), f.where, str(f.day),
                      f.acknowledged_by or "no")
    _section("Critical clients (cadence findings list --severity critical)", EMPTY["critical"], table)

    table = Table("#", "client", "cause", "stage", "owner", "acknowledged", "ladder", "golden deadline (owner's time)")
    for i in today.incidents:
        late = " MISSED" if not i.doc_in and today.as_of >= i.golden_deadline_at else (" doc in" if i.doc_in else "")
        table.add_row(str(i.incident_id), i.slug, short(i.cause, 60), i.stage, i.owner,
                      moment(i.acknowledged_at, i.owner_zone) if i.acknowledged_at else "NO",
                      f"{i.level} {i.level_name}" + (f" ({i.level_person})" if i.level_person else ""),
                      moment(i.golden_deadline_at, i.owner_zone) + late)
    _section("Open incidents (cadence incident ack|advance ID)", EMPTY["incidents"], table)

    table = Table("client", "ref", "title", "AM", "stage", "state", "due (AM's time)")
    for r in today.requests:
        for st in r.stages:
            table.add_row(r.slug, r.reference, short(r.title, 40), r.am, st.stage,
                          "OVERDUE" if st.kind == "breach" else "due soon", moment(st.due_at, r.am_zone)
                          + (" (crisis open)" if r.in_crisis else ""))
    _section("Client requests near or past their 1-3-7 clocks", EMPTY["requests"], table)

    for key, title, when in (("sent", "Sent today", "sent (their time)"),
                             ("held", "Held for business hours (cadence outbox release ID)", "goes out (their time)"),
                             ("awaiting", "Waiting for approval (cadence outbox approve|edit|reject ID --by EMAIL)",
                              "waiting since (AM's time)")):
        table = Table("id", "client", "kind", "to", when, "subject")
        for m in getattr(today, key):
            table.add_row(str(m.message_id), m.slug, m.kind, m.to, moment(m.at, m.zone) if m.at else "when released",
                          short(m.subject, 60))
        _section(title, EMPTY[key], table)

    table = Table("id", "client", "to", "by", "language", "what to say")
    for m in today.by_hand:
        table.add_row(str(m.message_id), m.slug, m.to, m.channel, m.language, short(m.note, 200))
    _section("For the AM to deliver by hand (log it: cadence contact log; full text: cadence outbox show ID)",
             EMPTY["by_hand"], table)

    table = Table("what", "client", "detail", "since (UTC)", "what to do")
    for f in today.failures:
        table.add_row(f.what, f.slug, f.detail, f"{f.since:%Y-%m-%d %H:%M}" if f.since else "", f.action)
    _section("Failures that need a person", EMPTY["failures"], table)
