"""What reports read from the database, for a chunk of clients at once, as plain values and frames."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Float, cast, func, select
from sqlalchemy.orm import Session, selectinload

from models import (
    AdAccount,
    Campaign,
    Client,
    ClientRequest,
    DailyMetric,
    Finding,
    Incident,
    Interaction,
    KeyDate,
    OptimisationNote,
    OutboundMessage,
)
from models.enums import (
    Audience,
    ClientStatus,
    Direction,
    FindingStatus,
    MessageStatus,
    RequestStatus,
)
from tasks import rules
from tasks.messaging.compose import Preferences, preferences
from tasks.metrics import METRIC_COLUMNS, read_metric_window


@dataclass(frozen=True)
class Chunk:
    """A chunk of clients with everything a report reads about them."""

    clients: list[dict[str, Any]]
    contacts: dict[int, list[tuple[int, Preferences]]]
    metrics: pd.DataFrame
    campaigns: pd.DataFrame
    notes: dict[int, list[dict[str, Any]]]
    findings: dict[int, list[dict[str, Any]]]
    incidents: dict[int, list[dict[str, Any]]]
    requests: dict[int, list[dict[str, Any]]]
    key_dates: dict[int, list[dict[str, Any]]]
    last_contact: dict[int, dt.datetime | None]


def _value(enum_or_str: Any) -> Any:
    return getattr(enum_or_str, "value", enum_or_str)


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; Cadence stores UTC, so say so."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


def client_facts(client: Client) -> dict[str, Any]:
    am = client.owner_am
    return {
        "id": client.id, "slug": client.slug, "name": client.name, "industry": client.industry,
        "market": client.market, "currency": client.currency, "time_zone": client.time_zone,
        "tier": client.effective_tier.value, "status": client.status.value, "settings": dict(client.settings or {}),
        "monthly_budget": float(client.monthly_budget) if client.monthly_budget is not None else None,
        "cpa_band": ({"low": float(client.cpa_min), "high": float(client.cpa_max)}
                     if client.cpa_min is not None and client.cpa_max is not None else None),
        "target_roas": float(client.target_roas) if client.target_roas is not None else None,
        "cooperation_start": client.cooperation_start,
        "am": {"id": am.id, "name": am.name, "email": am.email, "team": am.team, "language": am.language.value},
        "is_test": bool(client.is_test),
    }


def select_clients(engine: Engine, slugs: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Active clients (or the named ones) as id, slug, tier, industry, market, settings: enough to plan."""
    query = select(Client.id, Client.slug, Client.tier, Client.tier_override, Client.industry, Client.market,
                   Client.currency, Client.settings, Client.owner_am_id).order_by(Client.id)
    query = query.where(Client.slug.in_(list(slugs))) if slugs else query.where(Client.status == ClientStatus.ACTIVE)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [{"id": r.id, "slug": r.slug, "tier": _value(r.tier_override or r.tier), "industry": r.industry,
             "market": r.market, "currency": r.currency, "settings": dict(r.settings or {}),
             "owner_am_id": r.owner_am_id} for r in rows]


def campaigns_frame(engine: Engine, client_ids: Sequence[int]) -> pd.DataFrame:
    query = (select(Campaign.id, Campaign.account_id, AdAccount.client_id, Campaign.name, Campaign.initiative)
             .join(AdAccount, AdAccount.id == Campaign.account_id).where(AdAccount.client_id.in_(list(client_ids)))
             .order_by(Campaign.id))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame([tuple(r) for r in rows],
                        columns=["campaign_id", "account_id", "client_id", "name", "initiative"]).astype(
        {"campaign_id": "int64", "account_id": "int64", "client_id": "int64"})


def load_chunk(engine: Engine, client_ids: Sequence[int], first: dt.date, last: dt.date,
               now: dt.datetime) -> Chunk:
    """Clients, contacts, metrics from `first` to `last`, and the service record a report mentions."""
    ids = list(client_ids)
    campaigns = campaigns_frame(engine, ids)
    metrics = read_metric_window(engine, campaigns, first, last)
    notes: dict[int, list[dict[str, Any]]] = defaultdict(list)
    findings: dict[int, list[dict[str, Any]]] = defaultdict(list)
    incidents: dict[int, list[dict[str, Any]]] = defaultdict(list)
    requests: dict[int, list[dict[str, Any]]] = defaultdict(list)
    key_dates: dict[int, list[dict[str, Any]]] = defaultdict(list)
    contacts: dict[int, list[tuple[int, Preferences]]] = defaultdict(list)
    with Session(engine) as s:
        clients = s.scalars(select(Client).where(Client.id.in_(ids)).order_by(Client.id)
                            .options(selectinload(Client.contacts), selectinload(Client.owner_am))).all()
        facts = [client_facts(c) for c in clients]
        for c in clients:
            for contact in sorted(c.contacts, key=lambda k: k.id):
                if contact.is_active:
                    contacts[c.id].append((contact.id, preferences(contact, c)))
        for n in s.scalars(select(OptimisationNote).where(OptimisationNote.client_id.in_(ids),
                                                          OptimisationNote.day >= first, OptimisationNote.day <= last)
                           .order_by(OptimisationNote.day, OptimisationNote.id)):
            notes[n.client_id].append({"kind": n.kind.value, "day": n.day, "action": n.action, "reason": n.reason})
        finding_rows = s.execute(
            select(Finding, Campaign.name).outerjoin(Campaign, Campaign.id == Finding.campaign_id)
            .where(Finding.client_id.in_(ids), Finding.status != FindingStatus.RESOLVED)
            .order_by(Finding.day.desc(), Finding.id)
        ).all()
        for f, campaign in finding_rows:
            findings[f.client_id].append({"severity": f.severity.value, "detector": f.detector, "day": f.day,
                                          "campaign": campaign, "recommendation": f.recommendation,
                                          "status": f.status.value, "first_seen_at": _aware(f.first_seen_at)})
        for i in s.scalars(select(Incident).where(Incident.client_id.in_(ids), Incident.closed_at.is_(None))
                           .order_by(Incident.opened_at)):
            incidents[i.client_id].append({"cause": i.cause, "stage": i.stage.value, "opened_at": _aware(i.opened_at),
                                           "golden_deadline_at": _aware(i.golden_deadline_at),
                                           "escalation_level": i.escalation_level,
                                           "root_cause_doc": bool(i.root_cause_doc)})
        open_states = (RequestStatus.OPEN, RequestStatus.ACKNOWLEDGED, RequestStatus.PLANNED)
        for r in s.scalars(select(ClientRequest).where(ClientRequest.client_id.in_(ids),
                                                       ClientRequest.status.in_(open_states))):
            requests[r.client_id].append(sla_state(r, now))
        markets = {c.market for c in clients}
        scopes = [f"market:{m}" for m in markets]
        for k in s.scalars(select(KeyDate).where((KeyDate.client_id.in_(ids)) | (KeyDate.scope.in_(scopes)))):
            item = {"title": k.title, "kind": k.kind.value, "on_date": k.on_date, "recurs_yearly": k.recurs_yearly,
                    "lead_days": k.lead_days, "note": k.note, "rule": k.rule,
                    "visibility": k.visibility.value}
            for c in clients:
                if k.client_id == c.id or k.scope == f"market:{c.market}":
                    key_dates[c.id].append(item)
        last_contact = _last_contacts(s, ids)
    return Chunk(facts, dict(contacts), metrics, campaigns, dict(notes), dict(findings), dict(incidents),
                 dict(requests), dict(key_dates), last_contact)


def _last_contacts(session: Session, ids: list[int]) -> dict[int, dt.datetime | None]:
    """When the agency last wrote to each client: an outbound interaction or a sent client message."""
    spoken = dict(session.execute(
        select(Interaction.client_id, func.max(Interaction.occurred_at))
        .where(Interaction.client_id.in_(ids), Interaction.direction == Direction.OUTBOUND)
        .group_by(Interaction.client_id)).all())
    written = dict(session.execute(
        select(OutboundMessage.client_id, func.max(OutboundMessage.sent_at))
        .where(OutboundMessage.client_id.in_(ids), OutboundMessage.audience == Audience.CLIENT,
               OutboundMessage.status == MessageStatus.SENT)
        .group_by(OutboundMessage.client_id)).all())
    out = {}
    for cid in ids:
        moments = [_aware(m) for m in (spoken.get(cid), written.get(cid)) if m is not None]
        out[cid] = max(moments) if moments else None
    return out


# The reports' names for the service watch's verdicts on a stage (rules.stage_state).
SLA_STATES = {"breach": "breached", "warning": "near", None: "on_track"}


def sla_state(request: ClientRequest, now: dt.datetime) -> dict[str, Any]:
    """The request's next 1-3-7 step, when it is due, and whether it is breached or near a breach."""
    steps = (("confirm", request.acknowledged_at, request.confirm_due_at),
             ("plan", request.planned_at, request.plan_due_at),
             ("deliver", request.delivered_at, request.deliver_due_at))
    for step, done, due in steps:
        if done is None and due is not None:
            due = _aware(due)
            state = SLA_STATES[rules.stage_state(step, due, now)]
            return {"reference": request.reference, "title": request.title, "step": step, "due_at": due,
                    "state": state}
    return {"reference": request.reference, "title": request.title, "step": "none", "due_at": None,
            "state": "on_track"}


def peer_metrics(engine: Engine, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Every client's totals for a period, summed in the database: the benchmark population."""
    m = DailyMetric
    query = (select(AdAccount.client_id, *[func.sum(cast(getattr(m, c), Float)).label(c) for c in METRIC_COLUMNS])
             .join(Campaign, Campaign.id == m.campaign_id).join(AdAccount, AdAccount.id == Campaign.account_id)
             .where(m.day >= first, m.day <= last).group_by(AdAccount.client_id))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame(rows, columns=["client_id", *METRIC_COLUMNS])
    for col in METRIC_COLUMNS:
        frame[col] = frame[col].astype("float64")
    return frame


def peer_clients(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(select(Client.id, Client.industry, Client.market, Client.currency)).all()
    return pd.DataFrame(rows, columns=["client_id", "industry", "market", "currency"])
