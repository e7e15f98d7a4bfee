"""Composing client messages: the contact's language, tone and detail applied to one set of templates."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from models import Client, Contact
from models.enums import Audience, ContactRole, Detail
from tasks.messaging.outbox import MAX_SUBJECT_CHARS, Delivery, Window, plan_delivery, window_of
from tasks.messaging.review import approval_mode, gate
from tasks.render import render_in

# Decision-makers get the conclusion and the three most important changes (seed 003: conclusion first).
BRIEF_ACTIONS = 3
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Preferences:
    """How one contact wants to be written to, read from the contact and its client."""

    email: str
    name: str
    language: str
    tone: str
    detail: str
    role: str
    channel: str
    window: Window


@dataclass(frozen=True)
class Composed:
    subject: str
    html: str
    text: str


def preferences(contact: Contact, client: Client) -> Preferences:
    return Preferences(
        email=contact.email, name=contact.name, language=contact.language.value, tone=contact.tone.value,
        detail=contact.detail.value, role=contact.role.value, channel=contact.channel.value,
        window=window_of(contact, client),
    )


def clean_subject(subject: str) -> str:
    """One line: CR/LF and runs of whitespace become one space (no header split), cut to the column's size."""
    line = _SPACE.sub(" ", subject).strip()
    return line if len(line) <= MAX_SUBJECT_CHARS else line[: MAX_SUBJECT_CHARS - 1] + "…"


def compose(template: str, prefs: Preferences, context: Mapping[str, Any]) -> Composed:
    """Render email/<template>.{subject.txt,html,txt}.j2 in the contact's language, tone and detail."""
    ctx = {**context, "language": prefs.language,
           "contact": {"name": prefs.name, "tone": prefs.tone, "detail": prefs.detail, "role": prefs.role}}
    return Composed(
        subject=clean_subject(render_in(prefs.language, f"email/{template}.subject.txt.j2", **ctx)),
        html=render_in(prefs.language, f"email/{template}.html.j2", **ctx),
        text=render_in(prefs.language, f"email/{template}.txt.j2", **ctx),
    )


def cpa_verdict(kpis: Mapping[str, Any], band: Mapping[str, Any] | None) -> str:
    """within / above / below the client's acceptable CPA band, or no_conversions / none."""
    if not kpis.get("conversions"):
        return "no_conversions" if kpis.get("spend") else "none"
    cpa = kpis.get("cpa")
    if band is None or cpa is None or band.get("low") is None or band.get("high") is None:
        return "none"
    if Decimal(str(cpa)) > Decimal(str(band["high"])):
        return "above"
    if Decimal(str(cpa)) < Decimal(str(band["low"])):
        return "below"
    return "within"


def _change(now: Any, before: Any) -> float | None:
    if now is None or not before:
        return None
    return float(now) / float(before) - 1


KPI_ROWS = (("spend", "money"), ("impressions", "number"), ("clicks", "number"), ("ctr", "percent"),
            ("cpc", "money"), ("conversions", "number"), ("cpa", "money"))


def client_update_context(
    prefs: Preferences,
    client: Mapping[str, Any],
    period: tuple[dt.date, dt.date],
    kpis: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
    cpa_band: Mapping[str, Any] | None,
    campaigns: list[Mapping[str, Any]],
    actions: list[str],
    next_steps: list[str],
    am: Mapping[str, Any],
) -> dict[str, Any]:
    """The stand-up client update's context: verdict first; decision-makers brief, operators in full."""
    brief = prefs.role == ContactRole.DECISION_MAKER.value
    shown = actions[:BRIEF_ACTIONS] if brief else actions
    return {
        "client": dict(client), "period": {"start": period[0], "end": period[1]}, "kpis": dict(kpis),
        "previous": dict(previous) if previous else None, "cpa_band": dict(cpa_band) if cpa_band else None,
        "verdict": cpa_verdict(kpis, cpa_band),
        "kpi_rows": [{"key": k, "kind": kind, "value": kpis.get(k),
                      "previous": previous.get(k) if previous else None,
                      "change": _change(kpis.get(k), previous.get(k)) if previous else None}
                     for k, kind in KPI_ROWS],
        "show_kpis": not brief or prefs.detail == Detail.CAMPAIGN.value,
        "show_campaigns": prefs.detail == Detail.CAMPAIGN.value,
        "campaigns": list(campaigns), "actions": shown, "more_actions": len(actions) - len(shown),
        "next_steps": next_steps[:BRIEF_ACTIONS] if brief else next_steps, "am": dict(am),
    }


def client_message(
    *, flow: str, kind: str, period: str, client_slug: str, client_id: int | None, contact_id: int | None,
    prefs: Preferences, composed: Composed, now: dt.datetime, tier: str, settings: Mapping[str, Any] | None,
    is_crisis: bool = False, meta: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An outbox row for `enqueue`: awaiting approval per the client's setting, else manual, held or queued."""
    plan: Delivery = gate(plan_delivery(prefs.channel, prefs.window, is_crisis, now),
                          approval_mode(settings, tier, kind))
    return {
        "flow": flow, "kind": kind, "period": period, "client_slug": client_slug, "audience": Audience.CLIENT,
        "client_id": client_id, "contact_id": contact_id, "staff_id": None, "recipient": prefs.email,
        "language": prefs.language, "subject": composed.subject, "body_html": composed.html,
        "body_text": composed.text, "is_crisis": is_crisis, "status": plan.status, "hold_until": plan.hold_until,
        "hold_reason": plan.hold_reason, "meta": {"tone": prefs.tone, "detail": prefs.detail, "role": prefs.role,
                                                  "channel": prefs.channel, **(meta or {})},
    }
