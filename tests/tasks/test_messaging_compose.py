"""Composing into the outbox: the contact's preferences decide queued, held or manual; keys make it idempotent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from messaging_helpers import client_with_contact
from models import Client, Contact, OutboundMessage
from models.enums import Channel, Language, MessageStatus
from tasks.messaging import enqueue
from tasks.messaging.compose import client_message, client_update_context, compose, preferences

MONDAY_10_SHANGHAI = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone.utc)
SUNDAY_10_SHANGHAI = dt.datetime(2026, 11, 29, 2, 0, tzinfo=dt.timezone.utc)


def _compose_for(engine, contact_id: int, now: dt.datetime, is_crisis: bool = False) -> int:
    with Session(engine) as s, s.begin():
        contact = s.get(Contact, contact_id)
        client = s.get(Client, contact.client_id)
        prefs = preferences(contact, client)
        kpis = {"spend": Decimal(1000), "conversions": Decimal(10), "cpa": Decimal(100)}
        context = client_update_context(prefs, {"name": client.name, "currency": client.currency},
                                        (dt.date(2026, 11, 23), dt.date(2026, 11, 26)), kpis, None, None, [],
                                        ["Raised bids"], [], {"name": "Anna", "email": "am@agency.example"})
        row = client_message(flow="standup", kind="client-update", period="2026-11-26", client_slug=client.slug,
                             client_id=client.id, contact_id=contact.id, prefs=prefs,
                             composed=compose("client_update", prefs, context), now=now, is_crisis=is_crisis,
                             tier=client.effective_tier.value, settings=client.settings)
        return enqueue(s, [row])


def _only(engine) -> OutboundMessage:
    with Session(engine) as s:
        return s.scalars(select(OutboundMessage)).one()


def test_composed_in_business_hours_is_queued_in_the_contacts_language_once(engine):
    _client, contact_id = client_with_contact(engine, language=Language.RU)
    assert _compose_for(engine, contact_id, MONDAY_10_SHANGHAI) == 1
    assert _compose_for(engine, contact_id, MONDAY_10_SHANGHAI) == 0
    m = _only(engine)
    assert m.status == MessageStatus.QUEUED and m.language == Language.RU and "Здравствуйте" in m.body_text
    assert m.idempotency_key == "standup:acme:2026-11-26:li@client.example:client-update"
    assert m.meta["tone"] == "formal" and m.meta["role"] == "decision_maker"


def test_composed_on_a_weekend_is_held_until_monday_morning_unless_a_crisis(engine):
    _client, contact_id = client_with_contact(engine)
    _compose_for(engine, contact_id, SUNDAY_10_SHANGHAI)
    m = _only(engine)
    assert m.status == MessageStatus.HELD and m.hold_until == MONDAY_10_SHANGHAI - dt.timedelta(hours=1)
    assert "business hours" in m.hold_reason


def test_a_crisis_is_not_held(engine):
    _client, contact_id = client_with_contact(engine)
    _compose_for(engine, contact_id, SUNDAY_10_SHANGHAI, is_crisis=True)
    assert _only(engine).status == MessageStatus.QUEUED


def test_a_contact_on_telegram_gets_a_manual_message_not_a_dropped_one(engine):
    _client, contact_id = client_with_contact(engine, channel=Channel.TELEGRAM)
    _compose_for(engine, contact_id, MONDAY_10_SHANGHAI)
    m = _only(engine)
    assert m.status == MessageStatus.MANUAL and "telegram" in m.hold_reason and m.body_text
