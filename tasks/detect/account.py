"""An account against its own recent days: conversions gone while clicks hold (tracking), spend collapsing (churn)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.detect.evidence import _currency, _empty, _findings, _iso, _money, _num
from tasks.detect.window import SweepWindow, _text, _window
from tasks.rules import WINDOW_DAYS


def detect_tracking_broken(w: SweepWindow) -> pd.DataFrame:
    """No conversions across an account for the last days while its clicks hold: the tracking broke."""
    conv, clicks = w.account_cube["conversions"], w.account_cube["clicks"]
    days = w.ints("tracking_days", 1, WINDOW_DAYS - 1, level="account")
    base_days = np.minimum(w.ints("tracking_baseline_days", 1, WINDOW_DAYS - 1, level="account"),
                           WINDOW_DAYS - days)
    # Only the days the account's data existed: earlier days are unknown, not days without clicks.
    base_days = np.clip(w.accounts["life"].to_numpy() - days + 1, 0, base_days)
    enough = base_days >= w.ints("baseline_min_days", 1, WINDOW_DAYS, level="account")
    base_days = np.maximum(base_days, 1)
    base_clicks = _window(clicks, days, base_days) / base_days
    base_conv = _window(conv, days, base_days) / base_days
    fewest_clicks = _window(clicks, 0, days, how="min")
    fire = enough & (_window(conv, 0, days) <= 0) & (base_clicks > 0) \
        & (fewest_clicks >= w.client_values("tracking_clicks_ratio", "account") * base_clicks) \
        & (base_conv >= w.client_values("tracking_min_daily_conversions", "account")) \
        & w.known(("clicks", "conversions"), 0, days + base_days, level="account")
    idx = np.flatnonzero(fire)
    if not len(idx):
        return _empty()
    evidence, words = [], []
    for a in idx:
        k = int(days[a])
        by_day = clicks[a, :k][::-1]
        evidence.append({
            "days": k, "conversions": 0, "clicks_by_day": [_num(v, 0) for v in by_day],
            "baseline_days": int(base_days[a]), "baseline_clicks_per_day": _num(base_clicks[a], 1),
            "baseline_conversions_per_day": _num(base_conv[a], 2),
            "clicks_vs_baseline": _num(fewest_clicks[a] / base_clicks[a], 3),
        })
        words.append(f"Conversions stopped across the whole account for the last {k} days while clicks held"
                     f" ({fewest_clicks[a]:,.0f} a day at least, against {base_clicks[a]:,.0f} usually, which brought"
                     f" {base_conv[a]:.1f} conversions a day): check the conversion tag or pixel, the thank-you page"
                     f" and the platform's conversion settings now, and tell the client before they notice.")
    return _findings(w, "tracking_broken", ["critical"] * len(idx), evidence, words, accounts=idx)


def detect_churn_signal(w: SweepWindow) -> pd.DataFrame:
    """Account spend collapsed over the last days, or the client paused the account: relationship risk."""
    acc = w.accounts
    spend = w.account_cube["spend"]
    days = w.ints("churn_days", 1, WINDOW_DAYS - 1, level="account")
    base_days = np.minimum(w.ints("churn_baseline_days", 1, WINDOW_DAYS - 1, level="account"), WINDOW_DAYS - days)
    # Divided by the days the account's data existed, never by days before it began (they are not zero spend).
    base_days = np.clip(acc["life"].to_numpy() - days + 1, 0, base_days)
    enough = base_days >= w.ints("baseline_min_days", 1, WINDOW_DAYS, level="account")
    base_days = np.maximum(base_days, 1)
    recent = _window(spend, 0, days) / days
    baseline = _window(spend, days, base_days) / base_days
    collapse = enough & (baseline >= w.client_values("churn_min_daily_spend", "account")) \
        & (recent < w.client_values("churn_ratio", "account") * baseline) & (acc["status"] != "removed").to_numpy() \
        & w.known(("spend",), 0, days, level="account")
    paused_off = acc["paused_off"].to_numpy(dtype="float64")
    paused = (acc["status"] == "paused").to_numpy() & (paused_off <= WINDOW_DAYS - 1)
    idx = np.flatnonzero(collapse | paused)
    if not len(idx):
        return _empty()
    currency = _currency(w, accounts=idx)
    evidence, words = [], []
    for i, a in enumerate(idx):
        cur = currency[i]
        paused_on = _iso(w.day, paused_off[a]) if paused[a] else None
        evidence.append({
            "paused_by_client_day": paused_on, "status": _text(acc["status"].iat[a]),
            "recent_days": int(days[a]), "recent_daily_spend": _num(recent[a]),
            "baseline_days": int(base_days[a]), "baseline_daily_spend": _num(baseline[a]),
            "drop_pct": _num((1 - recent[a] / baseline[a]) * 100 if baseline[a] > 0 else np.nan, 1),
            "currency": cur,
        })
        if paused[a]:
            words.append(f"Call the client today: they paused this account on {paused_on}. Ask why (results,"
                         " budget, plans) and agree the next step before the budget goes elsewhere.")
        else:
            words.append(f"Call the client today: account spend fell to {_money(recent[a], cur)} a day over the"
                         f" last {days[a]} days from {_money(baseline[a], cur)} a day. Find out whether it is a"
                         " budget cut, a change of plan or a problem on our side before it becomes a pause.")
    severity = np.where(paused[idx], "critical", "warning").tolist()
    return _findings(w, "churn_signal", severity, evidence, words, accounts=idx)
