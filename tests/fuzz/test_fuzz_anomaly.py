"""Anomaly properties over generated baselines and moves: proportional moves are plain spikes or drops, a peak
within last year's band is never more than info, peaks never read as bot traffic, evidence stays JSON."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.detect.evidence import FINDINGS_COLUMNS
from tasks.detect.run import DETECTORS, run_detectors
from tasks.detect.window import METRICS, prepare_window

FUZZ = settings.get_profile("cadence-fuzz")
D = dt.date(2026, 11, 27)
FEW = settings(FUZZ, max_examples=60)


def _amount(high: float) -> st.SearchStrategy[float]:
    return st.one_of(st.just(0.0), st.floats(0.01, high))


BASE = st.fixed_dictionaries({"impressions": _amount(200_000), "clicks": _amount(5_000), "spend": _amount(20_000),
                              "conversions": _amount(300)})


def frames(usual: list[dict[str, float]], today: list[dict[str, float]], weeks: int = 4) -> tuple[pd.DataFrame, ...]:
    """One account of len(usual) campaigns: `usual` on the previous `weeks` same weekdays, `today` on D."""
    rows = []
    for cid, (base, now) in enumerate(zip(usual, today, strict=True), start=1):
        for week in range(1, weeks + 1):
            rows.append({"campaign_id": cid, "account_id": 10, "client_id": 1,
                         "day": D - dt.timedelta(days=7 * week), **base})
        rows.append({"campaign_id": cid, "account_id": 10, "client_id": 1, "day": D, **now})
    metrics = pd.DataFrame(rows).assign(day=lambda f: pd.to_datetime(f["day"]), conversion_value=0.0)
    campaigns = pd.DataFrame({"campaign_id": range(1, len(usual) + 1), "account_id": 10, "client_id": 1,
                              "status": "active", "daily_budget": np.nan, "bid": np.nan, "geo_targeting_count": 2,
                              "has_conversion_goal": True, "created_on": pd.Timestamp("2025-01-01")})
    accounts = pd.DataFrame({"account_id": [10], "client_id": [1], "status": ["active"],
                             "paused_by_client_day": [pd.NaT], "currency": ["USD"]})
    clients = pd.DataFrame({"client_id": [1], "cpa_min": [np.nan], "cpa_max": [np.nan], "monthly_budget": [np.nan]})
    return metrics, campaigns, accounts, clients


def peak(uplift: float) -> pd.DataFrame:
    return pd.DataFrame({"client_id": [1], "day": [pd.Timestamp(D)], "name": ["Black Friday"],
                         "expected_uplift": [uplift]})


def anomalies(found: pd.DataFrame) -> pd.DataFrame:
    return found[found["detector"] == "anomaly"]


@FEW
@given(base=BASE, k=st.floats(0, 30))
def test_proportional_moves_are_plain_spikes_or_drops(base: dict, k: float) -> None:
    found = DETECTORS["anomaly"](prepare_window(*frames([base], [{m: v * k for m, v in base.items()}]), D))
    for ev in found["evidence"]:
        assert ev["pattern"] in ("spike", "drop", "spend_up_conversions_flat")  # never "the traffic held"
        assert {m["metric"] for m in ev["metrics"]} <= set(METRICS)  # rates hold when everything moves together
        assert {m["direction"] for m in ev["metrics"]} == {"spike" if k > 1 else "drop"}
    assert set(found["subject"]) <= {"campaign:1"}  # one campaign is never an account-wide move


@FEW
@given(base=BASE, uplift=st.floats(0, 3), within=st.floats(0.7, 1.45), known=st.booleans())
def test_a_peak_within_last_years_band_is_at_most_info(base: dict, uplift: float, within: float,
                                                       known: bool) -> None:
    # Known: within 0.7..1.45 of last year's level. Unknown: 1x to 7.4x the usual, inside the widened 7.5x band.
    scale = (1 + uplift) * within if known else 1 + 6.4 * (within - 0.7) / 0.75
    today = {m: v * scale for m, v in base.items()}
    found = DETECTORS["anomaly"](prepare_window(*frames([base], [today]), D, peak(uplift if known else np.nan)))
    for row in found.to_dict("records"):
        assert row["severity"] == "info" and row["evidence"]["pattern"] == "expected_peak", row
        assert row["recommendation"].startswith("Black Friday (2026-11-27") and "as expected" in row["recommendation"]


@FEW
@given(usual=st.lists(BASE, min_size=1, max_size=4), moves=st.lists(st.tuples(*[st.floats(0, 40)] * 4), min_size=4,
                                                                     max_size=4),
       uplift=st.one_of(st.just(np.nan), st.floats(-0.8, 4)), on_peak=st.booleans())
def test_peaks_never_read_as_bot_traffic_and_evidence_is_json(usual: list, moves: list, uplift: float,
                                                              on_peak: bool) -> None:
    today = [{m: v * f for (m, v), f in zip(base.items(), move, strict=True)}
             for base, move in zip(usual, moves, strict=False)]
    found = run_detectors(*frames(usual, today), D, peaks=peak(uplift) if on_peak else None)
    assert list(found.columns) == FINDINGS_COLUMNS
    assert not found.duplicated(["client_id", "account_id", "subject", "detector", "day"]).any()
    for row in anomalies(found).to_dict("records"):
        json.dumps(row["evidence"], allow_nan=False)
        ev = row["evidence"]
        assert ev["metrics"] and all({"metric", "today", "baseline", "ratio", "direction"} <= set(m)
                                     for m in ev["metrics"])
        assert (ev["peak"] is not None) == on_peak
        if on_peak:
            assert "bot" not in row["recommendation"] and ev["pattern"].endswith("peak") or ev["pattern"] == "cvr_drop"
            if ev["pattern"] == "missed_peak":
                assert row["severity"] == "warning"
