"""The sweep detectors on small hand-built frames: each fires at its threshold's edge and not just inside it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tasks.detect.evidence import FINDINGS_COLUMNS
from tasks.detect.run import DETECTORS, run_detectors
from tasks.detect.window import (
    ACCOUNTS_COLUMNS,
    CAMPAIGNS_COLUMNS,
    CLIENTS_COLUMNS,
    DEFAULT_THRESHOLDS,
    METRICS_COLUMNS,
    client_thresholds,
    prepare_window,
)

D = dt.date(2026, 3, 18)  # a Wednesday, day 18 of a 31-day month
LONG_AGO = D - dt.timedelta(days=200)
QUIET = {"impressions": 0.0, "clicks": 0.0, "spend": 0.0, "conversions": 0.0}


def back(days: int) -> dt.date:
    return D - dt.timedelta(days=days)


class World:
    """A tiny agency: clients, accounts, campaigns and their daily rows, turned into the detectors' frames."""

    def __init__(self) -> None:
        self.clients: list[dict[str, Any]] = []
        self.accounts: list[dict[str, Any]] = []
        self.campaigns: list[dict[str, Any]] = []
        self.rows: dict[tuple[int, dt.date], dict[str, Any]] = {}

    def client(self, client_id: int = 1, cpa_min: float = 80.0, cpa_max: float = 120.0,
               monthly_budget: float = np.nan, settings: Any = None) -> World:
        self.clients.append({"client_id": client_id, "cpa_min": cpa_min, "cpa_max": cpa_max,
                             "monthly_budget": monthly_budget, "settings": settings or {}})
        return self

    def account(self, account_id: int = 10, client_id: int = 1, status: str = "active",
                paused_by_client_day: dt.date | None = None, currency: str = "USD") -> World:
        self.accounts.append({"account_id": account_id, "client_id": client_id, "status": status,
                              "paused_by_client_day": paused_by_client_day, "currency": currency})
        return self

    def campaign(self, campaign_id: int, account_id: int = 10, client_id: int = 1, status: str = "active",
                 daily_budget: float = 1000.0, bid: float = 1.0, geo: int = 3, goal: bool = True,
                 created_on: dt.date = LONG_AGO, edited_at_day: dt.date | None = None) -> World:
        self.campaigns.append({
            "campaign_id": campaign_id, "account_id": account_id, "client_id": client_id, "status": status,
            "daily_budget": daily_budget, "bid": bid, "geo_targeting_count": geo, "has_conversion_goal": goal,
            "created_on": created_on, "edited_at_day": edited_at_day, "initiative": "brand",
        })
        return self

    def daily(self, campaign_id: int, days_back: Iterable[int], account_id: int = 10, client_id: int = 1,
              **values: float) -> World:
        """Set metric values on the given days before D (0 is D); unset metrics keep their value or 0."""
        for k in days_back:
            row = self.rows.setdefault((campaign_id, back(k)), {
                "campaign_id": campaign_id, "account_id": account_id, "client_id": client_id, "day": back(k),
                **QUIET, "conversion_value": 0.0})
            row.update(values)
        return self

    def steady(self, campaign_id: int, days: Iterable[int] = range(1, 56), **overrides: float) -> World:
        values = {"impressions": 10_000.0, "clicks": 200.0, "spend": 500.0, "conversions": 5.0, **overrides}
        return self.daily(campaign_id, days, **values)

    def frames(self) -> tuple[pd.DataFrame, ...]:
        metrics = pd.DataFrame(list(self.rows.values()), columns=METRICS_COLUMNS)
        metrics["day"] = pd.to_datetime(metrics["day"])
        campaigns = pd.DataFrame(self.campaigns, columns=CAMPAIGNS_COLUMNS)
        campaigns["created_on"] = pd.to_datetime(campaigns["created_on"])
        campaigns["edited_at_day"] = pd.to_datetime(campaigns["edited_at_day"])
        accounts = pd.DataFrame(self.accounts, columns=ACCOUNTS_COLUMNS)
        accounts["paused_by_client_day"] = pd.to_datetime(accounts["paused_by_client_day"])
        clients = pd.DataFrame(self.clients, columns=CLIENTS_COLUMNS)
        return metrics, campaigns, accounts, clients

    def detect(self, detector: str, day: dt.date = D) -> pd.DataFrame:
        return DETECTORS[detector](prepare_window(*self.frames(), day))

    def one(self, detector: str, day: dt.date = D) -> dict[str, Any] | None:
        found = self.detect(detector, day)
        assert len(found) <= 1, found
        return found.iloc[0].to_dict() if len(found) else None


def base(**client: Any) -> World:
    return World().client(**client).account()


# spend_without_conversions


def swc_world(spend_today: float, history_conversions: float = 5.0, **client: Any) -> World:
    """Campaign 1 converts 5 a day at CPA 100 for 28 days, then spends `spend_today` on D with none."""
    world = base(**client).campaign(1).steady(1, range(1, 29), conversions=history_conversions)
    return world.daily(1, [0], spend=spend_today, clicks=100.0, impressions=5000.0, conversions=0.0)


@pytest.mark.parametrize(("spend_today", "client", "expected"), [
    (120.0, {}, "warning"),  # exactly one cpa_max
    (119.99, {}, None),
    (239.99, {}, "warning"),
    (240.0, {}, "critical"),  # 2 x cpa_max
    (130.0, {"settings": {"swc_cpa_multiple": 1.2}}, None),  # per-client override: needs 144
    (144.0, {"settings": {"swc_cpa_multiple": 1.2}}, "warning"),
    (100.0, {"cpa_min": np.nan, "cpa_max": np.nan}, "warning"),  # no band: its own 28-day CPA of 100
    (99.99, {"cpa_min": np.nan, "cpa_max": np.nan}, None),
])
def test_spend_without_conversions_threshold(spend_today: float, client: dict, expected: str | None) -> None:
    found = swc_world(spend_today, **client).one("spend_without_conversions")
    assert (found and found["severity"]) == expected
    if found:
        assert found["subject"] == "campaign:1" and found["campaign_id"] == 1
        assert found["evidence"]["spend_today"] == spend_today


def test_spend_without_conversions_needs_earlier_conversions_and_none_today() -> None:
    assert swc_world(300.0, history_conversions=0.0).one("spend_without_conversions") is None
    converted = swc_world(300.0).daily(1, [0], conversions=1.0)
    assert converted.one("spend_without_conversions") is None
    # Conversions only before the 28-day history window do not count.
    old = base().campaign(1).steady(1, range(29, 56)).daily(1, range(1, 29), spend=50.0)
    assert old.daily(1, [0], spend=300.0).one("spend_without_conversions") is None


def test_spend_without_conversions_evidence_is_the_seed_analysis() -> None:
    world = swc_world(150.0).campaign(2).daily(2, [0], spend=350.0, conversions=2.0)
    world.daily(1, [1], spend=200.0, conversions=3.0)
    ev = world.one("spend_without_conversions")["evidence"]
    assert ev["two_day_avg_cpa"] == round((150 + 200) / 3, 2)
    assert ev["account_cpa_today"] == round((150 + 350) / 2, 2)
    assert ev["share_of_account_spend_today"] == round(150 / 500, 3)
    assert ev["cpa_band"] == [80.0, 120.0]
    assert ev["remaining_before_limit"] == 120 * (3 + 1) - 350
    assert ev["action"] == "keep_watching"
    history_cpa = (27 * 500 + 200) / (27 * 5 + 3)
    assert ev["history_cpa"] == round(history_cpa, 2)
    assert ev["chance_of_no_conversion"] == round(float(np.exp(-150 / history_cpa)), 3)
    json.dumps(ev)


@pytest.mark.parametrize(("case", "action"), [
    # D-1 converted well: the 2-day CPA can still land inside the band.
    ("converted_yesterday", "keep_watching"),
    # No conversion for two days, 2-day spend >= 1.5 x cpa_max, and most of the account's spend.
    ("far_and_big", "pause"),
    # Far beyond, but a small share of the account and a good history: tighten targeting.
    ("far_but_small_good_history", "narrow_targeting"),
    # Just past the limit with a good history.
    ("slightly_past_good_history", "narrow_targeting"),
    # Past the limit and its history was already above the band.
    ("slightly_past_bad_history", "pause"),
])
def test_spend_without_conversions_recommendation_rule(case: str, action: str) -> None:
    world = base().campaign(1)
    history_spend = 650.0 if case.endswith("bad_history") else 500.0  # CPA 130 against 100
    world.steady(1, range(2, 29), spend=history_spend)
    yesterday = {"converted_yesterday": (100.0, 2.0), "far_and_big": (100.0, 0.0),
                 "far_but_small_good_history": (100.0, 0.0)}.get(case, (0.0, 0.0))
    world.daily(1, [1], spend=yesterday[0], conversions=yesterday[1])
    world.daily(1, [0], spend=130.0, conversions=0.0)
    if case == "far_but_small_good_history":
        world.campaign(2).daily(2, [0], spend=2000.0, conversions=20.0)
    found = world.one("spend_without_conversions")
    assert found["evidence"]["action"] == action
    assert found["recommendation"].split(". ")[0] == {
        "keep_watching": f"Keep watching until it has spent another {120 * 3 - 230:,.2f} USD",
        "pause": "Pause it", "narrow_targeting": "Narrow the targeting"}[action]


def test_spend_without_conversions_remaining_is_capped_by_the_daily_budget() -> None:
    world = base().campaign(1, daily_budget=100.0).steady(1, range(2, 29))
    world.daily(1, [1], spend=100.0, conversions=4.0).daily(1, [0], spend=130.0)
    ev = world.one("spend_without_conversions")["evidence"]
    assert ev["remaining_before_limit"] == 100.0 and ev["limit_basis"] == "daily_budget"


# cpa_above_band


def cpa_world(daily_spend: float, daily_conversions: float = 1.0, status: str = "active", **client: Any) -> World:
    return base(**client).campaign(1, status=status).steady(1, range(0, 7), spend=daily_spend,
                                                            conversions=daily_conversions)


@pytest.mark.parametrize(("daily_spend", "conversions", "client", "status", "expected"), [
    (132.01, 1.0, {}, "active", "warning"),  # above 120 x 1.10
    (132.0, 1.0, {}, "active", None),
    (239.99, 1.0, {}, "active", "warning"),
    (240.0, 1.0, {}, "active", "critical"),  # 2 x cpa_max
    (400.0, 0.4, {}, "active", None),  # 2.8 conversions over 7 days: below the minimum of 3
    (200.0, 1.0, {"cpa_min": np.nan, "cpa_max": np.nan}, "active", None),  # no band: data_quality instead
    (200.0, 1.0, {}, "paused", None),
    (170.0, 1.0, {"settings": {"cpa_tolerance": 0.5}}, "active", None),
    (181.0, 1.0, {"settings": {"cpa_tolerance": 0.5}}, "active", "warning"),
])
def test_cpa_above_band(daily_spend: float, conversions: float, client: dict, status: str,
                        expected: str | None) -> None:
    found = cpa_world(daily_spend, conversions, status, **client).one("cpa_above_band")
    assert (found and found["severity"]) == expected
    if found:
        assert found["evidence"]["cpa"] == round(daily_spend / conversions, 2)


def test_cpa_window_is_overridable_per_client_alongside_defaults() -> None:
    """Client 2 looks at 3 days only; its older expensive days no longer count, client 1's still do."""
    world = World().client(1).client(2, settings={"cpa_window_days": 3}).account(10, 1).account(20, 2)
    for cid, account, client in ((1, 10, 1), (2, 20, 2)):
        world.campaign(cid, account_id=account, client_id=client)
        world.daily(cid, range(3, 7), account_id=account, client_id=client, spend=400.0, conversions=1.0)
        world.daily(cid, range(0, 3), account_id=account, client_id=client, spend=100.0, conversions=1.0)
    found = world.detect("cpa_above_band")
    assert found["campaign_id"].tolist() == [1]
    assert found.iloc[0]["evidence"]["cpa"] == round((4 * 400 + 3 * 100) / 7, 2)


# underdelivery_low_bid


def under_world(spend: float = 290.0, bid: float = 1.0, peers: Iterable[float] = (2.0, 3.0),
                created_on: dt.date = LONG_AGO, status: str = "active") -> World:
    live = min(5, (D - created_on).days + 1)
    world = base().campaign(1, bid=bid, created_on=created_on, status=status).daily(1, range(0, live), spend=spend)
    for i, peer_bid in enumerate(peers, start=2):
        world.campaign(i, bid=peer_bid, daily_budget=100.0).steady(i, range(0, 5), spend=100.0)
    return world


@pytest.mark.parametrize(("kwargs", "comparison"), [
    ({}, "below_peers"),
    ({"spend": 299.99}, "below_peers"),
    ({"spend": 300.0}, None),  # 30% of the budget is not "under 30%"
    ({"bid": 2.5}, None),  # at the peers' median
    ({"bid": 2.49}, "below_peers"),
    ({"peers": ()}, "no_peers"),
    ({"bid": np.nan}, "no_bid"),
    ({"created_on": back(3)}, None),  # live 4 days only: not yet judged
    ({"created_on": back(4)}, "below_peers"),
    ({"status": "paused"}, None),
])
def test_underdelivery_low_bid(kwargs: dict, comparison: str | None) -> None:
    found = under_world(**kwargs).one("underdelivery_low_bid")
    assert (found and found["evidence"]["bid_comparison"]) == comparison
    if found:
        assert found["recommendation"].startswith("Raise the bid to get volume")
        assert "creatives" in found["recommendation"]


@pytest.mark.parametrize(("created_on", "first_row", "judged"), [
    (back(2), 6, True),  # rows before the recorded creation day: it was live earlier than recorded
    (pd.NaT, 6, True),  # no creation day: its first metric row tells
    (pd.NaT, 3, False),
    (back(2), None, False),
])
def test_underdelivery_life_comes_from_creation_or_first_row(created_on: Any, first_row: int | None,
                                                              judged: bool) -> None:
    world = base().campaign(1, created_on=created_on)
    if first_row is not None:
        world.daily(1, range(0, first_row + 1), spend=10.0)
    assert (world.one("underdelivery_low_bid") is not None) == judged


def test_underdelivery_counts_missing_days_as_zero_spend() -> None:
    world = under_world().daily(1, [2], spend=900.0)
    assert world.one("underdelivery_low_bid") is None
    silent = base().campaign(1, bid=1.0).campaign(2, bid=5.0).steady(2, range(0, 5))
    ev = silent.one("underdelivery_low_bid")["evidence"]
    assert ev["spend_by_day"] == [0.0] * 5 and ev["peer_median_bid"] == 5.0


def test_campaigns_in_a_paused_account_are_not_chased_for_delivery() -> None:
    assert World().client().account().campaign(1, bid=1.0).one("underdelivery_low_bid") is not None
    assert World().client().account(status="paused").campaign(1, bid=1.0).one("underdelivery_low_bid") is None


def test_peer_median_leaves_the_campaign_itself_out() -> None:
    # Bids 1, 2, 3: for bid 2 the others' median is (1 + 3) / 2 = 2, so it is not below its peers.
    world = base()
    for cid, bid in ((1, 1.0), (2, 2.0), (3, 3.0)):
        world.campaign(cid, bid=bid)
    found = world.detect("underdelivery_low_bid").set_index("campaign_id")
    assert sorted(found.index) == [1]
    assert found.loc[1, "evidence"]["peer_median_bid"] == 2.5


# launch_guard


@pytest.mark.parametrize(("campaign", "spend_today", "expected", "problems"), [
    ({"created_on": D, "geo": 0}, 0.0, "warning", ["no_geo_targeting"]),
    ({"created_on": D, "geo": 0}, 10.0, "critical", ["no_geo_targeting"]),
    # A back-fill of a day before the campaign existed: nothing to set up yet on that day.
    ({"created_on": D + dt.timedelta(days=1), "geo": 0}, 0.0, None, None),
    ({"created_on": D + dt.timedelta(days=3), "edited_at_day": D + dt.timedelta(days=3), "geo": 0}, 0.0, None, None),
    # Unknown settings are no evidence of missing ones.
    ({"created_on": D, "geo": np.nan}, 10.0, None, None),
    ({"created_on": D, "goal": None}, 10.0, None, None),
    ({"created_on": D, "geo": np.nan, "goal": False}, 0.0, "warning", ["no_conversion_goal"]),
    # Edited after D is not an edit within the last days before D.
    ({"edited_at_day": D + dt.timedelta(days=1), "geo": 0}, 0.0, None, None),
    ({"created_on": back(2), "goal": False}, 0.0, "warning", ["no_conversion_goal"]),
    ({"created_on": back(3), "geo": 0}, 0.0, None, None),
    ({"edited_at_day": back(1), "geo": 0, "goal": False}, 5.0, "critical", ["no_geo_targeting", "no_conversion_goal"]),
    ({"created_on": D, "geo": 2}, 5.0, None, None),
    ({"created_on": D, "geo": 0, "status": "removed"}, 0.0, None, None),
    ({"created_on": D, "geo": 0, "status": "paused"}, 0.0, "warning", ["no_geo_targeting"]),
])
def test_launch_guard(campaign: dict, spend_today: float, expected: str | None, problems: list | None) -> None:
    world = base().campaign(1, **campaign)
    if spend_today:
        world.daily(1, [0], spend=spend_today)
    found = world.one("launch_guard")
    assert (found and found["severity"]) == expected
    assert (found and found["evidence"]["problems"]) == problems


def test_launch_guard_window_is_overridable() -> None:
    world = base(settings={"launch_guard_days": 7}).campaign(1, created_on=back(6), geo=0)
    assert world.one("launch_guard")["severity"] == "warning"


# budget_pacing


def pacing_world(daily: dict[int, float], budget: float = 31_000.0, day: dt.date = D,
                 currencies: dict[int, str] | None = None, **client: Any) -> World:
    world = World().client(monthly_budget=budget, **client)
    for i, (account_id, spend) in enumerate(daily.items(), start=1):
        world.account(account_id, currency=(currencies or {}).get(account_id, "USD"))
        world.campaign(i, account_id=account_id)
        world.daily(i, range(0, day.day), account_id=account_id, spend=spend)
    return world


@pytest.mark.parametrize(("daily_spend", "severity", "direction"), [
    (1150.0, "warning", "overspend"),  # projected 115% of the budget
    (1149.0, None, None),
    (1300.0, "critical", "overspend"),
    (1299.0, "warning", "overspend"),
    (750.0, "warning", "underspend"),
    (751.0, None, None),
    (0.0, "warning", "underspend"),
])
def test_budget_pacing_thresholds(daily_spend: float, severity: str | None, direction: str | None) -> None:
    found = pacing_world({10: daily_spend}).one("budget_pacing", D)
    assert (found and found["severity"]) == severity
    assert (found and found["evidence"]["direction"]) == direction
    if found:
        assert found["evidence"]["projected"] == round(daily_spend * 31, 2)
        assert found["evidence"]["days_elapsed"] == 18 and found["evidence"]["days_in_month"] == 31


@pytest.mark.parametrize(("day", "fires"), [(dt.date(2026, 3, 3), False), (dt.date(2026, 3, 4), True)])
def test_budget_pacing_waits_out_the_first_days_of_the_month(day: dt.date, fires: bool) -> None:
    assert (pacing_world({10: 2000.0}, day=day).one("budget_pacing", day) is not None) == fires


def test_budget_pacing_sums_the_clients_accounts_and_reports_on_the_largest() -> None:
    found = pacing_world({10: 500.0, 20: 700.0}).one("budget_pacing")
    assert found["account_id"] == 20 and found["subject"] == "account"
    ev = found["evidence"]
    assert ev["mtd_spend"] == 1200.0 * 18
    assert [a["account_id"] for a in ev["accounts"]] == [20, 10]


@pytest.mark.parametrize("world", [
    pytest.param(lambda: pacing_world({10: 2000.0}, budget=np.nan), id="no-budget"),
    pytest.param(lambda: pacing_world({10: 2000.0}, settings={"pacing_over": 2.5}), id="override"),
    pytest.param(lambda: pacing_world({10: 1000.0, 20: 1000.0}, currencies={20: "EUR"}), id="mixed-currency"),
])
def test_budget_pacing_silent(world) -> None:
    assert world().one("budget_pacing") is None


# anomaly


def anomaly_world(today: dict[str, float], weeks: dict[int, dict[str, float]] | None = None,
                  created_on: dt.date = LONG_AGO, status: str = "active") -> World:
    """Same-weekday baseline of 10k impressions, 100 clicks, 200 spend, 2 conversions; `today` on D."""
    usual = {"impressions": 10_000.0, "clicks": 100.0, "spend": 200.0, "conversions": 2.0}
    world = base().campaign(1, created_on=created_on, status=status)
    for week in (1, 2, 3, 4):
        if back(7 * week) >= created_on:
            world.daily(1, [7 * week], **{**usual, **(weeks or {}).get(week, {})})
    return world.daily(1, [0], **{**usual, **today})


@pytest.mark.parametrize(("today", "metrics"), [
    ({"clicks": 250.0}, [("clicks", "spike")]),
    ({"clicks": 249.0}, []),
    ({"clicks": 30.0}, [("clicks", "drop")]),
    ({"clicks": 31.0}, []),
    ({"spend": 600.0, "clicks": 300.0}, [("clicks", "spike"), ("spend", "spike")]),
    ({"impressions": 2000.0}, [("impressions", "drop")]),
    ({"conversions": 0.0}, []),  # baseline of 2 conversions is too small to mean anything
])
def test_anomaly_ratio_edges(today: dict, metrics: list) -> None:
    found = anomaly_world(today).one("anomaly")
    listed = [(m["metric"], m["direction"]) for m in found["evidence"]["metrics"]] if found else []
    assert listed == metrics
    if found:
        money = any(m in ("spend", "conversions") for m, _ in metrics)
        assert found["severity"] == ("warning" if money else "info")


def test_anomaly_volume_floor_and_noise_guard() -> None:
    low = {w: {"clicks": 19.0, "spend": 9.0, "impressions": 400.0} for w in (1, 2, 3, 4)}
    assert anomaly_world({"clicks": 100.0, "spend": 50.0, "impressions": 2000.0}, low).one("anomaly") is None
    five = {w: {"conversions": 5.0} for w in (1, 2, 3, 4)}
    # A drop from 5 conversions to 0 is within Poisson noise (z = 2.2); a jump to 15 is not (z = 4.5).
    assert anomaly_world({"conversions": 0.0}, five).one("anomaly") is None
    found = anomaly_world({"conversions": 15.0}, five).one("anomaly")
    assert found["evidence"]["metrics"][0]["metric"] == "conversions" and found["severity"] == "warning"


@pytest.mark.parametrize(("created_on", "fires"), [
    (back(1), False),  # created yesterday: no baseline at all
    (back(14), False),  # two same weekdays only
    (back(21), True),  # three: enough
])
def test_anomaly_needs_three_baseline_weeks(created_on: dt.date, fires: bool) -> None:
    assert (anomaly_world({"clicks": 400.0}, created_on=created_on).one("anomaly") is not None) == fires


def test_anomaly_leaves_zero_volume_days_out() -> None:
    # Weeks 100, 100, 100 and a dead week: against 100 a day of 28 clicks is a drop; against 75 it would not be.
    dead = {4: dict(QUIET)}
    found = anomaly_world({"clicks": 28.0}, dead).one("anomaly")
    assert found["evidence"]["metrics"][0]["baseline"] == 100.0 and found["evidence"]["baseline_weeks"] == 3
    assert anomaly_world(dict(QUIET)).one("anomaly") is None
    assert anomaly_world({"clicks": 400.0}, status="paused").one("anomaly") is None
    in_paused_account = anomaly_world({"clicks": 400.0})
    in_paused_account.accounts[0]["status"] = "paused"
    assert in_paused_account.one("anomaly") is None


# tracking_broken


def tracking_world(clicks_today: float = 100.0, clicks_yesterday: float = 100.0, conversions_yesterday: float = 0.0,
                   baseline_conversions: float = 1.5, **client: Any) -> World:
    """Two campaigns, 100 clicks and `baseline_conversions` each a day for 28 days, then D-1 and D."""
    world = base(**client)
    for cid in (1, 2):
        world.campaign(cid).steady(cid, range(2, 30), clicks=100.0, conversions=baseline_conversions)
        world.daily(cid, [1], clicks=clicks_yesterday, conversions=conversions_yesterday / 2)
        world.daily(cid, [0], clicks=clicks_today, conversions=0.0)
    return world


@pytest.mark.parametrize(("kwargs", "fires"), [
    ({}, True),
    ({"clicks_yesterday": 50.0}, True),  # 100 of 200 account clicks: exactly half
    ({"clicks_yesterday": 49.0}, False),
    ({"conversions_yesterday": 1.0}, False),
    ({"baseline_conversions": 0.99}, False),  # 1.98 a day for the account: under 2
    ({"baseline_conversions": 1.0}, True),
    ({"settings": {"tracking_min_daily_conversions": 5}}, False),
])
def test_tracking_broken(kwargs: dict, fires: bool) -> None:
    found = tracking_world(**kwargs).one("tracking_broken")
    assert (found is not None) == fires
    if found:
        assert found["severity"] == "critical" and found["subject"] == "account"
        assert found["evidence"]["baseline_clicks_per_day"] == 200.0
        assert found["evidence"]["clicks_by_day"] == [2 * kwargs.get("clicks_yesterday", 100.0), 200]


def test_tracking_days_override_looks_further_back() -> None:
    world = tracking_world(settings={"tracking_days": 3})
    assert world.one("tracking_broken") is None
    world.daily(1, [2], conversions=0.0).daily(2, [2], conversions=0.0)
    assert world.one("tracking_broken")["evidence"]["days"] == 3


# churn_signal


def churn_world(recent: float | None, baseline: float = 1000.0, status: str = "active",
                paused_by_client_day: dt.date | None = None) -> World:
    world = World().client().account(status=status, paused_by_client_day=paused_by_client_day).campaign(1)
    world.daily(1, range(3, 31), spend=baseline)
    if recent is not None:
        world.daily(1, range(0, 3), spend=recent)
    return world


@pytest.mark.parametrize(("kwargs", "severity"), [
    ({"recent": 99.0}, "warning"),
    ({"recent": 100.0}, None),  # 10% is not below 10%
    ({"recent": None}, "warning"),  # no rows at all for three days
    ({"recent": 0.0, "baseline": 19.0}, None),  # too small to mean anything
    ({"recent": 1000.0, "status": "paused", "paused_by_client_day": back(5)}, "critical"),
    ({"recent": 0.0, "status": "paused", "paused_by_client_day": D + dt.timedelta(days=1)}, "critical"),
    ({"recent": 1000.0, "status": "paused"}, None),  # paused by us, not by the client
    ({"recent": 1000.0, "status": "active", "paused_by_client_day": back(5)}, None),  # resumed since
    ({"recent": 1000.0, "status": "paused", "paused_by_client_day": back(60)}, None),  # outside the window
    ({"recent": 0.0, "status": "removed"}, None),  # closed on purpose: no relationship news
])
def test_churn_signal(kwargs: dict, severity: str | None) -> None:
    found = churn_world(**kwargs).one("churn_signal")
    assert (found and found["severity"]) == severity
    if found:
        assert found["recommendation"].startswith("Call the client today")


# data_quality


def issues(found: dict[str, Any]) -> list[str]:
    return [i["issue"] for i in found["evidence"]["issues"]]


def test_data_quality_client_without_band_once_on_its_first_account() -> None:
    world = World().client(cpa_min=np.nan, cpa_max=np.nan).account(30).account(20)
    world.campaign(1, account_id=20).steady(1, account_id=20).campaign(2, account_id=30).steady(2, account_id=30)
    found = world.detect("data_quality")
    assert found["account_id"].tolist() == [20] and issues(found.iloc[0]) == ["no_kpi_band"]
    assert found.iloc[0]["severity"] == "info"


def test_data_quality_rows_the_import_should_have_stopped() -> None:
    world = base().campaign(1).steady(1).campaign(2).steady(2).campaign(3).steady(3)
    world.daily(1, [4], spend=-5.0).daily(2, [6], clicks=20_000.0)
    world.daily(99, [0, 1], spend=10.0)  # metrics for a campaign Cadence has no settings row for
    metrics, campaigns, accounts, clients = world.frames()
    metrics = pd.concat([metrics, metrics[(metrics["campaign_id"] == 3) & (metrics["day"] == pd.Timestamp(back(2)))]])
    found = DETECTORS["data_quality"](prepare_window(metrics, campaigns, accounts, clients, D)).set_index("subject")
    assert sorted(found.index) == ["campaign:1", "campaign:2", "campaign:3", "campaign:99"]
    assert found.loc["campaign:3", "evidence"]["issues"][0]["rows"] == {"duplicate": 1}
    assert found.loc["campaign:1", "evidence"]["issues"][0]["rows"] == {"negative": 1}
    assert found.loc["campaign:1", "evidence"]["issues"][0]["days"] == [back(4).isoformat()]
    assert found.loc["campaign:2", "evidence"]["issues"][0]["rows"] == {"clicks_over_impressions": 1}
    assert issues(found.loc["campaign:99"]) == ["metrics_without_campaign"]
    assert set(found["severity"]) == {"warning"}


def test_negative_values_count_as_zero_elsewhere() -> None:
    world = churn_world(recent=50.0).daily(1, [0], spend=-10_000.0)
    assert churn_world(recent=50.0).one("churn_signal") is not None
    assert world.one("churn_signal")["evidence"]["recent_daily_spend"] == round(100 / 3, 2)


def test_metrics_only_campaigns_still_count_in_their_account() -> None:
    world = tracking_world()
    world.campaigns = [c for c in world.campaigns if c["campaign_id"] != 2]
    found = world.one("tracking_broken")
    assert found["evidence"]["baseline_clicks_per_day"] == 200.0


def test_data_quality_merges_an_accounts_issues_into_one_finding() -> None:
    world = World().client(cpa_max=np.nan, cpa_min=np.nan).account(10).account(11, status="paused")
    found = world.detect("data_quality")
    assert found["subject"].tolist() == ["account"] and found["account_id"].tolist() == [10]
    assert issues(found.iloc[0]) == ["no_kpi_band", "no_metrics"]


def test_data_quality_reports_mixed_currencies_behind_a_budget() -> None:
    world = pacing_world({10: 1000.0, 20: 1000.0}, currencies={20: "EUR"})
    assert issues(world.one("data_quality")) == ["mixed_currencies"]


# the whole run


def messy_world() -> World:
    """Every detector's pattern at once, plus NaNs wherever the contract allows them."""
    world = World().client(1, monthly_budget=20_000.0).client(2, cpa_min=np.nan, cpa_max=np.nan,
                                                               monthly_budget=np.nan, settings='{"anomaly_drop": 0.5}')
    world.account(10, 1).account(11, 1, status="paused", paused_by_client_day=back(2)).account(20, 2, currency=None)
    world.campaign(1).steady(1, range(1, 29)).daily(1, [0], spend=300.0)
    world.campaign(2, daily_budget=np.nan, bid=np.nan, geo=0, goal=False, created_on=D)
    world.campaign(3, account_id=11).steady(3, range(5, 40), account_id=11)
    world.campaign(4, account_id=20, client_id=2, daily_budget=np.nan, bid=np.nan, created_on=pd.NaT)
    world.steady(4, account_id=20, client_id=2).daily(4, [0], account_id=20, client_id=2, clicks=np.nan)
    return world


def test_run_detectors_on_a_messy_world() -> None:
    found = run_detectors(*messy_world().frames(), D)
    assert list(found.columns) == FINDINGS_COLUMNS
    assert not found.duplicated(["client_id", "account_id", "subject", "detector", "day"]).any()
    assert {"spend_without_conversions", "launch_guard", "budget_pacing", "churn_signal",
            "data_quality"} <= set(found["detector"])
    assert set(found["severity"]) <= {"info", "warning", "critical"}
    assert (found["day"] == D).all()
    for row in found.itertuples():
        assert row.subject == ("account" if pd.isna(row.campaign_id) else f"campaign:{row.campaign_id}")
        json.dumps(row.evidence, allow_nan=False)
        assert row.recommendation and "nan" not in row.recommendation.lower().split()


@pytest.mark.parametrize("day", [D, pd.Timestamp(D), D.isoformat(), dt.datetime(2026, 3, 18, 6, 30)])
def test_day_may_be_a_date_timestamp_or_text(day: Any) -> None:
    found = run_detectors(*swc_world(130.0).frames(), day)
    assert "spend_without_conversions" in set(found["detector"])
    pd.testing.assert_frame_equal(found, run_detectors(*swc_world(130.0).frames(), D))


def test_rows_after_the_sweep_day_are_ignored() -> None:
    world = swc_world(130.0).daily(1, [-1], conversions=4.0, spend=400.0)
    assert world.one("spend_without_conversions") is not None


@pytest.mark.parametrize("detector", sorted(DETECTORS))
@pytest.mark.parametrize("frames", ["none", "columnless", "typed-empty"])
def test_empty_frames_give_empty_findings(detector: str, frames: str) -> None:
    given = {"none": (None,) * 4, "columnless": (pd.DataFrame(),) * 4,
             "typed-empty": World().frames()}[frames]
    found = DETECTORS[detector](prepare_window(*given, D))
    assert found.empty and list(found.columns) == FINDINGS_COLUMNS
    assert str(found["campaign_id"].dtype) == "Int64"


def test_run_detectors_with_nothing_but_clients() -> None:
    found = run_detectors(None, None, None, World().client().frames()[3], D)
    assert found.empty and list(found.columns) == FINDINGS_COLUMNS


def test_missing_required_column_is_named() -> None:
    metrics, campaigns, accounts, clients = swc_world(130.0).frames()
    with pytest.raises(ValueError, match="spend"):
        run_detectors(metrics.drop(columns="spend"), campaigns, accounts, clients, D)


def test_client_thresholds_merge_settings_over_defaults() -> None:
    clients = pd.DataFrame({"client_id": [1, 2, 3, 4], "settings": [
        {"cpa_tolerance": 0.3, "unknown_key": 5}, '{"anomaly_weeks": 2}', None, {"churn_ratio": "lots"}]})
    table = client_thresholds(clients)
    assert list(table.columns) == list(DEFAULT_THRESHOLDS)
    assert table["cpa_tolerance"].tolist() == [0.3] + [DEFAULT_THRESHOLDS["cpa_tolerance"]] * 3
    assert table["anomaly_weeks"].tolist() == [4, 2, 4, 4]
    assert table["churn_ratio"].tolist() == [DEFAULT_THRESHOLDS["churn_ratio"]] * 4



@pytest.mark.parametrize("seed", range(6))
def test_random_damage_never_breaks_the_run(seed: int) -> None:
    """Blank cells, negative numbers, duplicates and ids that point nowhere, anywhere in the four frames."""
    rng = np.random.default_rng(seed)
    world = World().client(1, monthly_budget=40_000.0).client(2, cpa_max=np.nan, settings={"anomaly_weeks": 2})
    world.account(10, 1).account(11, 1, status="paused", paused_by_client_day=back(1)).account(20, 2)
    for cid in range(1, 13):
        account = (10, 11, 20)[cid % 3]
        client = 2 if account == 20 else 1
        world.campaign(cid, account_id=account, client_id=client, created_on=back(int(rng.integers(-1, 80))),
                       geo=int(rng.integers(0, 3)), goal=bool(rng.random() > 0.2))
        world.steady(cid, range(int(rng.integers(0, 56))), account_id=account, client_id=client,
                     spend=float(rng.uniform(0, 900)), conversions=float(rng.integers(0, 6)))
    world.campaign(13, account_id=11).steady(13, range(3, 40), account_id=11)
    world.daily(77, [0, 3], account_id=12, client_id=3, spend=5.0)
    frames = [f.astype({c: object for c in f.columns if f[c].dtype == bool}) for f in world.frames()]
    for frame in frames:
        for column in frame.columns:
            if column not in ("campaign_id", "account_id", "client_id"):
                frame.loc[rng.random(len(frame)) < 0.15, column] = np.nan
    metrics = frames[0]
    metrics.loc[rng.random(len(metrics)) < 0.05, "spend"] *= -1
    frames[0] = pd.concat([metrics, metrics.sample(5, random_state=seed)], ignore_index=True)
    found = run_detectors(*frames, D)
    assert list(found.columns) == FINDINGS_COLUMNS
    assert not found.duplicated(["client_id", "account_id", "subject", "detector"]).any()
    for evidence in found["evidence"]:
        json.dumps(evidence, allow_nan=False)


# missing is not zero: a blank metric is no evidence, and an incomplete export is said as such


NAN = float("nan")


def test_blank_volume_with_spend_is_an_incomplete_export_not_spend_without_conversions() -> None:
    # The issue's case: spend arrived, impressions, clicks and conversions were blank in the export.
    world = swc_world(300.0).daily(1, [0], impressions=NAN, clicks=NAN, conversions=NAN)
    assert swc_world(300.0).one("spend_without_conversions")["severity"] == "critical"
    assert world.one("spend_without_conversions") is None
    found = world.one("data_quality")
    issue = found["evidence"]["issues"][0]
    assert issue["issue"] == "export_incomplete" and found["severity"] == "warning"
    assert issue["blank_metrics"] == ["impressions", "clicks", "conversions"] and issue["spend_arrived"] is True
    assert issue["days"] == [D.isoformat()]
    assert "incomplete" in found["recommendation"] and "not as zero" in found["recommendation"]


def test_blank_conversions_alone_are_missing_not_zero() -> None:
    world = swc_world(300.0).daily(1, [0], conversions=NAN)
    assert world.one("spend_without_conversions") is None
    assert world.one("data_quality")["evidence"]["issues"][0]["blank_metrics"] == ["conversions"]


def test_tracking_is_not_broken_when_the_conversions_are_blank() -> None:
    assert tracking_world().one("tracking_broken") is not None
    world = tracking_world().daily(1, [0], conversions=NAN).daily(2, [0], conversions=NAN)
    assert world.one("tracking_broken") is None


def test_cpa_band_and_churn_read_blank_days_as_no_evidence() -> None:
    churn = churn_world(recent=0.0).daily(1, [1], spend=NAN)
    assert churn_world(recent=0.0).one("churn_signal") is not None
    assert churn.one("churn_signal") is None
    costly = base().campaign(1).steady(1, range(0, 56), spend=2000.0)
    assert costly.one("cpa_above_band") is not None
    assert costly.daily(1, [3], conversions=NAN).one("cpa_above_band") is None


def test_anomaly_baseline_leaves_blank_days_out() -> None:
    # Conversions collapse on D against a steady history; a blank on a baseline weekday must not count as zero.
    world = base().campaign(1).steady(1, range(1, 56), conversions=40.0).daily(
        1, [0], impressions=10_000.0, clicks=200.0, spend=500.0, conversions=2.0)
    found = world.one("anomaly")
    assert found is not None and found["evidence"]["baseline_weeks"] == 4
    blanked = world.daily(1, [7], conversions=NAN)
    assert blanked.one("anomaly")["evidence"]["baseline_weeks"] == 3
    assert world.daily(1, [0], conversions=NAN).one("anomaly") is None
