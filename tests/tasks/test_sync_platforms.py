"""Google Ads and Meta logins through the same sync as Yandex: the registry, the libraries, the fakes, the import
path."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cadence.demo.fakes.google_ads_server import FakeGoogleAds
from cadence.demo.fakes.meta_graph_server import FakeMetaGraph
from models import AdAccount, Campaign, Client, DailyMetric, ImportBatch, PlatformConnection, Staff
from models.enums import Platform, StaffRole
from tasks.connectors import SECRET_ROLES
from tasks.sync import connected_accounts, sync_accounts


def _login(engine, monkeypatch, platform: Platform, options: dict, secrets: dict[str, str],
           accounts: list[tuple[str, str, str]]) -> None:
    refs = {}
    for role, value in secrets.items():
        name = f"CADENCE_TEST_{platform.value.upper()}_{role.upper()}"
        monkeypatch.setenv(name, value)
        refs[role] = f"env:{name}"
    with Session(engine) as s, s.begin():
        am = Staff(email="am@agency.example", name="An AM", role=StaffRole.AM)
        client = Client(slug="acme", name="Acme", industry="retail", market="US", time_zone="America/New_York",
                        currency="USD", cooperation_start=dt.date(2024, 1, 1), owner_am=am)
        connection = PlatformConnection(platform=platform, label="agency", secrets=refs, options=options)
        for external_id, currency, zone in accounts:
            s.add(AdAccount(client=client, platform=platform, external_id=external_id, name=external_id,
                            currency=currency, time_zone=zone, created_on=dt.date(2024, 1, 1), connection=connection))


def _stored(engine) -> dict[tuple[str, str, dt.date], tuple]:
    with Session(engine) as s:
        rows = s.execute(select(AdAccount.external_id, Campaign.external_id, DailyMetric.day, DailyMetric.impressions,
                                DailyMetric.spend, DailyMetric.conversions)
                         .join(Campaign, Campaign.id == DailyMetric.campaign_id)
                         .join(AdAccount, AdAccount.id == Campaign.account_id)).all()
    return {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}


def test_every_connected_platform_asks_for_its_secrets():
    assert set(SECRET_ROLES) == {"google_ads", "meta", "yandex_direct"}


def test_a_google_ads_login_syncs_through_the_official_client(engine, monkeypatch):
    with FakeGoogleAds() as fake:
        _login(engine, monkeypatch, Platform.GOOGLE_ADS, fake.settings(), fake.secrets(),
               [("1111111111", "RUB", "Europe/Moscow"), ("2222222222", "USD", "America/New_York")])
        outcomes = sync_accounts(engine, connected_accounts(engine), as_of=dt.date(2026, 3, 11))
        assert sorted((o.external_id, o.status, o.rows_lost) for o in outcomes) == [
            ("1111111111", "ok", 0), ("2222222222", "ok", 0)]
        stored = _stored(engine)
        # cost_micros in major units; a day Google left out for a live campaign is an explicit zero.
        assert stored[("1111111111", "101", dt.date(2026, 3, 1))][:2] == (1000, Decimal("12345.67"))
        assert stored[("1111111111", "102", dt.date(2026, 3, 3))] == (0, Decimal("0.00"), Decimal("0.00"))
        again = sync_accounts(engine, connected_accounts(engine), as_of=dt.date(2026, 3, 11))
        assert all(o.status == "ok" and o.already_imported for o in again)
        assert _stored(engine) == stored
        with Session(engine) as s:
            assert s.scalar(select(func.count()).select_from(ImportBatch)) == 2
            assert {c.external_id for c in s.scalars(select(Campaign))} >= {"101", "102", "201"}


def test_a_meta_login_syncs_through_the_sdks_async_insights(engine, monkeypatch):
    with FakeMetaGraph() as fake:
        account = fake.add_account("1001", "Acme US")
        account.campaign("231", "Prospecting", daily_budget="5000", created="2026-03-01T00:00:00-0800")
        account.adset("2319", "231")
        account.deliver("231", dt.date(2026, 3, 9), impressions=1500, clicks=30, spend="42.10",
                        actions={"offsite_conversion.fb_pixel_purchase": "2"},
                        action_values={"offsite_conversion.fb_pixel_purchase": "80.50"})
        _login(engine, monkeypatch, Platform.META, {"base_url": fake.url, "poll_s": 0.01, "backoff_s": 0.01},
               {"access_token": fake.token}, [("act_1001", "USD", "America/Los_Angeles")])
        (outcome,) = sync_accounts(engine, connected_accounts(engine), as_of=dt.date(2026, 3, 11))
        assert (outcome.status, outcome.rows_lost) == ("ok", 0), outcome.error
        stored = _stored(engine)
        assert stored[("act_1001", "231", dt.date(2026, 3, 9))] == (1500, Decimal("42.10"), Decimal("2.00"))
        assert stored[("act_1001", "231", dt.date(2026, 3, 10))] == (0, Decimal("0.00"), Decimal("0.00"))
        with Session(engine) as s:
            budget = s.scalars(select(Campaign.daily_budget).where(Campaign.external_id == "231")).one()
        assert budget == Decimal("50.00")  # Meta's minor units


@pytest.mark.parametrize("platform", ["google_ads", "meta"])
def test_an_expired_login_is_one_reconnect_and_no_rows(engine, monkeypatch, platform):
    fake_cls = FakeGoogleAds if platform == "google_ads" else FakeMetaGraph
    with fake_cls() as fake:
        if platform == "google_ads":
            fake.refresh_token_revoked = True
            _login(engine, monkeypatch, Platform.GOOGLE_ADS, fake.settings(), fake.secrets(),
                   [("1111111111", "RUB", "Europe/Moscow")])
        else:
            fake.add_account("1001", "Acme US")
            _login(engine, monkeypatch, Platform.META, {"base_url": fake.url, "poll_s": 0.01},
                   {"access_token": "expired-token"}, [("act_1001", "USD", "America/Los_Angeles")])
        (outcome,) = sync_accounts(engine, connected_accounts(engine), as_of=dt.date(2026, 3, 11))
    assert outcome.status == "auth_expired", outcome
    assert _stored(engine) == {}
