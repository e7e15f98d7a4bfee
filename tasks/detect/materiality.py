"""Materiality: a critical finding stays critical only when the money at risk matters to the client."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tasks.detect.evidence import _money, _num
from tasks.detect.window import SweepWindow, _divide, _group_sum, _positions, _text
from tasks.rules import WINDOW_DAYS

# The absolute floor under which no problem is a crisis, in the account's currency (unknown currencies: DEFAULT).
MATERIAL_FLOORS: dict[str, float] = {
    "USD": 100.0, "EUR": 100.0, "GBP": 100.0, "CHF": 100.0, "CAD": 150.0, "AUD": 150.0, "NZD": 150.0,
    "SGD": 150.0, "CNY": 700.0, "HKD": 800.0, "JPY": 15_000.0, "KRW": 130_000.0, "INR": 8_000.0,
    "RUB": 10_000.0, "BRL": 500.0, "MXN": 2_000.0, "TRY": 3_000.0, "PLN": 400.0, "SEK": 1_000.0,
    "NOK": 1_000.0, "DKK": 700.0, "AED": 400.0, "KZT": 50_000.0, "UAH": 4_000.0, "BYN": 300.0,
    "UZS": 1_200_000.0, "IDR": 1_500_000.0, "THB": 3_500.0, "VND": 2_500_000.0, "ZAR": 2_000.0, "TWD": 3_000.0,
    "DEFAULT": 100.0,
}


def _at_risk(w: SweepWindow, detector: str, evidence: dict[str, Any], account: int) -> float:
    """Money at risk of a finding in its account's currency, from its evidence; NaN when it cannot be said."""
    def get(key: str) -> float:
        value = evidence.get(key)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else np.nan

    if detector in ("spend_without_conversions", "launch_guard"):
        return get("spend_today")
    if detector == "cpa_above_band":
        band = evidence.get("cpa_band") or [None, None]
        top = band[1] if isinstance(band[1], int | float) else np.nan
        return max(get("cpa") - top, 0.0) * get("conversions")
    if detector == "budget_pacing":
        return abs(get("projected") - get("monthly_budget"))
    if detector == "tracking_broken":
        days = int(evidence.get("days") or 1)
        return float(w.account_cube["spend"][account, :days].sum()) if account >= 0 else np.nan
    if detector == "data_not_arrived":
        return get("baseline_daily_spend") * get("days_missing")
    if detector == "stopped_delivering":
        return get("baseline_daily_spend") * get("days_stopped")
    if detector == "churn_signal":
        return get("baseline_daily_spend")
    if detector == "anomaly":
        spend = [m for m in evidence.get("metrics") or [] if isinstance(m, dict) and m.get("metric") == "spend"]
        return abs(float(spend[0]["today"]) - float(spend[0]["baseline"])) if spend else np.nan
    return np.nan


def apply_materiality(w: SweepWindow, found: pd.DataFrame) -> pd.DataFrame:
    """A critical finding stays critical only when its money at risk is material for the client: at least
    `material_share` of its usual daily spend and at least the currency's floor. Otherwise it becomes a warning."""
    critical = np.flatnonzero((found["severity"] == "critical").to_numpy()) if len(found) else np.zeros(0, int)
    if not len(critical):
        return found
    acc = w.accounts
    days = w.ints("material_days", 1, WINDOW_DAYS - 1, level="client")
    account_client = acc["client_pos"].to_numpy()
    client_spend = _group_sum(w.account_cube["spend"], account_client, len(w.clients))
    # The usual day: mean spend over the days the client spent among days D-1 .. D-days (NaN when it spent on none).
    # Summed over whole rows with the other days zeroed, not with _window's slice: the order of the additions sets
    # the last bit, and a mean of cents over an even count often sits on a half cent that the evidence rounds.
    columns = np.arange(WINDOW_DAYS)[None, :]
    recent = np.where((columns >= 1) & (columns <= days[:, None]), client_spend, 0.0)
    usual = _divide(recent.sum(axis=1), (recent > 0).sum(axis=1))
    share_at = w.client_values("material_share", "client")
    floor_at = w.client_values("material_floor", "client")
    account_pos = _positions(acc["account_id"].to_numpy(), found["account_id"].to_numpy()[critical])
    # A finding's client is its account's (the account decides the client in prepare_window).
    client_pos = np.where(account_pos >= 0, account_client[account_pos], -1)
    currency = acc["currency"].to_numpy(dtype=object)
    detectors = found["detector"].to_numpy(dtype=object)
    evidences, severity = found["evidence"].tolist(), found["severity"].tolist()
    words = found["recommendation"].tolist()
    for row, a, c in zip(critical.tolist(), account_pos.tolist(), client_pos.tolist(), strict=True):
        evidence = dict(evidences[row]) if isinstance(evidences[row], dict) else {}
        at_risk = _at_risk(w, detectors[row], evidence, a)
        if not np.isfinite(at_risk) or c < 0:
            continue  # no measure of the money at stake: the detector's own severity stands
        cur = (_text(currency[a]) or "") if a >= 0 else ""
        floor = floor_at[c] if np.isfinite(floor_at[c]) \
            else MATERIAL_FLOORS.get(cur.upper(), MATERIAL_FLOORS["DEFAULT"])
        share = at_risk / usual[c] if usual[c] > 0 else np.nan
        material = bool(at_risk >= floor and (not np.isfinite(share) or share >= share_at[c]))
        evidence["materiality"] = {"at_risk": _num(at_risk), "share": _num(share, 3), "floor": _num(floor),
                                   "material_share": _num(share_at[c], 3), "usual_daily_spend": _num(usual[c]),
                                   "material": material}
        evidences[row] = evidence
        if not material:
            severity[row] = "warning"
            of = f", {share * 100:.1f}% of the client's usual {_money(usual[c], cur)} a day" \
                if np.isfinite(share) else ""
            words[row] = (f"{words[row]} A warning, not a crisis: {_money(at_risk, cur)} at risk{of}, under this"
                          f" client's threshold ({share_at[c] * 100:.0f}% of its usual daily spend and at least"
                          f" {_money(floor, cur)}).")
    return found.assign(evidence=evidences, severity=severity, recommendation=words)
