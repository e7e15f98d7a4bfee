"""Spend against budget and set-up: a bid too low to deliver, a launch without targeting, the month's pace."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.detect.evidence import _currency, _empty, _findings, _iso, _money, _num, _pct, _records
from tasks.detect.window import SweepWindow, _divide, _stopped, _text, _window
from tasks.rules import WINDOW_DAYS


def _peer_median(groups: np.ndarray, values: np.ndarray, eligible: np.ndarray,
                 targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median of `values` over the eligible rows of each target's group, the target itself left out."""
    pool = np.flatnonzero(eligible)
    order = pool[np.lexsort((values[pool], groups[pool]))]
    sorted_groups, sorted_values = groups[order], values[order]
    rank = np.full(len(values), -1, dtype=np.int64)
    rank[order] = np.arange(len(order))
    g = groups[targets]
    start = np.searchsorted(sorted_groups, g, side="left")
    count = np.searchsorted(sorted_groups, g, side="right") - start
    own = rank[targets]
    self_in = own >= 0
    m = count - self_in
    own_rank = own - start

    if not len(sorted_values):
        return np.full(len(targets), np.nan), m

    def nth(k: np.ndarray) -> np.ndarray:
        pos = start + k + (self_in & (k >= own_rank))
        nearest: np.ndarray = sorted_values[np.clip(pos, 0, len(sorted_values) - 1)]
        return nearest

    low, high = nth(np.maximum((m - 1) // 2, 0)), nth(np.maximum(m // 2, 0))
    return np.where(m > 0, (low + high) / 2, np.nan), m


def detect_underdelivery_low_bid(w: SweepWindow) -> pd.DataFrame:
    """An active campaign spending a small share of its daily budget day after day, its bid below its peers'."""
    camps = w.campaigns
    budget = camps["daily_budget"].to_numpy(dtype="float64")
    bid = camps["bid"].to_numpy(dtype="float64")
    active = (camps["status"] == "active").to_numpy() & ~_stopped(w)
    days = w.ints("underdelivery_days", 1, WINDOW_DAYS)
    # Only campaigns live on every day of the window are judged: a two-day-old campaign has not had its chance.
    candidate = active & (budget > 0) & (camps["life"].to_numpy() >= days - 1)
    most = _window(w.cube["spend"], 0, days, how="max")
    share = w.client_values("underdelivery_share")
    low = candidate & (most < share * np.nan_to_num(budget)) & w.known(("spend",), 0, days)
    idx = np.flatnonzero(low)
    if not len(idx):
        return _empty()
    priced = active & (bid > 0)
    median, peers = _peer_median(camps["account_pos"].to_numpy(), np.nan_to_num(bid), priced, idx)
    own = bid[idx]
    has_bid = own > 0
    comparison = np.select([~has_bid, peers == 0, own < median], ["no_bid", "no_peers", "below_peers"], "at_or_above")
    keep = comparison != "at_or_above"
    idx, median, peers, own, comparison = idx[keep], median[keep], peers[keep], own[keep], comparison[keep]
    if not len(idx):
        return _empty()
    currency = _currency(w, campaigns=idx)
    k = days[idx]
    recent = w.cube["spend"][idx, : int(k.max())]
    evidence = _records(
        days=k, daily_budget=np.round(budget[idx], 2),
        spend_by_day=[row[:n][::-1] for row, n in zip(np.round(recent, 2).tolist(), k.tolist(), strict=True)],
        max_share_of_budget=np.round(most[idx] / budget[idx], 3), threshold_share=np.round(share[idx], 3),
        bid=np.round(own, 4), peer_median_bid=np.round(median, 4), peer_count=peers, bid_comparison=comparison,
        currency=currency,
    )
    words = []
    for ev, cur in zip(evidence, currency, strict=True):
        why = {
            "below_peers": f"its bid of {_money(ev['bid'], cur)} is below the account's median of"
                           f" {_money(ev['peer_median_bid'], cur)} across {ev['peer_count']} other active campaigns",
            "no_peers": f"no other active campaign in the account has a bid to compare its"
                        f" {_money(ev['bid'], cur)} with",
            "no_bid": "it has no bid set, so the bid could not be compared with the account's other campaigns",
        }[ev["bid_comparison"]]
        words.append(f"Raise the bid to get volume: it spent at most {_pct(ev['max_share_of_budget'])} of its"
                     f" {_money(ev['daily_budget'], cur)} daily budget on each of the last {ev['days']} days,"
                     f" and {why}. New creatives will not fix a bid that is too low.")
    return _findings(w, "underdelivery_low_bid", ["warning"] * len(idx), evidence, words, campaigns=idx)


def detect_launch_guard(w: SweepWindow) -> pd.DataFrame:
    """A campaign created or edited in the last days with no geo targeting or no conversion goal."""
    camps = w.campaigns
    days = w.ints("launch_guard_days", 1, 366)
    created, edited = camps["created_off"].to_numpy(), camps["edited_off"].to_numpy()
    # Only what existed on D is judged: a back-fill of a day before the campaign was created has nothing to fix.
    existed = (created >= 0) | (np.isnan(created) & (camps["life"].to_numpy() >= 0))
    recent = ((created >= 0) & (created <= days - 1)) | ((edited >= 0) & (edited <= days - 1))
    live = camps["in_settings"].to_numpy() & (camps["status"] != "removed").to_numpy()
    # Unknown settings (NULL) are no evidence of missing ones.
    no_geo = (pd.to_numeric(camps["geo_targeting_count"], errors="coerce") == 0).to_numpy()
    goal = camps["has_conversion_goal"]
    no_goal = goal.notna().to_numpy() & goal.eq(False).to_numpy(dtype=bool)
    idx = np.flatnonzero(existed & recent & live & (no_geo | no_goal))
    if not len(idx):
        return _empty()
    spend_today = w.cube["spend"][idx, 0]
    currency = _currency(w, campaigns=idx)
    evidence, words = [], []
    for i, c in enumerate(idx):
        problems = [p for p, on in (("no_geo_targeting", no_geo[c]), ("no_conversion_goal", no_goal[c])) if on]
        evidence.append({
            "problems": problems, "status": _text(camps["status"].iat[c]),
            "created_on": _iso(w.day, created[c]) if np.isfinite(created[c]) else None,
            "edited_on": _iso(w.day, edited[c]) if np.isfinite(edited[c]) else None,
            "spend_today": _num(spend_today[i]), "currency": currency[i],
        })
        fixes = []
        if no_geo[c]:
            fixes.append("set its geo targeting (with none it runs nationwide or worldwide)")
        if no_goal[c]:
            fixes.append("set a conversion goal (without one the platform cannot optimise for or count results)")
        lead = (f"It already spent {_money(spend_today[i], currency[i])} on {w.day.date().isoformat()}: "
                if spend_today[i] > 0 else "Before it starts spending, ")
        words.append(f"{lead}{' and '.join(fixes)}. Tell the client what was fixed.")
    severity = np.where(spend_today > 0, "critical", "warning").tolist()
    return _findings(w, "launch_guard", severity, evidence, words, campaigns=idx)


def detect_budget_pacing(w: SweepWindow) -> pd.DataFrame:
    """Month-to-date spend of each client, projected linearly to month end, against its monthly budget."""
    # The commitment is the client's, so its accounts are summed; the finding needs an account subject, so it
    # sits on the account with the most spend this month and lists all of them.
    acc = w.accounts
    elapsed, in_month = w.day.day, w.day.days_in_month
    account_mtd = w.account_cube["spend"][:, :elapsed].sum(axis=1)
    client_pos = acc["client_pos"].to_numpy()
    n_clients = len(w.clients)
    mtd = np.bincount(client_pos, weights=account_mtd, minlength=n_clients)
    currencies = acc.loc[acc["currency"].notna()].groupby("client_pos")["currency"].nunique()
    mixed = np.zeros(n_clients, dtype=bool)
    mixed[currencies.index[currencies > 1].to_numpy(dtype=np.int64)] = True
    has_account = np.bincount(client_pos, minlength=n_clients) > 0
    budget = w.clients["monthly_budget"].to_numpy(dtype="float64")
    projected = mtd / elapsed * in_month
    pct = _divide(projected, budget)
    grace = w.ints("pacing_grace_days", 0, 31, level="client")
    over = pct >= w.client_values("pacing_over", "client")
    under = pct <= w.client_values("pacing_under", "client")
    # A blank spend this month makes the month-to-date figure a floor, not a pace: no verdict until it is re-imported.
    gaps = np.bincount(client_pos, weights=~w.known(("spend",), 0, elapsed, level="account"), minlength=n_clients) > 0
    eligible = (budget > 0) & has_account & ~mixed & (elapsed > grace) & ~gaps
    clients = np.flatnonzero(eligible & (over | under))
    if not len(clients):
        return _empty()
    # The reporting account: listed in the accounts frame first, then most spend, then lowest id.
    order = np.lexsort((acc["account_id"].to_numpy(), -account_mtd, ~acc["listed"].to_numpy(dtype=bool),
                        client_pos))
    first = order[np.r_[True, client_pos[order][1:] != client_pos[order][:-1]]]
    lead = np.full(n_clients, -1, dtype=np.int64)
    lead[client_pos[first]] = first
    accounts = lead[clients]
    critical_at = w.client_values("pacing_over_critical", "client")
    reach = w.client_values("pacing_max_multiple", "client")
    currency = _currency(w, accounts=accounts)
    left = in_month - elapsed
    bounds = np.searchsorted(client_pos, np.arange(n_clients + 1))
    evidence, words, severity = [], [], []
    for i, c in enumerate(clients):
        cur = currency[i]
        direction = "overspend" if over[c] else "underspend"
        members = np.arange(bounds[c], bounds[c + 1])  # accounts are grouped by client
        members = members[np.argsort(-account_mtd[members], kind="stable")]
        remaining_budget = budget[c] - mtd[c]
        needed = remaining_budget / left if left else np.nan
        rate = mtd[c] / elapsed
        # How far the pace must move: advice is kept within pacing_max_multiple of it (or 1/that for cuts).
        multiple = needed / rate if left and rate > 0 else np.nan
        within = bool(left and rate > 0 and needed > 0 and 1 / reach[c] <= multiple <= reach[c])
        evidence.append({
            "mtd_spend": _num(mtd[c]), "monthly_budget": _num(budget[c]), "days_elapsed": elapsed,
            "days_in_month": in_month, "expected_to_date": _num(budget[c] * elapsed / in_month),
            "projected": _num(projected[c]), "projected_pct": _num(pct[c] * 100, 1), "direction": direction,
            "daily_rate": _num(rate), "daily_rate_needed": _num(max(needed, 0.0) if left else np.nan),
            "pace_multiple_needed": _num(multiple, 2), "max_pace_multiple": _num(reach[c], 2),
            "within_reach": within,
            "accounts": [{"account_id": int(acc["account_id"].iat[a]), "mtd_spend": _num(account_mtd[a])}
                         for a in members],
            "currency": cur,
        })
        pace = (f"At this month's pace ({_money(rate, cur)} a day) the client's accounts end the month at"
                f" {_money(projected[c], cur)}, {pct[c] * 100:.0f}% of the {_money(budget[c], cur)} monthly budget")
        if direction == "overspend":
            if not left or remaining_budget <= 0:
                fix = "the budget is spent: stop spend or agree extra budget with the client today"
            elif within:
                fix = f"lower daily budgets to about {_money(needed, cur)} a day for the remaining {left} days"
            else:
                fix = (f"agree extra budget or which campaigns to stop with the client: staying within the budget"
                       f" needs {_money(needed, cur)} a day for the remaining {left} days,"
                       f" {multiple * 100:.0f}% of the current pace, more than lowering budgets can cut")
            severity.append("critical" if pct[c] >= critical_at[c] else "warning")
        else:
            if not left:
                fix = "the month closes below the commitment: explain why to the client"
            elif within:
                fix = (f"raise spend to about {_money(needed, cur)} a day for the remaining {left} days"
                       " (budgets, bids or new campaigns) to meet the commitment")
            elif rate > 0:
                fix = (f"agree a new budget with the client: the commitment needs {_money(needed, cur)} a day for"
                       f" the remaining {left} days, {multiple:.1f}x the current pace, beyond what raising budgets"
                       " and bids can reach")
            else:
                fix = (f"agree a new budget with the client: nothing was spent this month, and the commitment needs"
                       f" {_money(needed, cur)} a day for the remaining {left} days")
            severity.append("warning")
        words.append(f"{pace}. {fix[0].upper()}{fix[1:]}.")
    return _findings(w, "budget_pacing", severity, evidence, words, accounts=accounts)
