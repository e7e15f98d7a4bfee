"""`cadence today`: what needs a person now, for the agency or one client — the same content as the `agency-today`
and `client-<slug>` artifacts."""

from __future__ import annotations

import json

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from cadence.cli.lookup import client_by_slug
from cadence.cli.output import console, print_table, short
from models.base import utcnow
from tasks.resources import ready_engine
from tasks.settings import get_settings

out = console()


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
        found = client_by_slug(s, client) if client is not None else None
        today = build_today(s, utcnow(), zone)
        if found is not None:
            today = today.for_client(found.id, found.slug, found.name)
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
