"""Issue 13 baselines: two-sided anomalies and their patterns, account-wide moves, expected peaks, history-aware
baselines and the launch guard on back-fills, pacing advice within reach; the peaks frame loaded from key dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.orm import Session
from test_detect import D, World, back, base, pacing_world

from tasks.detect.run import DETECTORS, run_detectors
from tasks.detect.window import prepare_window

USUAL = {"impressions": 10_000.0, "clicks": 100.0, "spend": 200.0, "conversions": 2.0}


def weekly(today: dict[str, float], usual: dict[str, float] | None = None, campaigns: int = 1,
           weeks: dict[int, dict[str, float]] | None = None, **client: Any) -> World:
    """`campaigns` campaigns at `usual` on the four previous Wednesdays, each at `today` on D."""
    usual = usual or USUAL
    world = base(**client)
    for cid in range(1, campaigns + 1):
        world.campaign(cid)
        for week in (1, 2, 3, 4):
            world.daily(cid, [7 * week], **{**usual, **(weeks or {}).get(week, {})})
        world.daily(cid, [0], **{**usual, **today})
    return world


def peaks_frame(uplift: float, name: str = "Black Friday", days: tuple[int, ...] = (0,)) -> pd.DataFrame:
    return pd.DataFrame({"client_id": 1, "day": pd.to_datetime([back(k) for k in days]), "name": name,
                         "expected_uplift": uplift})


def anomalies(world: World, peaks: pd.DataFrame | None = None) -> pd.DataFrame:
    return DETECTORS["anomaly"](prepare_window(*world.frames(), D, peaks))


def one(world: World, peaks: pd.DataFrame | None = None, subject: str = "campaign:1") -> dict[str, Any] | None:
    found = anomalies(world, peaks)
    found = found[found["subject"] == subject]
    assert len(found) <= 1, found
    return found.iloc[0].to_dict() if len(found) else None


def listed(found: dict[str, Any] | None) -> list[tuple[str, str]]:
    return [(m["metric"], m["direction"]) for m in found["evidence"]["metrics"]] if found else []


# Two-sided anomalies: a pattern per case, direction-specific advice


CONVERTING = {"impressions": 10_000.0, "clicks": 400.0, "spend": 200.0, "conversions": 20.0}


@pytest.mark.parametrize(("today", "usual", "pattern", "severity", "metrics", "advice"), [
    # 15x impressions, clicks on trend: CTR collapsed.
    ({"impressions": 150_000.0}, USUAL, "impressions_up_ctr_down", "warning",
     [("impressions", "spike"), ("ctr", "drop")], "invalid-click report"),
    ({"spend": 600.0}, CONVERTING, "spend_up_conversions_flat", "warning", [("spend", "spike")], "broad match"),
    # Spend 3x with conversions 2.4x: the conversions followed (CPA up 25 %), a plain spike.
    ({"spend": 600.0, "conversions": 48.0}, CONVERTING, "spike", "warning", [("spend", "spike")], "lifted cap"),
    # 2 conversions a day are too few to call them flat.
    ({"spend": 600.0}, USUAL, "spike", "warning", [("spend", "spike")], "lifted cap"),
    # Cheap extra clicks that do not convert: clicks 3x, conversions flat, spend 1.3x.
    ({"clicks": 1200.0, "spend": 260.0}, CONVERTING, "clicks_up_cvr_down", "warning",
     [("clicks", "spike"), ("cvr", "drop")], "landing page"),
    ({"clicks": 800.0, "spend": 240.0}, CONVERTING, "cvr_drop", "warning", [("cvr", "drop")], "checkout"),
    ({"clicks": 30.0}, USUAL, "drop", "info", [("clicks", "drop")], "ad approvals"),
    ({"conversions": 0.0}, CONVERTING, "conversions_drop", "warning", [("conversions", "drop")], "tag or pixel"),
    # Clicks down 40 % (no clicks drop yet) and conversions gone: not "the traffic held".
    ({"conversions": 0.0, "clicks": 240.0}, CONVERTING, "drop", "warning", [("conversions", "drop")], "approvals"),
    # Everything 3x on 2 conversions a day: too few to call the conversions flat, so a plain spike.
    ({"clicks": 300.0, "spend": 600.0, "impressions": 30_000.0}, USUAL, "spike", "warning",
     [("impressions", "spike"), ("clicks", "spike"), ("spend", "spike")], "lifted cap"),
    ({"clicks": 1200.0, "spend": 600.0}, CONVERTING, "spend_up_conversions_flat", "warning",
     [("clicks", "spike"), ("spend", "spike"), ("cvr", "drop")], "search terms report"),
    ({"clicks": 250.0, "impressions": 25_000.0}, USUAL, "spike", "info",
     [("impressions", "spike"), ("clicks", "spike")], "lifted cap"),
])
def test_anomaly_patterns(today: dict, usual: dict, pattern: str, severity: str, metrics: list, advice: str) -> None:
    found = one(weekly(today, usual))
    assert found["evidence"]["pattern"] == pattern
    assert found["severity"] == severity
    assert listed(found) == metrics
    assert advice in found["recommendation"]
    for m in found["evidence"]["metrics"]:
        assert set(m) == {"metric", "today", "baseline", "ratio", "direction"}
    if pattern != "impressions_up_ctr_down":
        assert "bot" not in found["recommendation"]


def test_drops_read_as_a_percentage_and_spikes_as_a_multiple() -> None:
    drop = one(weekly({"clicks": 30.0}))
    assert drop["recommendation"].startswith("Clicks fell 70% below its usual Wednesday (30 against 100). Check")
    spike = one(weekly({"impressions": 150_000.0}))
    assert spike["recommendation"].startswith("Impressions jumped to 15.0x its usual Wednesday (150,000 against")
    assert "CTR fell 93% below its usual Wednesday (0.07% against 1.00%)" in spike["recommendation"]
    gone = one(weekly({"spend": 0.0, "clicks": 0.0}))
    assert gone["recommendation"].startswith("Clicks fell to zero from its usual Wednesday (0 against 100); spend fell"
                                             " to zero from its usual Wednesday (0.00 USD against 200.00 USD). Check")


@pytest.mark.parametrize(("usual", "today"), [
    # 10 clicks a day: a CTR collapse on 3x impressions is within the clicks' noise floor.
    ({**USUAL, "clicks": 10.0}, {"impressions": 30_000.0}),
    # 4 conversions a day: the conversion rate on 3x clicks is too small a count to mean anything.
    ({**CONVERTING, "conversions": 4.0}, {"clicks": 1200.0, "spend": 260.0}),
])
def test_rate_metrics_have_the_same_noise_guard(usual: dict, today: dict) -> None:
    found = one(weekly(today, usual))
    assert found is not None  # the volume moved
    assert {m for m, _ in listed(found)}.isdisjoint({"ctr", "cvr"})
    assert found["evidence"]["pattern"] == "spike"


def test_a_rate_on_steady_volume_is_the_numerators_own_drop() -> None:
    # Clicks down 69% on steady impressions: below the clicks' drop threshold, and CTR does not fire on its own.
    assert one(weekly({"clicks": 31.0})) is None
    assert one(weekly({"conversions": 10.0}, CONVERTING)) is None


# Account-wide anomalies


def test_an_account_wide_drop_is_an_account_finding_with_the_same_evidence_keys() -> None:
    found = anomalies(weekly({"clicks": 20.0, "spend": 40.0}, campaigns=4))
    account = found[found["subject"] == "account"]
    assert len(account) == 1 and len(found) == 5
    row = account.iloc[0].to_dict()
    assert row["detector"] == "anomaly" and pd.isna(row["campaign_id"]) and row["account_id"] == 10
    ev = row["evidence"]
    assert ev["pattern"] == "drop" and row["severity"] == "warning"
    assert listed(row) == [("clicks", "drop"), ("spend", "drop")]
    assert ev["metrics"][0]["today"] == 80.0 and ev["metrics"][0]["baseline"] == 400.0
    assert row["recommendation"].startswith("Across the account, clicks fell 80% below")


def test_one_campaigns_spike_is_not_an_account_wide_move() -> None:
    world = weekly({}, campaigns=4).daily(1, [0], impressions=250_000.0)
    found = anomalies(world)
    assert found["subject"].tolist() == ["campaign:1"]
    assert found.iloc[0]["evidence"]["pattern"] == "impressions_up_ctr_down"


def test_account_moves_shared_unevenly_still_count_when_no_campaign_dominates() -> None:
    world = weekly({"clicks": 20.0, "spend": 40.0}, campaigns=3).daily(3, [0], clicks=40.0, spend=80.0)
    account = anomalies(world).query("subject == 'account'")
    assert len(account) == 1 and listed(account.iloc[0].to_dict())[0] == ("clicks", "drop")
    narrow = weekly({"clicks": 20.0, "spend": 40.0}, campaigns=2, settings={"anomaly_account_max_share": 0.4})
    assert anomalies(narrow).query("subject == 'account'").empty


def test_an_account_wide_peak_is_one_account_line_and_one_campaigns_peak_is_not() -> None:
    peak = {"clicks": 270.0, "spend": 540.0, "impressions": 27_000.0}
    broad = anomalies(weekly(peak, campaigns=3), peaks_frame(1.7))
    assert sorted(broad["subject"]) == ["account", "campaign:1", "campaign:2", "campaign:3"]
    assert set(broad["severity"]) == {"info"}
    account = broad.query("subject == 'account'").iloc[0]
    assert account["evidence"]["pattern"] == "expected_peak"
    assert account["recommendation"].startswith("Black Friday (2026-03-18, last year's brought +170%): across the"
                                                " account, impressions +170% against the usual Wednesday")
    narrow = weekly({}, campaigns=3).daily(1, [0], clicks=800.0, spend=1600.0, impressions=80_000.0)
    assert anomalies(narrow, peaks_frame(1.7)).query("subject == 'account'").empty


def test_a_missed_peak_across_the_account_is_an_account_warning() -> None:
    found = anomalies(weekly({}, campaigns=3), peaks_frame(1.7))
    account = found.query("subject == 'account'").iloc[0].to_dict()
    assert account["evidence"]["pattern"] == "missed_peak" and account["severity"] == "warning"
    assert listed(account) == [("spend", "drop")]


def test_paused_accounts_have_no_account_anomaly() -> None:
    world = weekly({"clicks": 20.0, "spend": 40.0}, campaigns=4)
    world.accounts[0]["status"] = "paused"
    assert anomalies(world).empty


# Expected peaks


@pytest.mark.parametrize(("today", "uplift", "pattern", "severity"), [
    ({"clicks": 270.0, "spend": 540.0}, 1.7, "expected_peak", "info"),  # exactly last year's +170 %
    ({"clicks": 400.0, "spend": 800.0}, 1.7, "expected_peak", "info"),  # 1.48x the expected level: in the band
    ({"clicks": 700.0, "spend": 1400.0}, 1.7, "beyond_peak", "warning"),  # 2.6x the expected level
    ({"clicks": 100.0, "spend": 200.0}, 1.7, "missed_peak", "warning"),  # the usual level: the peak was missed
    ({"clicks": 500.0, "spend": 1000.0}, np.nan, "expected_peak", "info"),  # no history: 7.5x band
    ({"clicks": 800.0, "spend": 1600.0}, np.nan, "beyond_peak", "warning"),
    ({"clicks": 30.0}, np.nan, "missed_peak", "warning"),  # a clicks drop, info on other days
    ({"impressions": 150_000.0}, np.nan, "beyond_peak", "warning"),  # CTR collapse, but never "bot"
])
def test_expected_peaks(today: dict, uplift: float, pattern: str, severity: str) -> None:
    found = one(weekly(today), peaks_frame(uplift))
    assert found["evidence"]["pattern"] == pattern and found["severity"] == severity
    peak = found["evidence"]["peak"]
    assert peak["name"] == "Black Friday"
    assert peak["expected_uplift"] == (None if np.isnan(uplift) else uplift)
    text = found["recommendation"]
    assert text.startswith("Black Friday (2026-03-18")
    assert "bot" not in text and "invalid-click" not in text
    if pattern == "expected_peak":
        assert "as expected" in text


def test_an_expected_peak_reads_as_expected() -> None:
    found = one(weekly({"clicks": 270.0, "spend": 540.0}), peaks_frame(1.7))
    assert found["recommendation"].startswith(
        "Black Friday (2026-03-18, last year's brought +170%): clicks +170% against the usual Wednesday (270 against"
        " 100); spend +170% against the usual Wednesday (540.00 USD against 200.00 USD), as expected.")


def test_a_peak_without_a_move_is_silent_and_other_clients_are_unaffected() -> None:
    # Twice the usual on a day expected at 2.7x: short of the peak, but not missing it, and no spike either.
    assert one(weekly({"clicks": 200.0, "spend": 400.0}), peaks_frame(1.7)) is None
    other = peaks_frame(np.nan).assign(client_id=2)
    assert one(weekly({"clicks": 500.0, "spend": 1000.0}), other)["evidence"]["pattern"] == "spike"


def test_peak_days_are_left_out_of_the_baseline() -> None:
    # Last Wednesday was a peak at 5x: in the baseline it would make 250 clicks look usual.
    world = weekly({"clicks": 250.0}, weeks={1: {"clicks": 500.0}})
    assert one(world) is None
    found = one(world, peaks_frame(np.nan, days=(7,)))
    assert found["evidence"]["baseline_weeks"] == 3 and found["evidence"]["metrics"][0]["baseline"] == 100.0
    assert found["evidence"]["peak"] is None


def test_run_detectors_passes_the_peaks_on() -> None:
    world = weekly({"clicks": 500.0, "spend": 1000.0})
    plain = run_detectors(*world.frames(), D)
    peaked = run_detectors(*world.frames(), D, peaks=peaks_frame(np.nan))
    assert plain.query("detector == 'anomaly'").iloc[0]["severity"] == "warning"
    assert peaked.query("detector == 'anomaly'").iloc[0]["severity"] == "info"


# History-aware baselines and the launch guard


def churn_from(days_of_data: int, spend: float = 1000.0) -> World:
    """An account whose data began `days_of_data` days before D, spending until D-3 and nothing since."""
    world = World().client().account().campaign(1)
    return world.daily(1, range(3, days_of_data + 1), spend=spend).daily(1, range(0, 3), spend=0.0)


@pytest.mark.parametrize(("days_of_data", "baseline_days", "baseline"), [
    (30, 28, 1000.0),
    (10, 8, 1000.0),  # not 8,000 / 28 = 285.71: days before the data began are not zero spend
    (9, 7, 1000.0),
    (8, None, None),  # six days of baseline: too few to call it churn
])
def test_churn_baseline_counts_only_the_days_the_account_existed(days_of_data: int, baseline_days: int | None,
                                                                 baseline: float | None) -> None:
    found = churn_from(days_of_data).one("churn_signal")
    assert (found and found["evidence"]["baseline_days"]) == baseline_days
    assert (found and found["evidence"]["baseline_daily_spend"]) == baseline


def test_tracking_baseline_counts_only_the_days_the_account_existed() -> None:
    world = base().campaign(1).campaign(2)
    for cid in (1, 2):
        world.daily(cid, range(2, 10), clicks=100.0, conversions=1.5).daily(cid, [0, 1], clicks=100.0)
    found = world.one("tracking_broken")
    assert found["evidence"]["baseline_days"] == 8
    assert found["evidence"]["baseline_clicks_per_day"] == 200.0
    assert found["evidence"]["baseline_conversions_per_day"] == 3.0
    short = base().campaign(1)
    short.daily(1, range(2, 7), clicks=200.0, conversions=3.0).daily(1, [0, 1], clicks=200.0)
    assert short.one("tracking_broken") is None


def test_spend_without_conversions_history_is_the_days_the_campaign_existed() -> None:
    world = base().campaign(1, created_on=back(5)).daily(1, range(1, 6), spend=100.0, conversions=1.0)
    found = world.daily(1, [0], spend=150.0, clicks=50.0, impressions=1000.0).one("spend_without_conversions")
    assert found["evidence"]["history_days"] == 5 and found["evidence"]["history_cpa"] == 100.0


def test_back_filled_sweep_before_the_campaigns_existed_has_no_launch_guard() -> None:
    world = base()
    for cid in range(1, 12):
        world.campaign(cid, created_on=D + dt.timedelta(days=cid), geo=0, goal=False)
    world.campaign(20, created_on=back(1), geo=0)
    found = world.detect("launch_guard")
    assert found["campaign_id"].tolist() == [20]


# Pacing advice within reach


@pytest.mark.parametrize(("daily", "client", "within", "advice"), [
    (720.0, {}, True, "raise spend to about 1,387.69 USD a day for the remaining 13 days"),
    (700.0, {}, False, "agree a new budget with the client: the commitment needs 1,415.38 USD a day for the"
                       " remaining 13 days, 2.0x the current pace"),
    (500.0, {}, False, "agree a new budget with the client: the commitment needs 1,692.31 USD a day for the"
                       " remaining 13 days, 3.4x the current pace, beyond what raising budgets and bids can reach"),
    (500.0, {"settings": {"pacing_max_multiple": 4}}, True, "raise spend to about 1,692.31 USD a day"),
    (0.0, {}, False, "agree a new budget with the client: nothing was spent this month"),
    (1200.0, {}, True, "lower daily budgets to about 723.08 USD a day for the remaining 13 days"),
    (1400.0, {}, False, "agree extra budget or which campaigns to stop with the client: staying within the budget"
                        " needs 446.15 USD a day for the remaining 13 days, 32% of the current pace"),
])
def test_pacing_advice_stays_within_reach(daily: float, client: dict, within: bool, advice: str) -> None:
    found = pacing_world({10: daily}, **client).one("budget_pacing")
    assert found["evidence"]["within_reach"] is within
    assert f". {advice[0].upper()}{advice[1:]}" in found["recommendation"]  # its own sentence after the pace
    assert found["evidence"]["monthly_budget"] == 31_000.0  # materiality reads these as they were
    assert found["evidence"]["projected"] == round(daily * 31, 2)


def test_pacing_evidence_names_the_multiple() -> None:
    ev = pacing_world({10: 500.0}).one("budget_pacing")["evidence"]
    assert ev["pace_multiple_needed"] == 3.38 and ev["max_pace_multiple"] == 2.0
    assert ev["daily_rate_needed"] == 1692.31


# The peaks frame from key dates (both databases)


def test_load_sweep_frames_reads_peaks_from_key_dates(engine) -> None:
    from models import AdAccount, Campaign, Client, DailyMetric, KeyDate, Staff
    from models.enums import KeyDateKind, Platform, StaffRole
    from tasks.market_calendar import black_friday
    from tasks.metrics import load_sweep_frames

    day = black_friday(2026)  # Friday 2026-11-27
    last = black_friday(2025)
    with Session(engine) as s, s.begin():
        am = Staff(email="am@agency.example", name="An AM", role=StaffRole.AM)
        acme = Client(slug="acme", name="Acme", industry="retail", market="US", time_zone="America/New_York",
                      currency="USD", cooperation_start=dt.date(2024, 1, 1), owner_am=am)
        other = Client(slug="other", name="Other", industry="retail", market="CN", time_zone="Asia/Shanghai",
                       currency="CNY", cooperation_start=dt.date(2024, 1, 1), owner_am=am)
        account = AdAccount(client=acme, platform=Platform.GOOGLE_ADS, external_id="g", name="g", currency="USD",
                            time_zone="America/New_York", created_on=dt.date(2024, 1, 1))
        campaign = Campaign(account=account, external_id="1", name="Search", created_on=dt.date(2024, 1, 1),
                            geo_targeting=["US"], conversion_goal="purchase")
        s.add_all([acme, other, campaign])
        s.flush()
        ids = (acme.id, other.id)

        def spend(on: dt.date, amount: float) -> None:
            s.add(DailyMetric(campaign_id=campaign.id, day=on, impressions=int(amount * 50), clicks=int(amount / 2),
                              spend=amount, conversions=amount / 100))

        for year_day in (last, day):  # the event and its four preceding Fridays, last year and this year
            spend(year_day, 2700.0)
            for k in range(1, 5):
                spend(year_day - dt.timedelta(days=7 * k), 1000.0)
        s.add_all([
            KeyDate(scope="market:US", market="US", kind=KeyDateKind.MARKET_PEAK, title="Black Friday",
                    on_date=day, rule="black_friday"),
            KeyDate(scope="market:CN", market="CN", kind=KeyDateKind.MARKET_PEAK, title="双11",
                    on_date=dt.date(2026, 11, 11), rule="fixed:11-11"),
            KeyDate(scope="acme", client_id=acme.id, market="US", kind=KeyDateKind.LAUNCH, title="Launch: Spring",
                    on_date=day - dt.timedelta(days=20), recurs_yearly=False),
            KeyDate(scope="acme", client_id=acme.id, market="US", kind=KeyDateKind.BIRTHDAY, title="Birthday: Ann",
                    on_date=dt.date(1980, 11, 26)),
        ])

    frames = load_sweep_frames(engine, list(ids), day)
    peaks = frames.peaks
    mine = peaks[peaks["client_id"] == ids[0]]
    got = {(r.day.date(), r.name) for r in mine.itertuples()}
    launch = day - dt.timedelta(days=20)
    assert got == {(day - dt.timedelta(days=k), "Black Friday") for k in (0, 1, 2)} \
        | {(launch + dt.timedelta(days=k), "Launch: Spring") for k in range(-2, 3)}
    today = mine[mine["day"] == pd.Timestamp(day)].iloc[0]
    assert today["expected_uplift"] == pytest.approx(1.7)
    assert mine[mine["day"] != pd.Timestamp(day)]["expected_uplift"].isna().all()
    theirs = peaks[peaks["client_id"] == ids[1]]
    assert {r.name for r in theirs.itertuples()} == {"双11"}  # only the CN market's peak, around 11 November

    found = run_detectors(frames.metrics, frames.campaigns, frames.accounts, frames.clients, day, peaks=frames.peaks)
    anomaly = found[(found["detector"] == "anomaly") & (found["subject"] == "campaign:" + str(int(
        frames.campaigns["campaign_id"].iloc[0])))].iloc[0]
    assert anomaly["severity"] == "info" and anomaly["evidence"]["pattern"] == "expected_peak"
    assert "Black Friday" in anomaly["recommendation"] and "as expected" in anomaly["recommendation"]
    plain = run_detectors(frames.metrics, frames.campaigns, frames.accounts, frames.clients, day)
    assert plain.query("detector == 'anomaly'").iloc[0]["severity"] == "warning"


def test_a_messy_peaks_frame_is_read_as_far_as_it_goes() -> None:
    messy = pd.DataFrame({"client_id": [1, None, "x", 1, 1], "day": [D, D, D, "not a day", D + dt.timedelta(days=1)],
                          "name": [None, "A", "B", "C", "D"], "expected_uplift": ["n/a", 1.0, 1.0, 1.0, 1.0]})
    window = prepare_window(*weekly({"clicks": 500.0, "spend": 1000.0}).frames(), D, messy)
    assert window.peak_days.sum() == 1 and window.clients["peak_name"].tolist() == ["key date"]
    assert np.isnan(window.clients["peak_uplift"].iloc[0])
    assert one(weekly({"clicks": 500.0, "spend": 1000.0}), messy)["evidence"]["pattern"] == "expected_peak"
    assert prepare_window(None, None, None, None, D, pd.DataFrame()).peak_days.shape == (0, 56)


def test_two_events_on_one_day_take_the_larger_known_uplift() -> None:
    both = pd.concat([peaks_frame(np.nan, "Cyber Monday"), peaks_frame(0.5, "Black Friday"),
                      peaks_frame(1.7, "Singles' Day")])
    window = prepare_window(*weekly({}).frames(), D, both)
    assert window.clients[["peak_name", "peak_uplift"]].iloc[0].tolist() == ["Singles' Day", 1.7]
