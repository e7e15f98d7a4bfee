"""Every detector (DETECTORS, the one list of them) over the sweep's frames, then causes folded, materiality."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pandas as pd

from tasks.detect.account import detect_churn_signal, detect_tracking_broken
from tasks.detect.anomaly import detect_anomaly
from tasks.detect.causes import fold_root_causes
from tasks.detect.conversions import detect_cpa_above_band, detect_spend_without_conversions
from tasks.detect.delivery import detect_budget_pacing, detect_launch_guard, detect_underdelivery_low_bid
from tasks.detect.evidence import _empty
from tasks.detect.gaps import detect_data_not_arrived, detect_data_quality, detect_stopped_delivering
from tasks.detect.materiality import apply_materiality
from tasks.detect.window import SweepWindow, prepare_window

DETECTORS: dict[str, Callable[[SweepWindow], pd.DataFrame]] = {
    "spend_without_conversions": detect_spend_without_conversions,
    "cpa_above_band": detect_cpa_above_band,
    "underdelivery_low_bid": detect_underdelivery_low_bid,
    "launch_guard": detect_launch_guard,
    "budget_pacing": detect_budget_pacing,
    "anomaly": detect_anomaly,
    "tracking_broken": detect_tracking_broken,
    "churn_signal": detect_churn_signal,
    "data_quality": detect_data_quality,
    "data_not_arrived": detect_data_not_arrived,
    "stopped_delivering": detect_stopped_delivering,
}


def run_detectors(metrics: pd.DataFrame | None, campaigns: pd.DataFrame | None, accounts: pd.DataFrame | None,
                  clients: pd.DataFrame | None, day: dt.date | pd.Timestamp | str,
                  peaks: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every detector over the four frames (and the optional peaks) for sweep day `day` (D): FINDINGS_COLUMNS."""
    window = prepare_window(metrics, campaigns, accounts, clients, day, peaks)
    found = [frame for frame in (detect(window) for detect in DETECTORS.values()) if len(frame)]
    if not found:
        return _empty()
    found = pd.concat(found, ignore_index=True)
    found = fold_root_causes(found)
    return apply_materiality(window, found)
