"""The twice-weekly stand-up: one summary per AM, client updates by tier, nothing composed twice."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from flows.standup import standup_summary
from models import Client, OutboundMessage, Staff
from models.enums import Tier

MONDAY, THURSDAY = dt.date(2026, 11, 23), dt.date(2026, 11, 26)
DEMO = {"as_of": THURSDAY, "seed": 11, "clients": 8, "days": 45}


@pytest.fixture
def demo(engine, demo):
    with Session(engine) as s, s.begin():
        # The control is the demo's test client: strategic, yet never sent an update; the British client is sent one.
        s.execute(update(Client).where(Client.slug.in_(["demo-control", "bramble-travel"]))
                  .values(tier_override=Tier.STRATEGIC))
    return demo


def _messages(engine, kind: str) -> list[OutboundMessage]:
    with Session(engine) as s:
        return list(s.scalars(select(OutboundMessage).where(OutboundMessage.kind == kind)))


def test_standup_summaries_per_am_and_updates_by_tier(engine, demo, prefect_harness):
    with Session(engine) as s:
        clients = s.scalars(select(Client)).all()
        tiers = {c.id: c.effective_tier.value for c in clients if not c.is_test}
        ams = {c.owner_am_id for c in clients}
        contacts = {c.id: len([k for k in c.contacts if k.is_active]) for c in clients if not c.is_test}
        control = s.scalar(select(Client.id).where(Client.slug == "demo-control", Client.is_test.is_(True)))
    thursday = standup_summary(as_of=THURSDAY, dispatch=False)
    updates = _messages(engine, "client_update")
    strategic = {cid for cid, t in tiers.items() if t == "strategic"}
    assert strategic and control not in tiers and {m.client_id for m in updates} == strategic
    assert thursday["new_updates"] == sum(contacts[cid] for cid in strategic)
    summaries = _messages(engine, "standup_summary")
    assert len(summaries) == len(ams) and all(m.period == "2026-11-23..2026-11-25" for m in summaries)
    with Session(engine) as s:
        languages = {st.id: st.language for st in s.scalars(select(Staff))}
    assert {m.language for m in summaries} == {languages[m.staff_id] for m in summaries}
    assert all(m.language == languages[m.staff_id] for m in summaries)
    for m in summaries:  # each AM reads it in their language, plural forms included
        english = m.language.value == "en"
        assert ("Since the last stand-up" in m.body_text) == english, m.body_text
        assert english or not re.search(r"\b(need|needs) attention\b|\bclients?\b", m.subject + m.body_text)

    monday = standup_summary(as_of=MONDAY, dispatch=False)
    assert monday["new_updates"] == sum(contacts.values())  # Monday: everyone with the default weekly cadence
    again = standup_summary(as_of=MONDAY, dispatch=False)
    assert again["new_updates"] == 0 and again["summaries"]["new"] == 0
