"""Today at a glance: what needs a person now, for the agency and for each client, read from the database at `as_of`."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from models import (
    AdAccount,
    Campaign,
    Client,
    Contact,
    Finding,
    ImportBatch,
    Incident,
    Interaction,
    OutboundMessage,
    PlatformConnection,
    Staff,
)
from models.base import utcnow
from models.enums import Audience, Direction, FindingStatus, MessageStatus, Severity, Tier
from tasks import i18n, internal_mail
from tasks.clock import moment_of
from tasks.escalation import LEVELS, ladder
from tasks.render import markdown_cell
from tasks.resources import configured_engine
from tasks.service_clocks import load_clients, load_open_requests, requests_in_crisis
from tasks.settings import get_settings
from tasks.sla import fold_alerts, request_alerts

AGENCY_KEY = "agency-today"
TIER_ORDER = {Tier.STRATEGIC.value: 0, Tier.POTENTIAL.value: 1, Tier.REGULAR.value: 2}
# Quarantined rows are news for a day; older import reports are in `cadence import`'s output and the inbox's failed/.
IMPORT_WINDOW = dt.timedelta(hours=24)
# The agency view lists this many rows per message section; the client views list everything.
AGENCY_ROWS = 25
# What an empty section says, in the artifacts and in `cadence today`.
EMPTY = {
    "critical": "No open critical finding.",
    "incidents": "No incident is open.",
    "requests": "No request is near or past a deadline.",
    "sent": "Nothing was sent today.",
    "held": "No message is held.",
    "awaiting": "Nothing is waiting for approval.",
    "by_hand": "Nothing is waiting to be delivered by phone or messenger.",
    "failures": "Nothing has failed.",
}
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def moment(at: dt.datetime, zone: str) -> str:
    """A time in `zone` and in UTC: "2026-11-25 14:30 Asia/Shanghai (06:30 UTC)"; the UTC date only when it differs."""
    local = at.astimezone(ZoneInfo(zone))
    utc = at.astimezone(dt.timezone.utc)
    if zone == "UTC":
        return f"{utc:%Y-%m-%d %H:%M} UTC"
    return f"{local:%Y-%m-%d %H:%M} {zone} ({utc:%Y-%m-%d %H:%M} UTC)" if local.date() != utc.date() else \
        f"{local:%Y-%m-%d %H:%M} {zone} ({utc:%H:%M} UTC)"


def no_addresses(text: str) -> str:
    """Text for an artifact: email addresses masked (artifacts carry no contact's address)."""
    return _EMAIL.sub("[address]", text)


@dataclass(frozen=True)
class CriticalFinding:
    finding_id: int
    detector: str
    where: str
    day: dt.date
    headline: str
    acknowledged_by: str | None


@dataclass(frozen=True)
class CriticalClient:
    client_id: int
    slug: str
    name: str
    tier: str
    am: str
    findings: list[CriticalFinding]


@dataclass(frozen=True)
class IncidentItem:
    incident_id: int
    client_id: int
    slug: str
    cause: str
    stage: str
    owner: str
    owner_zone: str
    opened_at: dt.datetime
    golden_deadline_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    level: int
    level_name: str
    level_person: str | None
    doc_in: bool


@dataclass(frozen=True)
class RequestStage:
    stage: str
    kind: str  # "breach" past its deadline, "warning" inside the warn window
    due_at: dt.datetime


@dataclass(frozen=True)
class RequestItem:
    request_id: int
    client_id: int
    slug: str
    reference: str
    title: str
    am: str
    am_zone: str
    stages: list[RequestStage]
    in_crisis: bool


@dataclass(frozen=True)
class MessageItem:
    message_id: int
    client_id: int | None
    slug: str
    kind: str
    audience: str
    to: str  # a contact's or staff member's name, never an address
    language: str
    subject: str
    at: dt.datetime | None  # sent at, held until, waiting since or composed at, by section
    zone: str  # the zone `at` is shown in: the contact's for client mail, the AM's otherwise
    channel: str = "email"
    note: str = ""  # why held, what to say by hand
    am: str = ""  # the client's AM


@dataclass(frozen=True)
class Failure:
    what: str  # "send", "login", "account", "import"
    client_id: int | None
    slug: str
    detail: str
    since: dt.datetime | None
    action: str


@dataclass(frozen=True)
class Today:
    """What needs a person at `as_of`: for the whole agency (`client` None) or for one client."""

    as_of: dt.datetime
    zone: str
    client: str | None = None
    client_name: str | None = None
    critical: list[CriticalClient] = field(default_factory=list)
    incidents: list[IncidentItem] = field(default_factory=list)
    requests: list[RequestItem] = field(default_factory=list)
    sent: list[MessageItem] = field(default_factory=list)
    held: list[MessageItem] = field(default_factory=list)
    awaiting: list[MessageItem] = field(default_factory=list)
    by_hand: list[MessageItem] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def day(self) -> dt.date:
        return self.as_of.astimezone(ZoneInfo(self.zone)).date()

    def has_something(self) -> bool:
        return any((self.critical, self.incidents, self.requests, self.sent, self.held, self.awaiting,
                    self.by_hand, self.failures))

    def for_client(self, client_id: int, slug: str, name: str) -> Today:
        """The same view narrowed to one client."""
        def mine(items: list) -> list:
            return [i for i in items if i.client_id == client_id]

        return replace(self, client=slug, client_name=name, critical=mine(self.critical),
                       incidents=mine(self.incidents), requests=mine(self.requests), sent=mine(self.sent),
                       held=mine(self.held), awaiting=mine(self.awaiting), by_hand=mine(self.by_hand),
                       failures=mine(self.failures))

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (times as ISO strings in UTC) for `cadence today --json`."""
        def plain(value: Any) -> Any:
            if isinstance(value, dt.datetime):
                return value.astimezone(dt.timezone.utc).isoformat()
            if isinstance(value, dt.date):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value

        return plain({**asdict(self), "day": self.day})


def _start_of_day(as_of: dt.datetime, zone: str) -> dt.datetime:
    local = as_of.astimezone(ZoneInfo(zone))
    return dt.datetime.combine(local.date(), dt.time(0), tzinfo=ZoneInfo(zone)).astimezone(dt.timezone.utc)


def critical_clients(session: Session, as_of: dt.datetime, zone: str) -> list[CriticalClient]:
    """Clients with unresolved critical findings swept up to `as_of`'s day, strategic first, with each headline."""
    day = as_of.astimezone(ZoneInfo(zone)).date()
    rows = session.execute(
        select(Finding, Client.slug, Client.name, Client.tier, Client.tier_override, Staff.name, AdAccount.name,
               Campaign.name)
        .join(Client, Client.id == Finding.client_id).join(Staff, Staff.id == Client.owner_am_id)
        .join(AdAccount, AdAccount.id == Finding.account_id).outerjoin(Campaign, Campaign.id == Finding.campaign_id)
        .where(Finding.severity == Severity.CRITICAL, Finding.status != FindingStatus.RESOLVED, Finding.day <= day)
        .order_by(Finding.client_id, Finding.day.desc(), Finding.id)).all()
    by_client: dict[int, CriticalClient] = {}
    with i18n.use("en"):  # the agency's shared view is in English, like the incident record
        for f, slug, name, tier, override, am, account, campaign in rows:
            item = by_client.setdefault(f.client_id, CriticalClient(
                f.client_id, slug, name, (override or tier).value, am, []))
            ack = (f.acknowledged_by or "someone") if f.status == FindingStatus.ACKNOWLEDGED else None
            item.findings.append(CriticalFinding(f.id, f.detector, account + (f" / {campaign}" if campaign else ""),
                                                 f.day, internal_mail.headline(f.detector, f.evidence), ack))
    return sorted(by_client.values(), key=lambda c: (TIER_ORDER.get(c.tier, 9), c.slug))


def open_incident_items(session: Session, as_of: dt.datetime) -> list[IncidentItem]:
    """Incidents open at `as_of`, soonest golden deadline first, with who is on the ladder now."""
    acker = aliased(Staff)
    rows = session.execute(
        select(Incident, Client, Staff, acker.name).join(Client, Client.id == Incident.client_id)
        .join(Staff, Staff.id == Incident.owner_id).outerjoin(acker, acker.id == Incident.acknowledged_by_id)
        .where(Incident.closed_at.is_(None), Incident.opened_at <= as_of)
        .order_by(Incident.golden_deadline_at, Incident.id)).all()
    items = []
    for incident, client, owner, acked_by in rows:
        person = ladder(session, client)[incident.escalation_level]
        items.append(IncidentItem(
            incident.id, client.id, client.slug, incident.cause.splitlines()[0], incident.stage.value, owner.name,
            owner.time_zone or "UTC", incident.opened_at, incident.golden_deadline_at, incident.acknowledged_at,
            acked_by, incident.escalation_level, LEVELS[incident.escalation_level],
            person.name if person is not None else None, incident.root_cause_doc_at is not None))
    return items


def request_items(session: Session, as_of: dt.datetime) -> list[RequestItem]:
    """Requests with a 1-3-7 stage near or past its deadline (the service watch's own rule), overdue first."""
    clients = load_clients(session)
    if not clients:
        return []
    alerts = request_alerts(load_open_requests(session, clients), as_of)
    in_crisis = requests_in_crisis(session, {a.request_id for a in alerts})
    zones = dict(session.execute(select(Staff.id, Staff.time_zone)
                                 .where(Staff.id.in_({c.am_id for c in clients.values()}))).all())
    items = []
    for group in fold_alerts(alerts):
        first, info = group[0], clients[group[0].client_id]
        items.append(RequestItem(first.request_id, first.client_id, info.slug, first.reference, first.title,
                                 info.am_name, zones.get(info.am_id) or "UTC",
                                 [RequestStage(a.stage, a.kind, a.due_at) for a in group],
                                 first.request_id in in_crisis))
    return sorted(items, key=lambda r: (r.stages[0].kind != "breach", min(s.due_at for s in r.stages), r.request_id))


def _messages(session: Session, *conditions: Any) -> list[tuple[OutboundMessage, Client | None, Contact | None,
                                                                 Staff | None, Staff | None]]:
    """Messages with their client, contact, staff recipient and the client's AM."""
    am = aliased(Staff)
    return session.execute(
        select(OutboundMessage, Client, Contact, Staff, am)
        .outerjoin(Client, Client.id == OutboundMessage.client_id)
        .outerjoin(Contact, Contact.id == OutboundMessage.contact_id)
        .outerjoin(Staff, Staff.id == OutboundMessage.staff_id)
        .outerjoin(am, am.id == Client.owner_am_id)
        .where(*conditions).order_by(OutboundMessage.id)).all()


def _item(m: OutboundMessage, client: Client | None, contact: Contact | None, staff: Staff | None,
          am: Staff | None, at: dt.datetime | None, note: str = "", am_reads: bool = False) -> MessageItem:
    """One message as a row; `at` is shown in the contact's zone (client mail), the staff member's (internal mail),
    or the AM's when the AM is the one to act (`am_reads`)."""
    am_zone = (am.time_zone if am is not None else None) or "UTC"
    if am_reads:
        to, zone = contact.name if contact is not None else (staff.name if staff is not None else "-"), am_zone
    elif contact is not None:
        to, zone = contact.name, contact.time_zone or client.time_zone
    elif staff is not None:
        to, zone = staff.name, staff.time_zone or "UTC"
    else:
        to, zone = "-", am_zone
    return MessageItem(m.id, m.client_id, client.slug if client is not None else "-", m.kind, m.audience.value, to,
                       m.language.value, no_addresses(m.subject), at, zone or "UTC",
                       contact.channel.value if contact is not None else "email", note,
                       am.name if am is not None else "")


def message_items(session: Session, as_of: dt.datetime, zone: str) -> dict[str, list[MessageItem]]:
    """Sent since the agency's midnight, held for business hours, awaiting approval, and left to the AM by hand."""
    since = _start_of_day(as_of, zone)
    sent = [_item(m, c, ct, st, z, m.sent_at) for m, c, ct, st, z in _messages(
        session, OutboundMessage.status == MessageStatus.SENT, OutboundMessage.sent_at >= since,
        OutboundMessage.sent_at <= as_of)]
    held = [_item(m, c, ct, st, z, m.hold_until) for m, c, ct, st, z in _messages(
        session, OutboundMessage.status == MessageStatus.HELD, OutboundMessage.created_at <= as_of)]
    approvals = [_item(m, c, ct, st, z, m.created_at, am_reads=True) for m, c, ct, st, z in _messages(
        session, OutboundMessage.status == MessageStatus.AWAITING_APPROVAL, OutboundMessage.created_at <= as_of)]
    # A call or chat logged with the client after the message was composed is its delivery by hand.
    delivered = exists().where(Interaction.client_id == OutboundMessage.client_id,
                               Interaction.direction == Direction.OUTBOUND,
                               Interaction.occurred_at >= OutboundMessage.created_at,
                               Interaction.occurred_at <= as_of)
    by_hand = [_item(m, c, ct, st, z, m.created_at, no_addresses(m.body_text), am_reads=True)
               for m, c, ct, st, z in _messages(session, OutboundMessage.status == MessageStatus.MANUAL,
                                                OutboundMessage.created_at <= as_of, ~delivered)]
    return {"sent": sorted(sent, key=lambda m: (m.at, m.message_id)), "held": sorted(
        held, key=lambda m: (m.at or as_of, m.message_id)), "awaiting": approvals, "by_hand": by_hand}


def failures(session: Session, as_of: dt.datetime) -> list[Failure]:
    """What needs a person: sends that failed or may have gone, broken platform logins, imports with rows left out."""
    found = []
    for m, client, _contact, _staff, _zone in _messages(
            session, OutboundMessage.status.in_([MessageStatus.FAILED, MessageStatus.DEAD, MessageStatus.UNCERTAIN]),
            OutboundMessage.created_at <= as_of):
        slug = client.slug if client is not None else "-"
        error = no_addresses(" ".join((m.last_error or "").split()))[:160]
        if m.status == MessageStatus.FAILED:
            detail = f"message {m.id} ({m.kind}) failed {m.attempts} time(s), retried automatically: {error}"
            action = f"next try {m.next_attempt_at:%Y-%m-%d %H:%M} UTC" if m.next_attempt_at else "next dispatch"
        elif m.status == MessageStatus.DEAD:
            detail = f"message {m.id} ({m.kind}) given up: {error}"
            action = f"fix the cause, then `cadence outbox retry {m.id}`"
        else:
            detail = f"message {m.id} ({m.kind}) may or may not have gone out: {error}"
            action = f"check the provider's activity, then `cadence outbox retry {m.id}` if it did not go"
        found.append(Failure("send", m.client_id, slug, detail, m.next_attempt_at or m.created_at, action))
    for login in session.scalars(select(PlatformConnection).where(PlatformConnection.problem.is_not(None))
                                 .order_by(PlatformConnection.id)):
        found.append(Failure("login", None, "-", f"{login.platform.value} login {login.label!r}: "
                             f"{no_addresses(login.problem)[:160]}", login.last_synced_at,
                             f"`cadence account connect {login.platform.value} --label {login.label}` to reconnect"))
    for account, slug in session.execute(
            select(AdAccount, Client.slug).join(Client, Client.id == AdAccount.client_id)
            .where(AdAccount.sync_problem.is_not(None), AdAccount.connection_id.is_(None)
                   | ~AdAccount.connection_id.in_(select(PlatformConnection.id)
                                                  .where(PlatformConnection.problem.is_not(None))))
            .order_by(AdAccount.id)):
        found.append(Failure("account", account.client_id, slug, f"{account.platform.value} account "
                             f"{account.external_id}: {no_addresses(account.sync_problem)[:160]}",
                             account.sync_problem_since, "see `cadence account logins`; `cadence sync` pulls again"))
    for batch, account, slug in session.execute(
            select(ImportBatch, AdAccount, Client.slug).join(AdAccount, AdAccount.id == ImportBatch.account_id)
            .join(Client, Client.id == AdAccount.client_id)
            .where(ImportBatch.quarantined > 0, ImportBatch.imported_at > as_of - IMPORT_WINDOW,
                   ImportBatch.imported_at <= as_of).order_by(ImportBatch.id)):
        found.append(Failure("import", account.client_id, slug, f"{batch.file_name} into {account.external_id}: "
                             f"{batch.quarantined} of {batch.rows_in} rows quarantined", batch.imported_at,
                             "fix the rows and import the file again (the loaded rows stay as they are)"))
    return found


def build_today(session: Session, as_of: dt.datetime, zone: str) -> Today:
    """The agency's today at `as_of` (aware); `zone` is the agency's, whose midnight starts "sent today"."""
    as_of = as_of.astimezone(dt.timezone.utc)
    return Today(as_of=as_of, zone=zone, critical=critical_clients(session, as_of, zone),
                 incidents=open_incident_items(session, as_of), requests=request_items(session, as_of),
                 **message_items(session, as_of, zone), failures=failures(session, as_of))


def client_views(session: Session, today: Today) -> list[tuple[int, str, Today]]:
    """(client id, slug, view) for every client with something today, by slug."""
    ids = {i.client_id for section in (today.critical, today.incidents, today.requests, today.sent, today.held,
                                       today.awaiting, today.by_hand, today.failures)
           for i in section if i.client_id is not None}
    rows = session.execute(select(Client.id, Client.slug, Client.name).where(Client.id.in_(ids))
                           .order_by(Client.slug)).all() if ids else []
    return [(cid, slug, today.for_client(cid, slug, name)) for cid, slug, name in rows]


def client_key(slug: str, client_id: int) -> str:
    """`client-<slug>`; a slug that is not lowercase letters, digits and dashes is cleaned and keeps its id."""
    from tasks.reports.output import safe_name

    name = safe_name(slug, str(client_id))
    if name != slug and name != str(client_id):
        name = f"{name}-{client_id}"
    return f"client-{name}"


def _capped(items: list, limit: int | None) -> tuple[list, int]:
    if limit is None or len(items) <= limit:
        return items, 0
    return items[:limit], len(items) - limit


def _more(hidden: int, command: str) -> list[str]:
    return ["", f"… and {hidden} more: `{command}`."] if hidden else []


def _by_am(items: list[MessageItem]) -> str:
    counts = Counter(m.am or "no AM" for m in items)
    return "By AM: " + ", ".join(f"{am} {n}" for am, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) + "."


def _finding(f: CriticalFinding) -> str:
    ack = f", acknowledged by {f.acknowledged_by}" if f.acknowledged_by else ""
    return f"{f.headline} — {f.where}, {f.day} (finding {f.finding_id}{ack})"


def render_markdown(today: Today) -> str:
    """The today view as markdown: one section per question, an empty one says so in one line."""
    agency = today.client is None
    limit = AGENCY_ROWS if agency else None
    title = "Today at the agency" if agency else f"Today for {today.client_name} ({today.client})"
    lines = [f"# {title} — {today.day:%A %d %B %Y}", "",
             f"Times are in the reader's zone with UTC in brackets; the day runs from midnight {today.zone}."]
    if not agency:
        lines.append("The agency-wide view is the `agency-today` artifact; `cadence today --client "
                     f"{today.client}` prints this from the shell.")
    lines += ["", "## Critical clients", ""]
    if not today.critical:
        lines.append(EMPTY["critical"])
    for c in today.critical:
        more = f" (+{len(c.findings) - 1} more critical)" if agency and len(c.findings) > 1 else ""
        lines.append(f"- **{c.name}** (`{c.slug}`, {c.tier}, AM {c.am}): {_finding(c.findings[0])}{more}")
        if not agency:
            lines += [f"  - {_finding(f)}" for f in c.findings[1:]]
    if today.critical:
        lines += ["", "Evidence and advice: `cadence findings show ID`; `cadence findings list --severity critical`."]

    lines += ["", "## Open incidents", ""]
    if not today.incidents:
        lines.append(EMPTY["incidents"])
    else:
        lines += ["| # | client | cause | stage | owner (only outward voice) | acknowledged | ladder | "
                  "golden deadline (owner's time) |", "|---|---|---|---|---|---|---|---|"]
        for i in today.incidents:
            ack = f"{moment(i.acknowledged_at, i.owner_zone)} by {i.acknowledged_by}" if i.acknowledged_at else "**no**"
            rung = f"level {i.level}: {i.level_name}" + (f" ({i.level_person})" if i.level_person else "")
            passed = today.as_of >= i.golden_deadline_at
            deadline = moment(i.golden_deadline_at, i.owner_zone) + (
                " — document in" if i.doc_in else (" — **missed**" if passed else ""))
            lines.append(f"| {i.incident_id} | {i.slug} | {markdown_cell(i.cause, 60)} | {i.stage} | {i.owner} | "
                         f"{ack} | {rung} | {deadline} |")
        lines += ["", "Acknowledge or advance: **Deployments → incident-action → Run** with the incident number, or "
                  "`cadence incident ack|advance ID`; the timeline is the `incident-ID` artifact."]

    lines += ["", "## Client requests on the 1-3-7 clock", ""]
    if not today.requests:
        lines.append(EMPTY["requests"])
    for r in today.requests:
        stages = "; ".join(f"{'**overdue**' if s.kind == 'breach' else 'due soon'}: {s.stage} by "
                           f"{moment(s.due_at, r.am_zone)}" for s in r.stages)
        crisis = " — a crisis is open for it" if r.in_crisis else ""
        lines.append(f"- `{r.slug}` {r.reference} “{markdown_cell(r.title, 80)}” (AM {r.am}): {stages}{crisis}")

    lines += ["", "## Messages", "", f"### Sent today ({len(today.sent)})", ""]
    if not today.sent:
        lines.append(EMPTY["sent"])
    else:
        kinds = Counter(f"{m.kind} ({m.audience})" for m in today.sent)
        lines.append("By kind: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + ".")
        # The agency lists what went to clients; a client's view lists its internal mail too.
        listed = [m for m in today.sent if m.audience == Audience.CLIENT.value or not agency]
        shown, hidden = _capped(listed, limit)
        if shown:
            lines += ["", "| id | client | kind | to | sent (their time) | subject |", "|---|---|---|---|---|---|"]
            lines += [f"| {m.message_id} | {m.slug} | {m.kind} | {markdown_cell(m.to, 40)} | {moment(m.at, m.zone)} | "
                      f"{markdown_cell(m.subject, 70)} |" for m in shown]
            lines += _more(hidden, "cadence outbox list --status sent")

    lines += ["", f"### Held for the contact's business hours ({len(today.held)})", ""]
    if not today.held:
        lines.append(EMPTY["held"])
    else:
        shown, hidden = _capped(today.held, limit)
        lines += ["| id | client | kind | to | goes out (their time) | subject |", "|---|---|---|---|---|---|"]
        lines += [f"| {m.message_id} | {m.slug} | {m.kind} | {markdown_cell(m.to, 40)} | "
                  f"{moment(m.at, m.zone) if m.at else 'when released'} | {markdown_cell(m.subject, 70)} |"
                  for m in shown]
        lines += _more(hidden, "cadence outbox list --status held")
        lines += ["", "Send one now anyway: `cadence outbox release ID`."]

    lines += ["", f"### Waiting for approval ({len(today.awaiting)})", ""]
    if not today.awaiting:
        lines.append(EMPTY["awaiting"])
    else:
        if agency:
            lines += [_by_am(today.awaiting), ""]
        lines += ["| id | client | kind | language | waiting since (AM's time) | subject |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {m.message_id} | {m.slug} | {m.kind} | {m.language} | {moment(m.at, m.zone)} | "
                  f"{markdown_cell(m.subject, 70)} |" for m in today.awaiting]
        lines += ["", "Decide: **Deployments → message-approval → Run** with the id as *Message*, or "
                  "`cadence outbox approve|edit|reject ID --by EMAIL`; read it with `cadence outbox show ID`."]

    lines += ["", f"### For the AM to deliver by hand ({len(today.by_hand)})", ""]
    if not today.by_hand:
        lines.append(EMPTY["by_hand"])
    else:
        lines.append("These contacts prefer a call or a messenger: the AM says it, then logs it "
                     "(`cadence contact log --client SLUG --channel CHANNEL --summary ...`), which takes it off "
                     "this list.")
        if agency:
            lines += ["", _by_am(today.by_hand)]
        shown, hidden = _capped(today.by_hand, limit)
        for m in shown:
            lines += ["", f"- **{m.message_id}** `{m.slug}` {m.kind} to {m.to} by {m.channel} ({m.language}), "
                          f"composed {moment(m.at, m.zone)} (AM's time): “{markdown_cell(m.subject, 90)}”"]
            say = markdown_cell(m.note, 240) if agency else m.note.strip()
            lines += ["", *(f"  > {line}" if line.strip() else "  >" for line in say.splitlines())]
        lines += _more(hidden, "cadence outbox list --status manual")

    lines += ["", "## Failures that need a person", ""]
    if not today.failures:
        lines.append(EMPTY["failures"])
    else:
        lines += ["| what | client | detail | since | what to do |", "|---|---|---|---|---|"]
        lines += [f"| {f.what} | {f.slug} | {markdown_cell(f.detail, 160)} | "
                  f"{f'{f.since:%Y-%m-%d %H:%M} UTC' if f.since else ''} | {f.action} |" for f in today.failures]
    return "\n".join(lines) + "\n"


def _latest_artifacts() -> dict[str, str]:
    """The latest data under `agency-today` and each `client-…` key (one call per 200 keys): what the UI shows now."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey

    found: dict[str, str] = {}
    with get_client(sync_client=True) as client:
        for key in (ArtifactCollectionFilterKey(any_=[AGENCY_KEY]), ArtifactCollectionFilterKey(like_="client-")):
            offset = 0
            while batch := client.read_latest_artifacts(artifact_filter=ArtifactCollectionFilter(key=key),
                                                        limit=200, offset=offset):
                found.update({a.key: a.data for a in batch if a.key == AGENCY_KEY or a.key.startswith("client-")})
                offset += len(batch)
    return found


def nothing_markdown(slug: str, name: str, day: dt.date) -> str:
    return f"# Today for {name} ({slug}) — {day:%A %d %B %Y}\n\nNothing needs anyone for this client now.\n"


def view_moment(as_of: dt.datetime | dt.date | None, zone: str) -> dt.datetime:
    """When the published view is of: now, or the flow's moment when that is later (a day as `clock.moment_of`).

    `agency-today` is always today's: a back-fill of an earlier day never publishes that day's view over it."""
    now = utcnow()
    if isinstance(as_of, dt.datetime):
        return max(now, as_of.astimezone(dt.timezone.utc))
    if isinstance(as_of, dt.date):
        return max(now, moment_of(as_of, zone).astimezone(dt.timezone.utc))
    return now


def publish(as_of: dt.datetime | dt.date | None = None) -> dict[str, Any]:
    """`agency-today` and one `client-<slug>` artifact per client with something (or that had something); an
    artifact whose text is what the UI already shows is not written again, so a re-run writes nothing."""
    from prefect.artifacts import create_markdown_artifact

    zone = get_settings().agency_time_zone
    at = view_moment(as_of, zone)
    with Session(configured_engine()) as s:
        today = build_today(s, at, zone)
        views = client_views(s, today)
        clients = {client_key(slug, cid): (slug, name) for cid, slug, name in
                   s.execute(select(Client.id, Client.slug, Client.name)).all()}
    wanted = {AGENCY_KEY: render_markdown(today)}
    wanted |= {client_key(slug, cid): render_markdown(view) for cid, slug, view in views}
    latest = _latest_artifacts()
    for key in latest.keys() - wanted.keys():
        if key in clients:  # a client that had something and now has nothing says so, rather than keep stale lines
            wanted[key] = nothing_markdown(*clients[key], today.day)
    written = 0
    for key, markdown in sorted(wanted.items()):
        if latest.get(key) == markdown:
            continue
        description = (f"Today for {clients[key][0]}: what needs a person" if key in clients else
                       "What needs a person today: critical clients, incidents, request clocks, messages, failures")
        create_markdown_artifact(markdown, key=key, description=description)
        written += 1
    return {"at": f"{at:%Y-%m-%d %H:%M} UTC", "clients": len(views), "artifacts": len(wanted), "written": written}


@task(name="publish-today", cache_policy=NO_CACHE)
def publish_today(as_of: dt.datetime | dt.date | None = None) -> dict[str, Any]:
    """The today artifacts from a flow: one task run for all of them."""
    result = publish(as_of)
    get_run_logger().info("today view at %s: %d of %d artifact(s) changed and written", result["at"],
                          result["written"], result["artifacts"])
    return result


def publish_standalone(as_of: dt.datetime | dt.date | None = None) -> dict[str, Any]:
    """The today artifacts outside any flow (`cadence demo`'s last step): a task run of its own, whose log lines
    stay in this process, since the API keeps logs only for flow runs."""
    from prefect.settings import PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW, temporary_settings

    with temporary_settings({PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW: "ignore"}):
        return publish_today(as_of)


def refresh_today(as_of: dt.datetime | dt.date | None = None) -> None:
    """Publish the today view from a flow; a failure is a warning in the run's log, never the flow's failure."""
    state = publish_today(as_of, return_state=True)
    if not state.is_completed():
        get_run_logger().warning("the today view was not refreshed: %s", state.message)
