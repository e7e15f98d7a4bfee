"""What the sweep cannot see: blank or impossible values, data that did not arrive, delivery that stopped."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tasks.detect.evidence import _currency, _empty, _findings, _iso, _money, _num, _plural
from tasks.detect.window import METRICS, SweepWindow, _account_stopped, _divide, _text, _window
from tasks.rules import WINDOW_DAYS, most_severe


def detect_data_quality(w: SweepWindow) -> pd.DataFrame:
    """Gaps and impossible values that make the other detectors blind: one finding per subject, all issues listed."""
    acc, camps, cli = w.accounts, w.campaigns, w.clients
    issues: dict[tuple[str, int], list[tuple[str, dict[str, Any], str]]] = {}

    def add(kind: str, pos: int | np.integer[Any], severity: str, evidence: dict[str, Any], words: str) -> None:
        issues.setdefault((kind, int(pos)), []).append((severity, evidence, words))

    client_pos = acc["client_pos"].to_numpy()
    order = np.lexsort((acc["account_id"].to_numpy(), ~acc["listed"].to_numpy(dtype=bool), client_pos))
    first = order[np.r_[True, client_pos[order][1:] != client_pos[order][:-1]]] if len(order) else order
    first_of = dict(zip(client_pos[first].tolist(), first.tolist(), strict=True))
    no_band = ~(w.clients["cpa_max"].to_numpy() > 0)
    for c in np.flatnonzero(no_band):
        if c in first_of:
            add("account", first_of[c], "info",
                {"issue": "no_kpi_band", "client_listed": bool(cli["listed"].iat[c])},
                "The client has no acceptable CPA band: spend-without-conversions falls back to each campaign's"
                " own CPA and CPA-above-band is skipped. Agree the band with the client and record it.")
    currencies = acc.loc[acc["currency"].notna()].groupby("client_pos")["currency"].unique()
    budget = cli["monthly_budget"].to_numpy(dtype="float64")
    for c, values in currencies.items():
        if len(values) > 1 and budget[c] > 0 and c in first_of:
            add("account", first_of[c], "warning",
                {"issue": "mixed_currencies", "currencies": sorted(map(str, values))},
                f"The client's accounts spend in {', '.join(sorted(values))}: budget pacing is skipped until"
                " spend can be converted to the budget's currency.")
    silent = acc["listed"].to_numpy(dtype=bool) & (acc["status"] == "active").to_numpy() \
        & (acc["row_count"].to_numpy() == 0)
    for a in np.flatnonzero(silent):
        add("account", a, "info", {"issue": "no_metrics", "window_days": WINDOW_DAYS},
            f"No metrics arrived for this active account in the last {WINDOW_DAYS} days: check its import or"
            " platform connection, or mark it paused.")
    for c in np.flatnonzero(~camps["in_settings"].to_numpy(dtype=bool)):
        add("campaign", c, "warning",
            {"issue": "metrics_without_campaign", "metric_days": int(camps["row_count"].iat[c])},
            "Metrics arrived for this campaign but Cadence has no settings row for it (budget, bid, targeting):"
            " re-sync the account's campaigns.")
    blanks = w.bad_rows[w.bad_rows["blank"]] if len(w.bad_rows) else w.bad_rows
    for c, rows in blanks.groupby("campaign_pos"):
        gone = [m for m in METRICS if rows[f"blank_{m}"].any()]
        days = sorted({_iso(w.day, o) for o in rows["offset"].tolist()})
        spent = bool(rows["spent"].any())
        add("campaign", c, "warning",
            {"issue": "export_incomplete", "blank_metrics": gone, "days": days[:5], "day_count": len(days),
             "spend_arrived": spent},
            f"The export is incomplete for {', '.join(days[:5])}{' and more days' if len(days) > 5 else ''}:"
            f" {', '.join(gone)} {'are' if len(gone) > 1 else 'is'} blank{' although spend arrived' if spent else ''}."
            " Check the tracking and the export, then re-import those days; until then the sweep reads them as"
            " missing, not as zero, and raises no alarm on them.")
    if len(w.bad_rows):
        kinds = ["negative", "clicks_over_impressions", "duplicate"]
        grouped = w.bad_rows.groupby("campaign_pos")
        counts = grouped[kinds].sum()
        recent = grouped["offset"].apply(lambda s: sorted(set(s.tolist()))[:5])
        for c, row in counts.iterrows():
            found = {k: int(row[k]) for k in kinds if row[k]}
            if not found:
                continue
            add("campaign", c, "warning",
                {"issue": "suspicious_values", "rows": found, "days": [_iso(w.day, o) for o in recent[c]]},
                f"Metric rows with impossible values ({', '.join(k.replace('_', ' ') for k in found)}) in the"
                " window: re-import those days; until then the sweep counts negative values as zero.")
    if not issues:
        return _empty()
    keys = sorted(issues)
    frames = []
    for kind in ("account", "campaign"):
        positions = np.array([p for k, p in keys if k == kind], dtype=np.int64)
        if not len(positions):
            continue
        groups = [issues[(kind, int(p))] for p in positions]
        severity = [most_severe(s for s, _, _ in g) for g in groups]
        evidence = [{"issues": [e for _, e, _ in g]} for g in groups]
        words = [" ".join(t for _, _, t in g) for g in groups]
        target = {"campaigns": positions} if kind == "campaign" else {"accounts": positions}
        frames.append(_findings(w, "data_quality", severity, evidence, words, **target))
    return pd.concat(frames, ignore_index=True)


def _gap(present: np.ndarray) -> np.ndarray:
    """Days since the most recent day marked in `present` (0 when D is), WINDOW_DAYS when none is."""
    if not present.shape[0]:
        return np.zeros(0, dtype=np.int64)
    return np.where(present.any(axis=1), np.argmax(present, axis=1), WINDOW_DAYS).astype(np.int64)


def _before_gap(present: np.ndarray, gap: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How many of the `days` days ending on each row's last marked day are marked, and that window's length."""
    length = np.maximum(np.minimum(days, WINDOW_DAYS - gap), 1)
    return _window(present.astype(np.float64), np.minimum(gap, WINDOW_DAYS - 1), length), length


def _spend_before_gap(present: np.ndarray, spend: np.ndarray, gap: np.ndarray,
                      days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The usual daily spend before the gap: mean spend over the marked days among the `days` days ending on each
    row's last marked day. Returns that mean (NaN without a marked day), the marked days and the window's length."""
    marked, length = _before_gap(present, gap, days)
    return _divide(_window(np.where(present, spend, 0.0), gap, length), marked), marked, length


def detect_data_not_arrived(w: SweepWindow) -> pd.DataFrame:
    """An active account that reported on recent days but has no metric row at all on D: the import is late."""
    acc = w.accounts
    present = w.account_has_rows
    gap = _gap(present)
    live = ~_account_stopped(w)
    idx = np.flatnonzero(live & (gap >= 1) & (gap < WINDOW_DAYS))
    if not len(idx):
        return _empty()
    g = gap[idx]
    recent = w.ints("freshness_recent_days", 1, WINDOW_DAYS - 1, level="account")[idx]
    reported, length = _before_gap(present[idx], g, recent)
    keep = reported >= np.minimum(w.ints("freshness_min_days", 1, WINDOW_DAYS - 1, level="account")[idx], length)
    idx, g = idx[keep], g[keep]
    if not len(idx):
        return _empty()
    # The usual day: the account's mean spend over the days it reported, up to its last day with data.
    base_days = w.ints("material_days", 1, WINDOW_DAYS - 1, level="account")[idx]
    baseline, with_data, _ = _spend_before_gap(present[idx], w.account_cube["spend"][idx], g, base_days)
    critical = g >= w.ints("freshness_critical_days", 1, WINDOW_DAYS, level="account")[idx]
    currency = _currency(w, accounts=idx)
    evidence, words = [], []
    for i, a in enumerate(idx):
        k, cur = int(g[i]), currency[i]
        last = _iso(w.day, k)
        evidence.append({"last_day_with_data": last, "days_missing": k,
                         "baseline_days": int(with_data[i]), "baseline_daily_spend": _num(baseline[i]),
                         "status": _text(acc["status"].iat[a]), "currency": cur})
        problem = _text(acc["sync_problem"].iat[a])
        if problem:
            evidence[-1]["sync_problem"] = problem
        usual = f"; it usually spends {_money(baseline[i], cur)} a day" if baseline[i] > 0 else ""
        why = (f" The morning platform pull says: {problem}. Reconnect the login (`cadence account connect`);"
               " the next pull fetches the missing days" if problem else
               " Check the import and the platform connection (access token, permissions, export schedule) and"
               " re-import the missing days")
        words.append(f"No metrics have arrived for this account since {last}"
                     f" ({_plural(k, 'day', 'days')} missing{usual}).{why}; until the data"
                     " arrives the sweep cannot judge the account or its campaigns.")
    return _findings(w, "data_not_arrived", np.where(critical, "critical", "warning").tolist(), evidence, words,
                     accounts=idx)


STOP_CAUSES = "ad disapprovals, an exhausted budget, billing, the schedule's end date, a bid too low to win, or a" \
              " status change"


def detect_stopped_delivering(w: SweepWindow) -> pd.DataFrame:
    """A campaign that delivered on most recent days and has nothing on D although its account's data arrived.

    Every delivering campaign of an account stopped at once is also one account-level finding (folded later)."""
    camps, acc = w.campaigns, w.accounts
    volume = w.volume
    blank_today = np.logical_or.reduce([w.missing[m][:, 0] for m in METRICS]) if len(camps) else np.zeros(0, bool)
    account_pos = camps["account_pos"].to_numpy()
    arrived = w.account_has_rows[:, 0]
    account_off = _account_stopped(w)
    status = camps["status"].to_numpy(dtype=object)
    removed = status == "removed"
    gap = _gap(volume)
    candidate = (gap >= 1) & (gap < WINDOW_DAYS) & ~blank_today & arrived[account_pos] & ~removed \
        & ~account_off[account_pos]
    idx = np.flatnonzero(candidate)
    if not len(idx):
        return _empty()
    g = gap[idx]
    recent = w.ints("stop_recent_days", 1, WINDOW_DAYS - 1)[idx]
    delivered, length = _before_gap(volume[idx], g, recent)
    # A paused campaign is said once its pause is news (within the recent days), not every day for weeks.
    keep = (delivered >= np.minimum(w.ints("stop_min_days", 1, WINDOW_DAYS - 1)[idx], length)) \
        & ((status[idx] != "paused") | (g <= recent))
    idx, g = idx[keep], g[keep]
    if not len(idx):
        return _empty()
    baseline, delivered, length = _spend_before_gap(volume[idx], w.cube["spend"][idx], g, recent[keep])
    paused = status[idx] == "paused"
    row_today = w.has_rows[idx, 0]
    currency = _currency(w, campaigns=idx)
    evidence, words = [], []
    for i in range(len(idx)):
        k, cur = int(g[i]), currency[i]
        last = _iso(w.day, k)
        evidence.append({"last_day_with_delivery": last, "days_stopped": k, "recent_days": int(length[i]),
                         "days_delivered": int(delivered[i]), "baseline_daily_spend": _num(baseline[i]),
                         "row_on_day": bool(row_today[i]), "status": _text(status[idx[i]]), "currency": cur})
        facts = (f"It delivered on {int(delivered[i])} of the {int(length[i])} days up to {last} (about"
                 f" {_money(baseline[i], cur)} a day) and nothing since: {_plural(k, 'day', 'days')} without an"
                 f" impression, click or spend{'' if row_today[i] else ', with no row at all on the last'}.")
        if paused[i]:
            words.append(f"Paused on purpose: its status is paused. {facts} Nothing to do unless the pause was not"
                         " intended.")
        else:
            words.append(f"Find out why it stopped delivering and restart it. {facts} Check {STOP_CAUSES}.")
    found = [_findings(w, "stopped_delivering", np.where(paused, "info", "warning").tolist(), evidence, words,
                       campaigns=idx)]

    # The whole account went dark: its data arrived, nothing delivered, several campaigns stopped at once.
    active = idx[~paused]
    stops = np.bincount(account_pos[active], minlength=len(acc))
    account_volume = w.account_volume
    dark = arrived & ~account_volume[:, 0] & (stops >= w.ints("stop_account_min_campaigns", 1, 10**9, "account"))
    accounts = np.flatnonzero(dark)
    if len(accounts):
        a_gap = _gap(account_volume[accounts])
        a_recent = w.ints("stop_recent_days", 1, WINDOW_DAYS - 1, "account")[accounts]
        a_baseline, _, _ = _spend_before_gap(account_volume[accounts], w.account_cube["spend"][accounts], a_gap,
                                             a_recent)
        # Campaigns are grouped by account and sorted by id within it, so each account's stopped ones are a slice.
        stopped_ids = camps["campaign_id"].to_numpy()[active]
        first = np.searchsorted(account_pos[active], accounts, side="left")
        a_currency = _currency(w, accounts=accounts)
        a_evidence, a_words = [], []
        for i, a in enumerate(accounts):
            k, cur, n = int(a_gap[i]), a_currency[i], int(stops[a])
            mine = stopped_ids[first[i] : first[i] + n]
            a_evidence.append({"campaigns_stopped": n, "campaigns": mine[:20].tolist(),
                               "last_day_with_delivery": _iso(w.day, k), "days_stopped": k,
                               "baseline_daily_spend": _num(a_baseline[i]), "currency": cur})
            a_words.append(f"The whole account stopped delivering: all {n} of its delivering campaigns have had no"
                           f" impression, click or spend since {_iso(w.day, k)} ({_plural(k, 'day', 'days')}), against"
                           f" about {_money(a_baseline[i], cur)} a day before. Check the account's billing and payment"
                           " method, whether the platform suspended the account, and its spending limit, today.")
        found.append(_findings(w, "stopped_delivering", ["critical"] * len(accounts), a_evidence, a_words,
                               accounts=accounts))
    return pd.concat(found, ignore_index=True)
