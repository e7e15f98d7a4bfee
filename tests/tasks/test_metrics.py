"""Metric windows: read by campaign-id ranges, exactly the campaigns asked for, on both databases."""

from __future__ import annotations

import datetime as dt

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
