"""The migrations build exactly the schema the models declare, and its keys hold."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import AdAccount, Base, Campaign, Client, DailyMetric, Finding, OutboundMessage, Staff
from models.db import current_revision, head_revision
from models.enums import Audience, Language, Platform, Severity, StaffRole


def _client(session: Session) -> Client:
    am = Staff(email="am@agency.example", name="An AM", role=StaffRole.AM)
    client = Client(
        slug="acme", name="Acme", industry="retail", market="CN", time_zone="Asia/Shanghai",
        currency="CNY", cooperation_start=dt.date(2024, 1, 1), owner_am=am,
        cpa_min=Decimal("80"), cpa_max=Decimal("120"), monthly_budget=Decimal("300000.00"),
    )
    session.add(client)
    session.flush()
    return client


def test_migrations_match_models(engine):
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_money_round_trips_exactly_and_timestamps_are_aware(engine):
    with Session(engine) as s, s.begin():
        client = _client(s)
        account = AdAccount(client=client, platform=Platform.META, external_id="act_1", name="Main",
                            currency="CNY", time_zone="Asia/Shanghai", created_on=dt.date(2024, 1, 1))
        campaign = Campaign(account=account, external_id="c1", name="Brand", created_on=dt.date(2024, 1, 2),
                            daily_budget=Decimal("1234.56"), bid=Decimal("0.3450"))
        s.add(campaign)
        s.flush()
        s.add(DailyMetric(campaign_id=campaign.id, day=dt.date(2026, 11, 1), impressions=10_000_000_000,
                          clicks=3, spend=Decimal("9999999999.99"), conversions=Decimal("1.5"),
                          conversion_value=Decimal("0.01")))
    with Session(engine) as s:
        row = s.scalars(select(DailyMetric)).one()
        assert row.spend == Decimal("9999999999.99")
        assert row.impressions == 10_000_000_000
        assert s.scalars(select(Campaign.bid)).one() == Decimal("0.3450")
        created = s.scalars(select(Client.created_at)).one()
        assert created.tzinfo is not None and created.utcoffset() == dt.timedelta(0)


def test_finding_natural_key_is_unique_even_for_account_level_findings(engine):
    with Session(engine) as s, s.begin():
        client = _client(s)
        account = AdAccount(client=client, platform=Platform.GOOGLE_ADS, external_id="123-456-7890",
                            name="Search", currency="CNY", time_zone="Asia/Shanghai",
                            created_on=dt.date(2024, 1, 1))
        s.add(account)
        s.flush()
        ids = (client.id, account.id)
    key = dict(detector="tracking_broken", day=dt.date(2026, 11, 24), severity=Severity.CRITICAL,
               recommendation="Check the conversion tag.")
    with Session(engine) as s, s.begin():
        s.add(Finding(client_id=ids[0], account_id=ids[1], **key))
    with pytest.raises(IntegrityError):
        with Session(engine) as s, s.begin():
            s.add(Finding(client_id=ids[0], account_id=ids[1], **key))


def test_outbox_idempotency_key_is_unique(engine):
    msg = dict(flow="daily-account-sweep", kind="digest", period="2026-11-24", audience=Audience.INTERNAL,
               recipient="am@agency.example", language=Language.EN, subject="s", body_html="<p>b</p>",
               body_text="b", idempotency_key="daily-account-sweep:-:2026-11-24:am@agency.example:digest")
    with Session(engine) as s, s.begin():
        s.add(OutboundMessage(**msg))
    with pytest.raises(IntegrityError):
        with Session(engine) as s, s.begin():
            s.add(OutboundMessage(**msg))


def test_negative_spend_is_refused_by_the_database(engine):
    with Session(engine) as s, s.begin():
        client = _client(s)
        account = AdAccount(client=client, platform=Platform.VK, external_id="9", name="VK",
                            currency="RUB", time_zone="Europe/Moscow", created_on=dt.date(2024, 1, 1))
        campaign = Campaign(account=account, external_id="c", name="c", created_on=dt.date(2024, 1, 1))
        s.add(campaign)
        s.flush()
        campaign_id = campaign.id
    with pytest.raises(IntegrityError):
        with Session(engine) as s, s.begin():
            s.add(DailyMetric(campaign_id=campaign_id, day=dt.date(2026, 1, 1), spend=Decimal("-1")))


def test_the_acknowledgement_columns_migrate_down_and_up(engine):
    from alembic import command
    from sqlalchemy import inspect

    from models.db import alembic_config, upgrade

    command.downgrade(alembic_config(engine), "0007_truth")
    assert {"acknowledged_at", "acknowledged_by", "ack_note"}.isdisjoint(
        c["name"] for c in inspect(engine).get_columns("finding"))
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert {"acknowledged_at", "acknowledged_by", "ack_note"} <= {
        c["name"] for c in inspect(engine).get_columns("finding")}


def test_the_platform_sync_tables_migrate_down_and_up(engine):
    from alembic import command
    from sqlalchemy import inspect

    from models.db import alembic_config, upgrade

    command.downgrade(alembic_config(engine), "0008_finding_ack")
    assert "platform_connection" not in inspect(engine).get_table_names()
    assert {"connection_id", "sync_problem", "sync_problem_since"}.isdisjoint(
        c["name"] for c in inspect(engine).get_columns("ad_account"))
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert "platform_connection" in inspect(engine).get_table_names()
    assert {"connection_id", "sync_problem", "sync_problem_since"} <= {
        c["name"] for c in inspect(engine).get_columns("ad_account")}
