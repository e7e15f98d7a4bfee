"""Shared builders for the messaging tests: outbox rows, a client with a contact, a SendGrid transport."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import Client, Contact, Staff
from models.enums import Audience, Channel, ContactRole, Detail, Language, StaffRole, Tone
from tasks.messaging import enqueue
from tasks.transports import SendGridTransport

API_KEY = "SG.test-key-do-not-log"
SENDER = "cadence@agency.example"


def rows(n: int, start: int = 0, **overrides: Any) -> list[dict[str, Any]]:
    """`n` internal messages shaped like the ones tasks/sweep.py enqueues."""
    return [{
        "flow": "test-flow", "kind": "note", "period": "2026-11-24", "audience": Audience.INTERNAL,
        "recipient": f"user{i}@agency.example", "language": Language.EN, "subject": f"Message {i}",
        "body_html": f"<p>Body {i}</p>", "body_text": f"Body {i}", "client_id": None, "contact_id": None,
        "staff_id": None, "is_crisis": False, "meta": {}, **overrides,
    } for i in range(start, start + n)]


def put(engine: Engine, messages: list[dict[str, Any]]) -> int:
    with Session(engine) as s, s.begin():
        return enqueue(s, messages)


def transport(url: str, key: str = API_KEY, timeout: float = 2.0) -> SendGridTransport:
    return SendGridTransport(SecretStr(key), url, SENDER, timeout=timeout)


def client_with_contact(engine: Engine, *, name: str = "Li Wei", email: str = "li@client.example",
                        channel: Channel = Channel.EMAIL, language: Language = Language.ZH,
                        client_name: str = "Acme") -> tuple[int, int]:
    with Session(engine) as s, s.begin():
        am = Staff(email="am@agency.example", name="Anna", role=StaffRole.AM)
        client = Client(slug="acme", name=client_name, industry="retail", market="CN", time_zone="Asia/Shanghai",
                        currency="CNY", cooperation_start=dt.date(2024, 1, 1), owner_am=am,
                        business_hours_start=dt.time(9), business_hours_end=dt.time(18))
        contact = Contact(client=client, name=name, email=email, role=ContactRole.DECISION_MAKER, language=language,
                          tone=Tone.FORMAL, detail=Detail.SUMMARY, channel=channel)
        s.add(contact)
        s.flush()
        return client.id, contact.id
