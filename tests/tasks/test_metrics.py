"""Metric windows: read by campaign-id ranges, exactly the campaigns asked for, on both databases."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Float, cast, select

from cadence.demo.write import generate_agency
from models import AdAccount, Campaign, DailyMetric
from tasks import metrics
from tasks.metrics import id_ranges, read_metric_window

AS_OF = dt.date(2026, 11, 25)


@pytest.mark.parametrize(("ids", "max_ranges", "expected"), [
    ([], 5, []),
    ([7], 5, [(7, 7)]),
    ([3, 1, 2, 2], 5, [(1, 3)]),
    ([1, 2, 3, 10, 11, 20], 5, [(1, 3), (10, 11), (20, 20)]),
    ([1, 2, 3, 10, 11, 20], 2, [(1, 11), (20, 20)]),  # the narrowest gap (3..10) is read through
    ([1, 5, 6, 100], 2, [(1, 6), (100, 100)]),
    ([1, 5, 6, 100], 1, [(1, 100)]),
])
def test_id_ranges_cover_the_ids_in_at_most_max_ranges(ids, max_ranges, expected):
    assert id_ranges(ids, max_ranges) == expected


@pytest.mark.parametrize("max_ranges", [1, 3, 10_000])
def test_a_window_holds_exactly_the_campaigns_asked_for_however_their_ranges_are_merged(engine, monkeypatch,
                                                                                        max_ranges):
    generate_agency(engine, as_of=AS_OF, seed=5, clients=4, days=20, inject_problems=False)
    monkeypatch.setattr(metrics, "MAX_ID_RANGES", max_ranges)
    with engine.connect() as conn:
        rows = conn.execute(select(Campaign.id, Campaign.account_id, AdAccount.client_id)
                            .join(AdAccount, AdAccount.id == Campaign.account_id).order_by(Campaign.id)).all()
        campaigns = pd.DataFrame(rows[::3], columns=["campaign_id", "account_id", "client_id"])
        first, last = AS_OF - dt.timedelta(days=9), AS_OF - dt.timedelta(days=1)
        expected = sorted(
            (int(c), d, float(s) if s is not None else None)
            for c, d, s in conn.execute(select(DailyMetric.campaign_id, DailyMetric.day, cast(DailyMetric.spend, Float))
                                        .where(DailyMetric.campaign_id.in_(campaigns["campaign_id"].tolist()),
                                               DailyMetric.day.between(first, last))))
    assert len(campaigns) > 3 and expected
    window = read_metric_window(engine, campaigns, first, last)
    got = sorted((int(c), d.date(), None if pd.isna(s) else float(s))
                 for c, d, s in zip(window["campaign_id"], window["day"], window["spend"], strict=True))
    assert got == expected
    owners = dict(zip(campaigns["campaign_id"], zip(campaigns["account_id"], campaigns["client_id"], strict=True),
                      strict=True))
    assert all(owners[c] == (a, k) for c, a, k in zip(window["campaign_id"], window["account_id"],
                                                      window["client_id"], strict=True))


def _client_with_account(**account) -> AdAccount:
    """A US client of an AM, and one Google Ads account of it (`account` overrides the account's fields)."""
    from models import Client, Staff
    from models.enums import Platform, StaffRole

    am = Staff(email="am@agency.example", name="An AM", role=StaffRole.AM)
    client = Client(slug="acme", name="Acme", industry="retail", market="US", time_zone="America/New_York",
                    currency="USD", cooperation_start=dt.date(2024, 1, 1), owner_am=am)
    return AdAccount(**{"client": client, "platform": Platform.GOOGLE_ADS, "external_id": "g", "name": "g",
                        "currency": "USD", "time_zone": "America/New_York", "created_on": dt.date(2024, 1, 1),
                        **account})


def test_the_sweep_reads_campaign_and_account_columns_as_the_detectors_expect(engine):
    """Geo targets counted, the goal tested and timestamps cut to UTC days by the database and pandas, not per row
    in Python: the same values the model's own types give, edge cases included (empty list and goal, no goal,
    an edit late in the UTC day that is the next day in the agency's zone, no edit)."""
    from sqlalchemy.orm import Session

    from models.enums import EntityStatus, Platform
    from tasks.metrics import load_sweep_frames

    late = dt.datetime(2026, 11, 20, 23, 30, tzinfo=dt.timezone.utc)
    paused = dt.datetime(2026, 11, 21, 1, 15, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # 2026-11-20 17:15 UTC
    with Session(engine) as s, s.begin():
        live = _client_with_account()
        client = live.client
        stopped = AdAccount(client=client, platform=Platform.META, external_id="m", name="m", currency="USD",
                            time_zone="America/New_York", created_on=dt.date(2024, 1, 1),
                            status=EntityStatus.PAUSED, paused_by_client_at=paused)
        made = [
            Campaign(account=live, external_id="1", name="Search", created_on=dt.date(2026, 10, 1),
                     geo_targeting=["US", "CA"], conversion_goal="purchase", edited_at=late, daily_budget=120,
                     bid=1.25, initiative="spring"),
            Campaign(account=live, external_id="2", name="Display", created_on=dt.date(2026, 11, 2),
                     geo_targeting=[], conversion_goal="", status=EntityStatus.PAUSED),
            Campaign(account=stopped, external_id="3", name="Feed", created_on=dt.date(2025, 1, 1),
                     geo_targeting=["DE"], conversion_goal=None),
        ]
        s.add_all(made)
        s.flush()
        client_id, order, account_order = client.id, [c.id for c in made], [live.id, stopped.id]

    frames = load_sweep_frames(engine, [client_id], AS_OF)
    camps = frames.campaigns.set_index("campaign_id", drop=False).loc[order].reset_index(drop=True)
    assert list(camps.columns) == ["campaign_id", "account_id", "client_id", "status", "daily_budget", "bid",
                                   "created_on", "initiative", "geo_targeting_count", "has_conversion_goal",
                                   "edited_at_day"]
    assert camps["status"].tolist() == ["active", "paused", "active"]
    assert camps["geo_targeting_count"].tolist() == [2, 0, 1] and camps["geo_targeting_count"].dtype == "int64"
    assert camps["has_conversion_goal"].tolist() == [True, False, False] and camps["has_conversion_goal"].dtype == bool
    assert camps["edited_at_day"].dtype == "datetime64[ns]"
    assert camps["edited_at_day"].iloc[0] == pd.Timestamp("2026-11-20") and camps["edited_at_day"].iloc[1:].isna().all()
    assert camps["created_on"].tolist() == [pd.Timestamp("2026-10-01"), pd.Timestamp("2026-11-02"),
                                            pd.Timestamp("2025-01-01")]
    assert camps["daily_budget"].iloc[0] == 120.0 and pd.isna(camps["bid"].iloc[1]) and camps["bid"].iloc[0] == 1.25
    accounts = frames.accounts.set_index("account_id", drop=False).loc[account_order].reset_index(drop=True)
    assert accounts["status"].tolist() == ["active", "paused"]
    assert accounts["paused_by_client_day"].dtype == "datetime64[ns]"
    assert pd.isna(accounts["paused_by_client_day"].iloc[0])
    assert accounts["paused_by_client_day"].iloc[1] == pd.Timestamp("2026-11-20")


def test_a_window_reads_blank_values_as_missing_in_campaign_and_day_order(engine):
    """A blank value (NULL) arrives as NaN, never zero, beside real zeros; rows come sorted by campaign then day
    whatever order the database returned them in (PostgreSQL's packed rows are unpacked and checked)."""
    from sqlalchemy.orm import Session

    from tasks.metrics import _in_campaign_day_order

    with Session(engine) as s, s.begin():
        account = _client_with_account()
        client = account.client
        made = [Campaign(account=account, external_id=str(k), name=f"C{k}", created_on=dt.date(2026, 1, 1))
                for k in range(2)]
        s.add_all(made)
        s.flush()
        first, second = (c.id for c in made)
        # Core, as the importers write (the ORM would put the column default in place of None); newest first, the
        # second campaign before the first.
        s.execute(DailyMetric.__table__.insert(), [
            {"campaign_id": second, "day": AS_OF, "impressions": 0, "clicks": 0, "spend": 0, "conversions": 0,
             "conversion_value": 0},
            {"campaign_id": first, "day": AS_OF, "impressions": None, "clicks": None, "spend": 12.5,
             "conversions": None, "conversion_value": None},
            {"campaign_id": first, "day": AS_OF - dt.timedelta(days=1), "impressions": 900, "clicks": 30,
             "spend": 40.25, "conversions": 2, "conversion_value": 61.5},
        ])
        campaigns = pd.DataFrame({"campaign_id": [second, first], "account_id": [account.id] * 2,
                                  "client_id": [client.id] * 2})

    window = read_metric_window(engine, campaigns, AS_OF - dt.timedelta(days=6), AS_OF)
    day, before = pd.Timestamp(AS_OF), pd.Timestamp(AS_OF - dt.timedelta(days=1))
    assert list(zip(window["campaign_id"], window["day"], strict=True)) == [(first, before), (first, day),
                                                                            (second, day)]
    assert window.iloc[0][["impressions", "clicks", "spend", "conversions", "conversion_value"]].tolist() == [
        900.0, 30.0, 40.25, 2.0, 61.5]
    blank = window.iloc[1]
    assert blank["spend"] == 12.5
    assert all(pd.isna(blank[c]) for c in ("impressions", "clicks", "conversions", "conversion_value"))
    assert window.iloc[2][["impressions", "spend", "conversion_value"]].tolist() == [0.0, 0.0, 0.0]

    days = np.array(["2026-11-02", "2026-11-01", "2026-11-01"], dtype="datetime64[ns]")
    shuffled = {"campaign_id": np.array([5, 5, 3]), "day": days, "spend": np.array([2.0, 1.0, 3.0])}
    ordered = _in_campaign_day_order(shuffled)
    assert ordered["campaign_id"].tolist() == [3, 5, 5] and ordered["spend"].tolist() == [3.0, 1.0, 2.0]
