"""`cadence request|incident|contact|tier`: record client requests, crises, contacts and tiers by hand."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cadence.cli.lookup import client_by_slug as _client
from models import Client, ClientRequest, Contact, Incident, Interaction, Staff
from models.base import utcnow
from models.enums import (
    Channel,
    ContactRole,
    Detail,
    Direction,
    Honorific,
    IncidentSource,
    IncidentStage,
    Language,
    RequestStatus,
    Tier,
    Tone,
)
from tasks import escalation, tiering
from tasks.errors import CadenceError
from tasks.messaging.outbox import Window
from tasks.resources import ready_engine
from tasks.rules import request_deadlines, stage_state
from tasks.settings import get_settings

request_app = typer.Typer(help="Client requests on the 1-3-7 clock.", no_args_is_help=True)
incident_app = typer.Typer(help="Crises: open, acknowledge, advance, see the timeline.", no_args_is_help=True)
contact_app = typer.Typer(help="Add a client's contacts; log contacts with clients (calls, chats, meetings).",
                          no_args_is_help=True)
tier_app = typer.Typer(help="Client tiers: recompute from the data, or override.", no_args_is_help=True)
# Names, notes and addresses are data: printed as given, never read as Rich markup or :emoji: codes.
out = Console(highlight=False, markup=False, emoji=False)
QUEUED_NOTE = "queued in the outbox: the next service-watch run (or `cadence outbox send`) sends it"


def _when(value: str | None, zone: str) -> dt.datetime:
    """An ISO time; without an offset it is read in `zone` (the client's). Default: now."""
    if value is None:
        return utcnow()
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CadenceError(f"not an ISO date-time: {value!r} (e.g. 2026-11-25T14:30)") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(zone))
    return at.astimezone(dt.timezone.utc)


def _local(at: dt.datetime | None, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") if at else "—"


def _window(client: Client) -> Window:
    return Window(client.time_zone, client.market, client.business_hours_start, client.business_hours_end)


def _request(session: Session, client: str, reference: str) -> tuple[ClientRequest, Client]:
    owner = _client(session, client)
    row = session.scalars(select(ClientRequest).where(ClientRequest.client_id == owner.id,
                                                      ClientRequest.reference == reference)).one_or_none()
    if row is None:
        raise CadenceError(f"no request {reference!r} for {client}: see `cadence request list --client {client}`")
    return row, owner


@request_app.command("add")
def add_request(
    reference: str = typer.Argument(..., help="the client's or your id for it, e.g. REQ-0042"),
    client: str = typer.Option(..., help="the client's slug"),
    title: str = typer.Option(...),
    description: str = typer.Option(""),
    contact: str | None = typer.Option(None, help="who asked (their email)"),
    received_at: str | None = typer.Option(None, help="ISO time, in the client's zone unless it has an offset"),
) -> None:
    """Record a client request; its confirm / plan / deliver deadlines run in the client's business time."""
    with Session(ready_engine()) as s, s.begin():
        owner = _client(s, client)
        if s.scalar(select(ClientRequest.id).where(ClientRequest.client_id == owner.id,
                                                   ClientRequest.reference == reference)) is not None:
            raise CadenceError(f"request {reference!r} already exists for {client}")
        contact_id = None
        if contact:
            contact_id = s.scalar(select(Contact.id).where(Contact.client_id == owner.id, Contact.email == contact))
            if contact_id is None:
                raise CadenceError(f"no contact {contact!r} at {client}")
        received = _when(received_at, owner.time_zone)
        due = request_deadlines(received, _window(owner), owner.effective_tier.value)
        s.add(ClientRequest(client_id=owner.id, contact_id=contact_id, reference=reference, title=title,
                            description=description, received_at=received, confirm_due_at=due.confirm,
                            plan_due_at=due.plan, deliver_due_at=due.deliver))
        zone, tier = owner.time_zone, owner.effective_tier.value
    out.print(f"request {reference} for {client} ({tier}): confirm by {_local(due.confirm, zone)}, "
              f"plan by {_local(due.plan, zone)}, deliver by {_local(due.deliver, zone)} ({zone})")


def _mark(client: str, reference: str, at: str | None, column: str, status: RequestStatus) -> None:
    with Session(ready_engine()) as s, s.begin():
        row, owner = _request(s, client, reference)
        zone = owner.time_zone
        if getattr(row, column) is not None:
            out.print(f"{reference}: already recorded at {_local(getattr(row, column), zone)}")
            return
        when = _when(at, zone)
        setattr(row, column, when)
        if column != "acknowledged_at" and row.acknowledged_at is None:
            row.acknowledged_at = when
        if column == "delivered_at" and row.planned_at is None:
            row.planned_at = when
        row.status = status
        stage = {"acknowledged_at": "confirm_due_at", "planned_at": "plan_due_at", "delivered_at": "deliver_due_at"}
        due = getattr(row, stage[column])
        late = "" if due is None else (", LATE" if when > due else ", on time")
    out.print(f"{reference}: {status.value} at {_local(when, zone)}{late}")


@request_app.command("ack")
def ack_request(reference: str, client: str = typer.Option(...), at: str | None = typer.Option(None)) -> None:
    """The request was confirmed to the client (the 1 of 1-3-7)."""
    _mark(client, reference, at, "acknowledged_at", RequestStatus.ACKNOWLEDGED)


@request_app.command("plan")
def plan_request(reference: str, client: str = typer.Option(...), at: str | None = typer.Option(None)) -> None:
    """The first plan went to the client (the 3 of 1-3-7)."""
    _mark(client, reference, at, "planned_at", RequestStatus.PLANNED)


@request_app.command("deliver")
def deliver_request(reference: str, client: str = typer.Option(...), at: str | None = typer.Option(None)) -> None:
    """The staged deliverable went to the client (the 7 of 1-3-7)."""
    _mark(client, reference, at, "delivered_at", RequestStatus.DELIVERED)


@request_app.command("list")
def list_requests(client: str | None = typer.Option(None), all_: bool = typer.Option(False, "--all",
                  help="include delivered and cancelled")) -> None:
    """Requests with their next deadline in the client's time; overdue ones first."""
    now = utcnow()
    with Session(ready_engine()) as s:
        query = select(ClientRequest, Client).join(Client, Client.id == ClientRequest.client_id)
        if client:
            query = query.where(Client.id == _client(s, client).id)
        if not all_:
            query = query.where(ClientRequest.status.not_in([RequestStatus.DELIVERED, RequestStatus.CANCELLED]))
        rows = s.execute(query.order_by(ClientRequest.received_at)).all()
    table = Table("client", "ref", "title", "status", "next", "due (client time)", "state")
    listed = []
    for r, c in rows:
        pending = [(stage, due) for stage, due, done in (("confirm", r.confirm_due_at, r.acknowledged_at),
                                                          ("plan", r.plan_due_at, r.planned_at),
                                                          ("deliver", r.deliver_due_at, r.delivered_at))
                   if done is None and due is not None]
        stage, due = pending[0] if pending else ("—", None)
        verdict = stage_state(stage, due, now) if due else None
        state = {"breach": "OVERDUE", "warning": "due soon"}.get(verdict, "")
        listed.append((state != "OVERDUE", due or now, (c.slug, r.reference, r.title[:40], r.status.value, stage,
                                                        _local(due, c.time_zone), state)))
    for *_order, cells in sorted(listed, key=lambda x: (x[0], x[1])):
        table.add_row(*cells)
    out.print(table if rows else "no open requests")


@incident_app.command("open")
def open_incident(
    client: str = typer.Option(..., help="the client's slug"),
    cause: str = typer.Option(..., help="what happened, in one line"),
) -> None:
    """Open a crisis by hand: golden four-hour deadline, owner AM as the only voice, crisis group told."""
    now = utcnow()
    with Session(ready_engine()) as s, s.begin():
        owner = _client(s, client)
        opened = escalation.open_incident(s, client_id=owner.id, source=IncidentSource.MANUAL,
                                          dedupe_key=f"manual:{owner.id}:{now:%Y%m%dT%H%M%S%f}", cause=cause,
                                          now=now, facts=[cause], actor="cli")
        deadline, zone = s.get(Incident, opened.incident_id).golden_deadline_at, owner.time_zone
    out.print(f"incident #{opened.incident_id} opened for {client}; golden deadline {_local(deadline, zone)} "
              f"({zone}); crisis group notified — {QUEUED_NOTE}")


@incident_app.command("ack")
def ack_incident(incident_id: int, by: str = typer.Option(..., help="your staff email")) -> None:
    """Acknowledge an incident: stops the climb up the ladder."""
    with Session(ready_engine()) as s, s.begin():
        counted = escalation.acknowledge(s, incident_id, by, utcnow())
    out.print(f"incident #{incident_id} " + ("acknowledged" if counted else "was already acknowledged"))


@incident_app.command("advance")
def advance_incident(
    incident_id: int,
    to: IncidentStage = typer.Option(..., help="the next stage: facts → solution → prevention → closed"),
    by: str = typer.Option(..., help="your staff email"),
    note: list[str] = typer.Option([], help="what the client is told at this stage (repeatable)"),
    responsibility: list[str] = typer.Option([], help="what the agency takes on (repeatable; with solution)"),
) -> None:
    """Move an incident to its next stage; facts, solution and prevention each go to the client at once."""
    with Session(ready_engine()) as s, s.begin():
        done = escalation.advance(s, incident_id, to, by, utcnow(), note, responsibility,
                                  agency_name=get_settings().agency_name)
    out.print(f"incident #{incident_id}: " + "; ".join(done))
    if to in escalation.CLIENT_STAGES:
        out.print(QUEUED_NOTE)


@incident_app.command("list")
def list_incidents(all_: bool = typer.Option(False, "--all", help="include closed ones")) -> None:
    """Incidents with their stage, ladder position and golden deadline."""
    now = utcnow()
    with Session(ready_engine()) as s:
        query = select(Incident, Client.slug).join(Client, Client.id == Incident.client_id)
        if not all_:
            query = query.where(Incident.closed_at.is_(None))
        rows = s.execute(query.order_by(Incident.opened_at.desc())).all()
    table = Table("#", "client", "cause", "stage", "ack", "level", "golden deadline (UTC)", "doc")
    for i, slug in rows:
        late = i.root_cause_doc_at is None and now >= i.golden_deadline_at
        table.add_row(str(i.id), slug, i.cause[:50], i.stage.value, "yes" if i.acknowledged_at else "NO",
                      escalation.LEVELS[i.escalation_level], f"{i.golden_deadline_at:%Y-%m-%d %H:%M}",
                      "in" if i.root_cause_doc_at else ("MISSED" if late else "draft"))
    out.print(table if rows else "no open incidents")


@incident_app.command("show")
def show_incident(incident_id: int) -> None:
    """An incident's state, timeline and root-cause document."""
    with Session(ready_engine()) as s:
        out.print(escalation.timeline_markdown(s, incident_id))
        out.print("")
        out.print(s.get(Incident, incident_id).root_cause_doc or "")


@contact_app.command("add")
def add_contact(
    client: str = typer.Option(..., help="the client's slug"),
    email: str = typer.Option(...),
    name: str = typer.Option(..., help="the full name as the contact writes it"),
    given_name: str | None = typer.Option(None, help="what a friendly letter calls them: Michael, 雨萱, Айгерим"),
    family_name: str | None = typer.Option(None, help="for a formal letter: Bennett, 徐, Касымова"),
    patronymic: str | None = typer.Option(None, help="Russian formal address: Касымовна"),
    honorific: Honorific | None = typer.Option(None, help="ms / mr / dr: Dear Ms Bennett, 徐女士, Уважаемая"),
    role: ContactRole = typer.Option(ContactRole.OPERATOR),
    language: Language = typer.Option(...),
    tone: Tone = typer.Option(Tone.FORMAL),
    detail: Detail = typer.Option(Detail.SUMMARY),
    channel: Channel = typer.Option(Channel.EMAIL),
) -> None:
    """Add a person at a client and how they want to be written to; the name parts make the greeting."""
    from tasks.messaging.compose import preferences

    if "@" not in email.strip("@"):
        raise CadenceError(f"--email must be an email address, got {email!r}")
    with Session(ready_engine()) as s, s.begin():
        owner = _client(s, client)
        if s.scalar(select(Contact.id).where(Contact.client_id == owner.id, Contact.email == email)) is not None:
            raise CadenceError(f"contact {email!r} already exists at {client}")
        contact = Contact(client=owner, email=email, name=name, given_name=given_name, family_name=family_name,
                          patronymic=patronymic, honorific=honorific, role=role, language=language, tone=tone,
                          detail=detail, channel=channel)
        s.add(contact)
        s.flush()
        greeting = preferences(contact, owner).greeting
    out.print(f"contact {email} added to {client}; letters open with: {greeting}")


@contact_app.command("log")
def log_contact(
    client: str = typer.Option(..., help="the client's slug"),
    channel: Channel = typer.Option(...),
    direction: Direction = typer.Option(Direction.OUTBOUND),
    summary: str = typer.Option(...),
    contact: str | None = typer.Option(None, help="the contact's email"),
    by: str | None = typer.Option(None, help="your staff email"),
    at: str | None = typer.Option(None, help="ISO time, in the client's zone unless it has an offset"),
    needs_reply: bool = typer.Option(False, help="it asks a question that wants an answer"),
) -> None:
    """Record a call, chat or meeting; it answers what was waiting on the other side."""
    with Session(ready_engine()) as s, s.begin():
        owner = _client(s, client)
        contact_id = staff_id = None
        if contact:
            contact_id = s.scalar(select(Contact.id).where(Contact.client_id == owner.id, Contact.email == contact))
            if contact_id is None:
                raise CadenceError(f"no contact {contact!r} at {client}")
        if by:
            staff_id = s.scalar(select(Staff.id).where(Staff.email == by))
            if staff_id is None:
                raise CadenceError(f"no staff member {by!r}")
        when = _when(at, owner.time_zone)
        # Contact on one side answers whatever the other side was waiting for.
        other = Direction.INBOUND if direction == Direction.OUTBOUND else Direction.OUTBOUND
        answered = s.execute(update(Interaction).where(
            Interaction.client_id == owner.id, Interaction.direction == other, Interaction.needs_reply.is_(True),
            Interaction.replied_at.is_(None), Interaction.occurred_at <= when).values(replied_at=when)).rowcount
        s.add(Interaction(client_id=owner.id, contact_id=contact_id, staff_id=staff_id, direction=direction,
                          channel=channel, occurred_at=when, summary=summary, needs_reply=needs_reply))
        zone = owner.time_zone
    out.print(f"{direction.value} {channel.value} contact with {client} logged at {_local(when, zone)}"
              + (f"; answers {answered} waiting message(s)" if answered else ""))


@tier_app.command("recompute")
def recompute_tiers(as_of: str | None = typer.Option(None, help="ISO date; default today")) -> None:
    """Recompute every client's tier from 12-month spend, cooperation and service lines; AMs hear of changes."""
    day = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
    with Session(ready_engine()) as s, s.begin():
        result = tiering.recompute_and_notify(s, day, utcnow())
    table = Table("client", "before", "after", "override", "why")
    for c in result["changes"]:
        table.add_row(c["client"], c["before"], c["after"], c["override"] or "—", c["reason"])
    out.print(f"{result['recomputed']} clients recomputed, {len(result['changes'])} changed")
    if result["changes"]:
        out.print(table)


@tier_app.command("set")
def set_tier(client: str, tier: str = typer.Argument(..., help="strategic, potential, regular, or auto")) -> None:
    """Override a client's tier (the override wins over the computed one); `auto` removes the override."""
    if tier != "auto" and tier not in {t.value for t in Tier}:
        raise CadenceError(f"tier must be strategic, potential, regular or auto, got {tier!r}")
    with Session(ready_engine()) as s, s.begin():
        owner = _client(s, client)
        owner.tier_override = None if tier == "auto" else Tier(tier)
        effective, computed = owner.effective_tier.value, owner.tier.value
    out.print(f"{client}: tier {effective}" + (" (override)" if tier != "auto" else f" (computed {computed})"))
