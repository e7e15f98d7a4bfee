"""Spend against conversions: a day's spend with none, a CPA above the client's band."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.detect.evidence import _currency, _empty, _findings, _money, _pct, _records
from tasks.detect.window import SweepWindow, _divide, _stopped, _window
from tasks.rules import WINDOW_DAYS


def detect_spend_without_conversions(w: SweepWindow) -> pd.DataFrame:
    """Spent at least a target CPA on D with no conversion, though it converted in the days before."""
    spend, conv = w.cube["spend"], w.cube["conversions"]
    # The history is the days the campaign existed before D, at most swc_history_days.
    history = np.clip(w.campaigns["life"].to_numpy(), 1, w.ints("swc_history_days", 1, WINDOW_DAYS - 1))
    spend_today, conv_today = spend[:, 0], conv[:, 0]
    history_conv = _window(conv, 1, history)
    history_cpa = _divide(_window(spend, 1, history), history_conv)
    cpa_max = w.client_values("cpa_max")
    target = np.where(cpa_max > 0, cpa_max, history_cpa)
    multiple = w.client_values("swc_cpa_multiple")
    fire = (conv_today <= 0) & (history_conv > 0) & (spend_today > 0) & (target > 0) \
        & (spend_today >= multiple * np.nan_to_num(target, nan=np.inf)) \
        & w.known(("impressions", "clicks", "spend", "conversions"), 0, 1)
    idx = np.flatnonzero(fire)
    if not len(idx):
        return _empty()

    account = w.campaigns["account_pos"].to_numpy()[idx]
    account_spend = w.account_cube["spend"][account, 0]
    account_conv = w.account_cube["conversions"][account, 0]
    limit, today, yesterday, conv_2d = target[idx], spend_today[idx], spend[idx, 1], conv[idx, 1]
    spend_2d = today + yesterday
    two_day_cpa = _divide(spend_2d, conv_2d)
    share = _divide(today, account_spend)
    budget = w.campaigns["daily_budget"].to_numpy(dtype="float64")[idx]
    # Room before the 2-day CPA leaves the band even if one conversion arrives right then.
    cpa_room = limit * (conv_2d + 1) - spend_2d
    budget_room = np.where(budget > 0, budget, np.inf)
    remaining = np.maximum(np.minimum(cpa_room, budget_room), 0)
    far_beyond = spend_2d >= w.client_values("swc_pause_cpa_multiple")[idx] * limit * np.maximum(conv_2d, 1)
    big_share = share >= w.client_values("swc_pause_share")[idx]
    good_history = history_cpa[idx] <= limit
    # Seed 000's analysis as a rule, first match wins: far past the limit and heavy in the account -> pause;
    # still room to land inside the band with one conversion -> keep watching; converted well before ->
    # the audience drifted, narrow targeting; otherwise it never paid back -> pause.
    action = np.select([far_beyond & big_share, cpa_room > 0, good_history],
                       ["pause", "keep_watching", "narrow_targeting"], "pause")
    has_band = cpa_max[idx] > 0
    band = [[lo, hi] if ok else None for lo, hi, ok in zip(np.round(w.client_values("cpa_min")[idx], 2).tolist(),
                                                            np.round(cpa_max[idx], 2).tolist(), has_band.tolist(),
                                                            strict=True)]
    days = history[idx]
    currency = _currency(w, campaigns=idx)
    evidence = _records(
        spend_today=np.round(today, 2), conversions_today=0, spend_yesterday=np.round(yesterday, 2),
        conversions_yesterday=np.round(conv_2d, 2), two_day_avg_cpa=np.round(two_day_cpa, 2), cpa_band=band,
        target_cpa=np.round(limit, 2),
        target_source=np.where(has_band, "cpa_max", np.char.add(np.char.add("own_", days.astype(str)), "d_cpa")),
        history_days=days, history_cpa=np.round(history_cpa[idx], 2), account_spend_today=np.round(account_spend, 2),
        account_cpa_today=np.round(_divide(account_spend, account_conv), 2),
        share_of_account_spend_today=np.round(share, 3), daily_budget=np.round(budget, 2),
        remaining_before_limit=np.round(remaining, 2),
        limit_basis=np.where(budget_room < cpa_room, "daily_budget", "cpa_band"), action=action,
        # How often a day this expensive brings no conversion by plain chance, at the campaign's history CPA.
        chance_of_no_conversion=np.round(np.exp(-_divide(today, history_cpa[idx])), 3), currency=currency,
    )
    words = []
    day = w.day.date().isoformat()
    for ev, act, big, cur in zip(evidence, action.tolist(), big_share.tolist(), currency, strict=True):
        limit_name = "the acceptable maximum CPA" if ev["cpa_band"] else "its own recent CPA"
        two_day = (f"a 2-day CPA of {_money(ev['two_day_avg_cpa'], cur)}" if ev["conversions_yesterday"]
                   else "no conversion in two days")
        share_text = _pct(ev["share_of_account_spend_today"]) if ev["share_of_account_spend_today"] is not None \
            else "n/a"
        facts = (f"It spent {_money(ev['spend_today'], cur)} on {day} with no conversion"
                 f" ({_money(ev['spend_today'] + ev['spend_yesterday'], cur)} over two days, {two_day};"
                 f" {limit_name} is {_money(ev['target_cpa'], cur)}; {share_text} of the account's spend that day).")
        history_text = f"{_money(ev['history_cpa'], cur)} over the previous {ev['history_days']} days"
        if act == "pause" and big:
            words.append(f"Pause it. {facts} It is far past the client's limit and weighs heavily on the account.")
        elif act == "pause":
            words.append(f"Pause it. {facts} It is past the client's limit, and its CPA of {history_text}"
                         " was already above it.")
        elif act == "keep_watching":
            words.append(f"Keep watching until it has spent another {_money(ev['remaining_before_limit'], cur)}."
                         f" {facts} One conversion by then keeps it inside the band; without one, pause it.")
        else:
            words.append(f"Narrow the targeting. {facts} It converted at {history_text}, so the audience has"
                         " drifted rather than the campaign failed: tighten audiences, placements or regions.")
    critical = today >= w.client_values("swc_critical_multiple")[idx] * limit
    return _findings(w, "spend_without_conversions", np.where(critical, "critical", "warning").tolist(), evidence,
                     words, campaigns=idx)


def detect_cpa_above_band(w: SweepWindow) -> pd.DataFrame:
    """Rolling CPA over the last days above the client's acceptable maximum plus a tolerance."""
    days = w.ints("cpa_window_days", 1, WINDOW_DAYS)
    spend = _window(w.cube["spend"], 0, days)
    conv = _window(w.cube["conversions"], 0, days)
    cpa = _divide(spend, conv)
    cpa_max = w.client_values("cpa_max")
    limit = cpa_max * (1 + w.client_values("cpa_tolerance"))
    fire = (cpa_max > 0) & ~_stopped(w) & (conv >= w.client_values("cpa_min_conversions")) & (cpa > limit) \
        & w.known(("spend", "conversions"), 0, days)
    idx = np.flatnonzero(fire)
    if not len(idx):
        return _empty()
    critical = cpa[idx] >= w.client_values("cpa_critical_multiple")[idx] * cpa_max[idx]
    band = [list(pair) for pair in zip(np.round(w.client_values("cpa_min")[idx], 2).tolist(),
                                       np.round(cpa_max[idx], 2).tolist(), strict=True)]
    above = cpa[idx] / cpa_max[idx] - 1
    currency = _currency(w, campaigns=idx)
    evidence = _records(
        window_days=days[idx], spend=np.round(spend[idx], 2), conversions=np.round(conv[idx], 2),
        cpa=np.round(cpa[idx], 2), cpa_band=band, threshold=np.round(limit[idx], 2),
        pct_above_max=np.round(above * 100, 1), currency=currency,
    )
    words = []
    for ev, crit, cur in zip(evidence, critical.tolist(), currency, strict=True):
        action = ("Cut its budget or pause it now" if crit
                  else "Lower bids and cut the weakest audiences, placements and keywords")
        words.append(f"{action}: its {ev['window_days']}-day CPA is {_money(ev['cpa'], cur)} on"
                     f" {ev['conversions']:g} conversions, {ev['pct_above_max']:.0f}% above the acceptable maximum"
                     f" of {_money(ev['cpa_band'][1], cur)}.")
    return _findings(w, "cpa_above_band", np.where(critical, "critical", "warning").tolist(), evidence, words,
                     campaigns=idx)
