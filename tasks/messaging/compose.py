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
from tasks.i18n import reader_knows
from tasks.messaging.outbox import MAX_SUBJECT_CHARS, Delivery, Window, plan_delivery, window_of
from tasks.messaging.review import approval_mode, gate
from tasks.messaging.salutation import NameParts, salutation
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
    given_name: str | None = None
    family_name: str | None = None
    patronymic: str | None = None
    honorific: str | None = None
    # Terms explained to this contact in earlier messages: not explained again.
    known_terms: frozenset[str] = frozenset()

    @property
    def greeting(self) -> str:
        return salutation(self.language, self.tone, NameParts(self.name, self.given_name, self.family_name,
                                                               self.patronymic, self.honorific))


@dataclass(frozen=True)
class Composed:
    subject: str
    html: str
    text: str
    terms: tuple[str, ...] = ()


def preferences(contact: Contact, client: Client) -> Preferences:
    return Preferences(
        email=contact.email, name=contact.name, language=contact.language.value, tone=contact.tone.value,
        detail=contact.detail.value, role=contact.role.value, channel=contact.channel.value,
        window=window_of(contact, client), given_name=contact.given_name, family_name=contact.family_name,
        patronymic=contact.patronymic, honorific=contact.honorific.value if contact.honorific else None,
        known_terms=frozenset(contact.glossary_sent or ()),
    )


def sender(am_name: str | None, am_email: str | None, agency_name: str) -> dict[str, str | None]:
    """What a client message is sent as: `Anna Petrova, Agency` on the agency's address, replies to the AM."""
    return {"from_name": f"{am_name}, {agency_name}" if am_name else agency_name, "reply_to": am_email or None}


def in_tone(language: str, tone: str, text: str) -> str:
    """The zh catalogue addresses the reader as 您; a friendly letter says 你 throughout, as it greets."""
    return text.replace("您", "你") if language == "zh" and tone == "friendly" else text


def clean_subject(subject: str) -> str:
    """One line: CR/LF and runs of whitespace become one space (no header split), cut to the column's size."""
    line = _SPACE.sub(" ", subject).strip()
    return line if len(line) <= MAX_SUBJECT_CHARS else line[: MAX_SUBJECT_CHARS - 1] + "…"


def compose(template: str, prefs: Preferences, context: Mapping[str, Any]) -> Composed:
    """Render email/<template>.{subject.txt,html,txt}.j2 in the contact's language, tone and detail."""
    ctx = {**context, "language": prefs.language, "greeting": prefs.greeting,
           "contact": {"name": prefs.name, "tone": prefs.tone, "detail": prefs.detail, "role": prefs.role}}

    def part(name: str) -> str:
        return in_tone(prefs.language, prefs.tone, render_in(prefs.language, f"email/{template}.{name}.j2", **ctx))

    with reader_knows(prefs.known_terms) as explained:
        subject, html, text = clean_subject(part("subject.txt")), part("html"), part("txt")
    return Composed(subject=subject, html=html, text=text, terms=tuple(sorted(explained)))


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
    is_crisis: bool = False, meta: Mapping[str, Any] | None = None, sent_as: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An outbox row for `enqueue`: awaiting approval per the client's setting, else manual, held or queued.

    `sent_as` (from `sender`) goes into the row's meta, so every (re)send shows the same sender and Reply-To.
    """
    plan: Delivery = gate(plan_delivery(prefs.channel, prefs.window, is_crisis, now),
                          approval_mode(settings, tier, kind))
    return {
        "flow": flow, "kind": kind, "period": period, "client_slug": client_slug, "audience": Audience.CLIENT,
        "client_id": client_id, "contact_id": contact_id, "staff_id": None, "recipient": prefs.email,
        "language": prefs.language, "subject": composed.subject, "body_html": composed.html,
        "body_text": composed.text, "is_crisis": is_crisis, "status": plan.status, "hold_until": plan.hold_until,
        "hold_reason": plan.hold_reason, "meta": {"tone": prefs.tone, "detail": prefs.detail, "role": prefs.role,
                                                  "channel": prefs.channel, **(dict(sent_as) if sent_as else {}),
                                                  **({"terms": list(composed.terms)} if composed.terms else {}),
                                                  **(meta or {})},
    }
