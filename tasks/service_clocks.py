"""The service watch's database side: the rows its clocks read, the SLA incidents it opens, and the pass that queues
the alerts of tasks/sla.py (the rules and messages, pure) into the outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from models import (
    AdAccount,
    Campaign,
    Client,
    ClientRequest,
    Contact,
    DailyMetric,
    Incident,
    Interaction,
    KeyDate,
    OptimisationNote,
    OutboundMessage,
    Staff,
)
from models.enums import (
    Audience,
    ClientStatus,
    Direction,
    IncidentSource,
    IncidentStage,
    Language,
    MessageStatus,
    NoteKind,
    RequestStatus,
    Tier,
)
from tasks import i18n
from tasks.escalation import open_incident
from tasks.messaging import enqueue, idempotency_key
from tasks.messaging.compose import in_tone, preferences
from tasks.messaging.outbox import Window
from tasks.messaging.review import approval_reminders, awaiting
from tasks.render import render_in
from tasks.rules import request_deadlines, write_first_days
from tasks.sla import (
    ClientInfo,
    KeyDateRow,
    OpenRequest,
    RequestAlert,
    Silence,
    Unanswered,
    WatchResult,
    approval_messages,
    fold_alerts,
    key_date_messages,
    key_date_reminders,
    nudge_messages,
    owed_messages,
    request_alerts,
    request_lines,
    request_messages,
    unresponsive,
    unresponsive_messages,
    write_first_nudges,
)


def load_clients(session: Session) -> dict[int, ClientInfo]:
    """Every active client with its effective tier, business window, write-first allowance and owner AM."""
    rows = session.execute(
        select(Client.id, Client.slug, Client.name, Client.tier, Client.tier_override, Client.currency,
               Client.time_zone, Client.market, Client.business_hours_start, Client.business_hours_end,
               Client.cooperation_start, Staff.id, Staff.email, Staff.name, Staff.language, Client.settings)
        .join(Staff, Staff.id == Client.owner_am_id)
        .where(Client.status == ClientStatus.ACTIVE)
    ).all()
    return {r[0]: ClientInfo(r[0], r[1], r[2], (r[4] or r[3]).value, r[5], Window(r[6], r[7], r[8], r[9]), r[10],
                             r[11], r[12], r[13], write_first_days((r[4] or r[3]).value, r[15]), r[14].value)
            for r in rows}


def load_open_requests(session: Session, clients: dict[int, ClientInfo]) -> list[OpenRequest]:
    """Requests not delivered or cancelled; a missing deadline is computed from when it was received."""
    rows = session.scalars(select(ClientRequest).where(
        ClientRequest.status.not_in([RequestStatus.DELIVERED, RequestStatus.CANCELLED]),
        ClientRequest.client_id.in_(list(clients)))).all()
    found = []
    for r in rows:
        info = clients[r.client_id]
        computed = None
        if r.confirm_due_at is None or r.plan_due_at is None or r.deliver_due_at is None:
            computed = request_deadlines(r.received_at, info.window, info.tier)
        found.append(OpenRequest(
            r.id, r.client_id, r.reference, r.title, info.tier, r.confirm_due_at or computed.confirm,
            r.plan_due_at or computed.plan, r.deliver_due_at or computed.deliver, r.acknowledged_at, r.planned_at,
            r.delivered_at))
    return found


def load_silences(session: Session, clients: dict[int, ClientInfo]) -> list[Silence]:
    """Each active client's last outbound contact: a logged one, or a client message Cadence sent."""
    logged = dict(session.execute(
        select(Interaction.client_id, func.max(Interaction.occurred_at))
        .where(Interaction.direction == Direction.OUTBOUND).group_by(Interaction.client_id)).all())
    sent = dict(session.execute(
        select(OutboundMessage.client_id, func.max(OutboundMessage.sent_at))
        .where(OutboundMessage.audience == Audience.CLIENT, OutboundMessage.status == MessageStatus.SENT,
               OutboundMessage.client_id.is_not(None)).group_by(OutboundMessage.client_id)).all())
    silences = []
    for cid, info in clients.items():
        last = max((t for t in (logged.get(cid), sent.get(cid)) if t is not None), default=None)
        silences.append(Silence(cid, info.write_first_days, info.window.zone, info.window.country, last,
                                info.cooperation_start))
    return silences


def load_unanswered(session: Session, clients: dict[int, ClientInfo]) -> list[Unanswered]:
    """Our messages that wanted a reply and got none: no reply marked and nothing inbound from the client since."""
    later = aliased(Interaction)
    answered = exists().where(later.client_id == Interaction.client_id, later.direction == Direction.INBOUND,
                              later.occurred_at > Interaction.occurred_at)
    rows = session.execute(
        select(Interaction.id, Interaction.client_id, Interaction.contact_id, Interaction.channel,
               Interaction.occurred_at, Contact.phone, Contact.messenger)
        .outerjoin(Contact, Contact.id == Interaction.contact_id)
        .where(Interaction.direction == Direction.OUTBOUND, Interaction.needs_reply.is_(True),
               Interaction.replied_at.is_(None), ~answered, Interaction.client_id.in_(list(clients)))
    ).all()
    return [Unanswered(r[0], r[1], r[2], r[3].value, r[4], clients[r[1]].window.zone, clients[r[1]].window.country,
                       bool(r[5]), bool(r[6])) for r in rows]


def load_owed(session: Session, clients: dict[int, ClientInfo]) -> list[tuple[int, int, dt.datetime, str]]:
    """Client messages that want our reply and have none yet: (interaction id, client id, when, summary)."""
    return [tuple(r) for r in session.execute(
        select(Interaction.id, Interaction.client_id, Interaction.occurred_at, Interaction.summary)
        .where(Interaction.direction == Direction.INBOUND, Interaction.needs_reply.is_(True),
               Interaction.replied_at.is_(None), Interaction.client_id.in_(list(clients)))
    ).all()]


def load_key_dates(session: Session) -> list[KeyDateRow]:
    return [KeyDateRow(k.id, k.client_id, k.market, k.title, k.kind.value, k.on_date, k.recurs_yearly, k.lead_days,
                       k.note, k.rule) for k in session.scalars(select(KeyDate))]


def load_approval_leads(session: Session, clients: dict[int, ClientInfo]) -> dict[int, tuple[int, str, str]]:
    """Who hears of an approval the AM let wait: the client's team lead, else the AM's manager, else its director;
    as (staff id, email, language)."""
    manager = aliased(Staff)
    rows = session.execute(
        select(Client.id, Client.team_lead_id, manager.id, Client.director_id)
        .join(Staff, Staff.id == Client.owner_am_id).outerjoin(manager, manager.id == Staff.manager_id)
        .where(Client.id.in_(list(clients)))).all()
    chosen = {cid: lead or mgr or director for cid, lead, mgr, director in rows if lead or mgr or director}
    people = {sid: (email, language.value) for sid, email, language in session.execute(
        select(Staff.id, Staff.email, Staff.language).where(Staff.id.in_(set(chosen.values()))))}
    return {cid: (sid, *people[sid]) for cid, sid in chosen.items()}


def draft_update(session: Session, client_id: int, as_of: dt.datetime) -> tuple[str, str]:
    """The suggested update for a nudge and who it is for, in that contact's language, tone and detail."""
    client = session.get(Client, client_id)
    contact = session.scalars(select(Contact).where(Contact.client_id == client_id, Contact.is_active.is_(True))
                              .order_by(Contact.role.desc(), Contact.id)).first()
    if contact is None:
        return "", ""
    end = as_of.astimezone(ZoneInfo(client.time_zone)).date() - dt.timedelta(days=1)
    start = end - dt.timedelta(days=6)
    totals = session.execute(
        select(AdAccount.currency, func.sum(DailyMetric.spend), func.sum(DailyMetric.conversions))
        .join(Campaign, Campaign.account_id == AdAccount.id).join(DailyMetric, DailyMetric.campaign_id == Campaign.id)
        .where(AdAccount.client_id == client_id, DailyMetric.day >= start, DailyMetric.day <= end)
        .group_by(AdAccount.currency)).all()
    kpis: dict[str, Any] = {"spend": None, "conversions": None, "cpa": None}
    currency = client.currency
    if len(totals) == 1 and totals[0][1]:
        currency, spend, conversions = totals[0][0], Decimal(totals[0][1]), Decimal(totals[0][2] or 0)
        kpis = {"spend": spend, "conversions": conversions,
                "cpa": (spend / conversions).quantize(Decimal("0.01")) if conversions else None}
    actions = list(session.scalars(
        select(OptimisationNote.action).where(OptimisationNote.client_id == client_id,
                                              OptimisationNote.kind == NoteKind.OPTIMISATION,
                                              OptimisationNote.day >= end - dt.timedelta(days=13))
        .order_by(OptimisationNote.day.desc(), OptimisationNote.id.desc()).limit(3)))
    prefs = preferences(contact, client)
    owner = session.get(Staff, client.owner_am_id)
    text = render_in(prefs.language, "email/nudge_draft.txt.j2", language=prefs.language, greeting=prefs.greeting,
                     contact={"name": prefs.name, "tone": prefs.tone}, period={"start": start, "end": end},
                     kpis=kpis, currency=currency, actions=actions, am={"name": owner.name})
    return (in_tone(prefs.language, prefs.tone, text),
            f"{contact.name} <{contact.email}> ({contact.language.value}, {contact.channel.value})")


def run_service_clocks(session: Session, as_of: dt.datetime, agency_zone: str = "UTC") -> WatchResult:
    """Every clock of the watch from the rows: only alerts whose outbox key is new are rendered and queued."""
    result = WatchResult()
    clients = load_clients(session)
    if not clients:
        return result
    alerts = request_alerts(load_open_requests(session, clients), as_of)
    # A strategic breach opens a crisis whose notice tells the AM about the request: no separate reminder for it.
    incidents = open_sla_incidents(session, alerts, clients, as_of)
    in_crisis = requests_in_crisis(session, {a.request_id for a in alerts})
    nudges = write_first_nudges(load_silences(session, clients), as_of)
    waiting = unresponsive(load_unanswered(session, clients), as_of)
    today = as_of.astimezone(ZoneInfo(agency_zone)).date()
    reminders = key_date_reminders(load_key_dates(session), today)
    approvals = awaiting(session, clients)
    chases = approval_reminders(approvals, as_of)
    candidates = [*request_messages([a for a in alerts if a.request_id not in in_crisis], clients),
                  *unresponsive_messages(waiting, clients),
                  *owed_messages(load_owed(session, clients), clients, as_of),
                  *key_date_messages(reminders, clients), *nudge_messages(nudges, clients),
                  *approval_messages(chases, approvals, clients,
                                     load_approval_leads(session, clients) if chases else {})]
    result.found = {"request_alerts": len(alerts), "write_first": len(nudges), "unresponsive": len(waiting),
                    "key_dates": len(reminders), "awaiting_approval": len(approvals), "messages": len(candidates)}
    keys = {idempotency_key(m["flow"], m["client_slug"], m["period"], m["recipient"], m["kind"]): m for m in candidates}
    existing: set[str] = set()
    key_list = list(keys)
    for part in (key_list[i : i + 500] for i in range(0, len(key_list), 500)):
        existing.update(session.scalars(select(OutboundMessage.idempotency_key)
                                        .where(OutboundMessage.idempotency_key.in_(part))))
    fresh = [m for k, m in keys.items() if k not in existing]
    for m in fresh:
        ctx = m.pop("_ctx")
        m["audience"], m["language"] = Audience(m["audience"]), Language(m["language"])  # the outbox stores enums
        if m["kind"] == "write-first":
            ctx["draft"], ctx["draft_to"] = draft_update(session, m["client_id"], as_of)
        m["body_text"] = render_in(ctx["language"], "email/watch_alert.txt.j2", **ctx)
        m["body_html"] = render_in(ctx["language"], "email/watch_alert.html.j2", **ctx)
    enqueue(session, fresh)
    result.queued = [{"kind": m["kind"], "client": m["client_slug"], "period": m["period"], "to": m["recipient"],
                      "subject": m["subject"]} for m in fresh]
    result.incidents = incidents
    return result


def open_sla_incidents(session: Session, alerts: Sequence[RequestAlert], clients: dict[int, ClientInfo],
                       as_of: dt.datetime) -> list[dict[str, Any]]:
    """A breach on a strategic client opens a crisis (one per request), as seed 003's ladder asks; its facts list
    every stage of the request that is due, so the crisis notice is the AM's one email about it."""
    strategic = {rid: group for group in fold_alerts(alerts) for rid in [group[0].request_id]
                 if group[0].tier == Tier.STRATEGIC.value and group[0].kind == "breach"}
    if not strategic:
        return []
    keys = {f"request:{rid}": group for rid, group in strategic.items()}
    known = set(session.scalars(select(Incident.dedupe_key).where(Incident.dedupe_key.in_(list(keys)))))
    opened = []
    for key, group in sorted(keys.items()):
        if key in known:
            continue
        a = group[0]
        cause = f"SLA breach: {a.reference} “{a.title}” — {a.stage} was due {a.due_at:%Y-%m-%d %H:%M} UTC"
        info = clients[a.client_id]
        with i18n.use("en"):  # the incident record is the agency's shared English record
            facts = [cause, *request_lines(group, info)[1:-1]]
        result = open_incident(session, client_id=a.client_id, source=IncidentSource.SLA, dedupe_key=key,
                               cause=cause, now=as_of, facts=facts)
        opened.append({"incident_id": result.incident_id, "client": info.slug, "cause": cause})
    return opened


def requests_in_crisis(session: Session, request_ids: Iterable[int]) -> set[int]:
    """The requests whose SLA crisis is still open: the crisis ladder reminds about them, not the watch."""
    keys = {f"request:{rid}": rid for rid in request_ids}
    if not keys:
        return set()
    return {keys[k] for k in session.scalars(select(Incident.dedupe_key).where(
        Incident.dedupe_key.in_(list(keys)), Incident.stage != IncidentStage.CLOSED))}
