"""Builders for the review-gate tests: a client with its AM, team lead and director, and a message to approve."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Client, Contact, OutboundMessage, Staff
from models.enums import Channel, ContactRole, Detail, Language, StaffRole, Tier, Tone
from tasks.messaging import enqueue
from tasks.messaging.compose import Composed, client_message, preferences

# Tuesday 24 November 2026, 10:00 in Shanghai: inside the client's business hours (09:00-18:00).
TUESDAY_10 = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.timezone.utc)


def gated_agency(engine, tier: Tier = Tier.STRATEGIC, channel: Channel = Channel.EMAIL) -> dict[str, int]:
    """A client with its AM, team lead and director, one email contact, and an AM of another client."""
    with Session(engine) as s, s.begin():
        lead = Staff(email="lead@agency.example", name="Lena Lead", role=StaffRole.TEAM_LEAD)
        director = Staff(email="boss@agency.example", name="Dora Director", role=StaffRole.DIRECTOR)
        am = Staff(email="am@agency.example", name="Anna", role=StaffRole.AM)
        other = Staff(email="other@agency.example", name="Oleg", role=StaffRole.AM)
        s.add_all([lead, director, am, other])
        s.flush()
        client = Client(slug="acme", name="Acme", industry="retail", market="CN", time_zone="Asia/Shanghai",
                        currency="CNY", cooperation_start=dt.date(2024, 1, 1), owner_am_id=am.id,
                        team_lead_id=lead.id, director_id=director.id, tier=tier,
                        business_hours_start=dt.time(9), business_hours_end=dt.time(18))
        contact = Contact(client=client, name="Li Wei", email="li@client.example", role=ContactRole.DECISION_MAKER,
                          language=Language.ZH, tone=Tone.FORMAL, detail=Detail.SUMMARY, channel=channel)
        s.add(contact)
        s.flush()
        return {"client": client.id, "contact": contact.id, "am": am.id, "lead": lead.id}


def compose_for(engine, ids: dict[str, int], kind: str = "recap", now: dt.datetime = TUESDAY_10,
                is_crisis: bool = False) -> int:
    """One client message through client_message, as the recap, stand-up and crisis flows build them."""
    with Session(engine) as s, s.begin():
        client, contact = s.get(Client, ids["client"]), s.get(Contact, ids["contact"])
        row = client_message(flow="monthly-recap", kind=kind, period="2026-10", client_slug=client.slug,
                             client_id=client.id, contact_id=contact.id, prefs=preferences(contact, client),
                             composed=Composed("Your October recap", "<p>Spend rose.</p>", "Spend rose.\n"),
                             now=now, is_crisis=is_crisis, tier=client.effective_tier.value,
                             settings=client.settings)
        enqueue(s, [row])
        return s.scalar(select(OutboundMessage.id).order_by(OutboundMessage.id.desc()))
