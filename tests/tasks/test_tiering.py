"""Tiers from scale, cooperation and need; the override wins; a monthly recompute tells the AM what changed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AdAccount, Campaign, Client, DailyMetric, OutboundMessage, Staff
from models.enums import Language, Platform, StaffRole, Tier
from tasks.tiering import TierInputs, assign_tier, due_for_recompute, months_between, recompute_and_notify, to_usd

AS_OF = dt.date(2026, 11, 25)


@pytest.mark.parametrize(("spend", "start", "services", "history", "tier", "score"), [
    ({"CNY": Decimal(9_000_000)}, dt.date(2022, 1, 1), 4, 365, Tier.STRATEGIC, 6),
    ({"USD": Decimal(1_200_000)}, dt.date(2025, 6, 1), 4, 365, Tier.STRATEGIC, 5),
    ({"USD": Decimal(1_200_000)}, dt.date(2026, 6, 1), 2, 365, Tier.POTENTIAL, 3),   # big but new, one need
    ({"RUB": Decimal(30_000_000)}, dt.date(2025, 1, 1), 3, 365, Tier.POTENTIAL, 3),  # ~$326k
    ({"USD": Decimal(200_000)}, dt.date(2024, 1, 1), 1, 365, Tier.REGULAR, 1),
    ({"USD": Decimal(200_000)}, dt.date(2021, 1, 1), 5, 365, Tier.POTENTIAL, 4),     # loyal, full service, small
    ({"USD": Decimal(300_000)}, dt.date(2026, 8, 1), 4, 91, Tier.POTENTIAL, 4),      # a quarter at a $1.2M pace, new
    ({"XYZ": Decimal(10**9)}, dt.date(2020, 1, 1), 1, 365, Tier.REGULAR, 2),         # unknown currency: no scale
    ({}, dt.date(2026, 11, 1), 1, 365, Tier.REGULAR, 0),
])
def test_assign_tier(spend, start, services, history, tier, score):
    verdict = assign_tier(TierInputs(1, spend, start, services, history), AS_OF)
    assert (verdict.tier, verdict.score) == (tier, score)
    assert "score" in verdict.reason


def test_helpers():
    assert months_between(dt.date(2025, 11, 26), AS_OF) == 11
    assert months_between(dt.date(2025, 11, 25), AS_OF) == 12
    assert to_usd({"CNY": Decimal(72), "USD": Decimal(10)}) == Decimal(20)
    assert to_usd({"ABC": Decimal(1)}) is None


def _client(s: Session, slug: str, am: Staff, tier: Tier, daily: Decimal, services: list[str], start: dt.date,
            override: Tier | None = None) -> Client:
    client = Client(slug=slug, name=slug.title(), industry="retail", market="US", time_zone="America/New_York",
                    currency="USD", cooperation_start=start, owner_am=am, tier=tier, tier_override=override,
                    services=services)
    account = AdAccount(client=client, platform=Platform.META, external_id=f"act_{slug}", name="Main", currency="USD",
                        time_zone="America/New_York", created_on=start)
    campaign = Campaign(account=account, external_id="c1", name="Brand", created_on=start)
    s.add(campaign)
    s.flush()
    s.add_all([DailyMetric(campaign_id=campaign.id, day=AS_OF - dt.timedelta(days=d), spend=daily)
               for d in range(1, 366)])
    return client


def test_recompute_writes_tiers_keeps_overrides_and_tells_each_am_once(engine):
    with Session(engine) as s, s.begin():
        am = Staff(email="am@agency.example", name="Anna", role=StaffRole.AM)
        _client(s, "big", am, Tier.REGULAR, Decimal(4000), ["search", "social", "video", "ecom"], dt.date(2021, 1, 1))
        _client(s, "small", am, Tier.POTENTIAL, Decimal(100), ["search"], dt.date(2025, 1, 1), override=Tier.STRATEGIC)
        _client(s, "same", am, Tier.REGULAR, Decimal(300), ["search"], dt.date(2024, 1, 1))
    now = dt.datetime(2026, 11, 1, 1, 0, tzinfo=dt.timezone.utc)
    with Session(engine) as s:
        assert due_for_recompute(s, now)
    with Session(engine) as s, s.begin():
        result = recompute_and_notify(s, AS_OF, now)
    assert result["recomputed"] == 3
    assert {(c["client"], c["before"], c["after"], c["override"]) for c in result["changes"]} == {
        ("big", "regular", "strategic", ""), ("small", "potential", "regular", "strategic")}
    with Session(engine) as s:
        tiers = {c.slug: (c.tier, c.effective_tier) for c in s.scalars(select(Client))}
        assert tiers["small"] == (Tier.REGULAR, Tier.STRATEGIC), "the override still wins"
        assert not due_for_recompute(s, now + dt.timedelta(days=20))
        assert due_for_recompute(s, dt.datetime(2026, 12, 1, 0, 5, tzinfo=dt.timezone.utc))
        notes = s.scalars(select(OutboundMessage).where(OutboundMessage.kind == "tier-change")).all()
    assert len(notes) == 1 and notes[0].recipient == "am@agency.example"
    assert "Big: regular → strategic" in notes[0].body_text and "override strategic still applies" in notes[0].body_text
    assert notes[0].subject == "Tier changes for 2 of your clients"
    assert "70 months together (cooperation 2); 4 service lines (need 2); score 6" in notes[0].body_text
    with Session(engine) as s, s.begin():
        assert recompute_and_notify(s, AS_OF, now)["changes"] == []


@pytest.mark.parametrize(("language", "subject", "line", "reason"), [
    ("ru", "Смена уровня у 1 вашего клиента", "Big: обычный → стратегический",
     "58 месяцев сотрудничества (стаж 2); 4 направления услуг (потребность 2); итого баллов: 6"),
    ("zh", "您有1个客户的等级发生变化", "Big: 常规 → 战略", "合作58个月（合作时长2分）；4条服务线（需求2分）；总分6"),
])
def test_a_tier_change_reaches_the_am_in_their_language(engine, language, subject, line, reason):
    with Session(engine) as s, s.begin():
        am = Staff(email="am@agency.example", name="Anna", role=StaffRole.AM, language=Language(language))
        _client(s, "big", am, Tier.REGULAR, Decimal(4000), ["search", "social", "video", "ecom"], dt.date(2022, 1, 1))
    with Session(engine) as s, s.begin():
        recompute_and_notify(s, AS_OF, dt.datetime(2026, 11, 1, 1, 0, tzinfo=dt.timezone.utc))
    with Session(engine) as s:
        note = s.scalars(select(OutboundMessage).where(OutboundMessage.kind == "tier-change")).one()
    assert (note.language.value, note.subject) == (language, subject)
    assert line in note.body_text and reason in note.body_text, note.body_text
    assert "Tier change" not in note.body_text and "months together" not in note.body_text
