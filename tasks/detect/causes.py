"""Root causes: an account-level cause absorbs the findings it explains, one finding per cause."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tasks.detect.evidence import _plural
from tasks.rules import most_severe

# Root causes: an account-level cause absorbs the campaign findings it explains (first cause in this order wins).
CAUSE_ORDER = ("data_not_arrived", "stopped_delivering", "tracking_broken", "churn_signal", "anomaly")
# What each cause explains besides anomalies (decided in _explains).
EXPLAINED_BY = {
    "data_not_arrived": {"stopped_delivering", "anomaly", "underdelivery_low_bid", "churn_signal"},
    "stopped_delivering": {"stopped_delivering", "anomaly", "underdelivery_low_bid", "churn_signal"},
    "tracking_broken": {"spend_without_conversions", "cpa_above_band", "anomaly"},
    # An account whose spend collapsed (or that the client paused) explains the drops it shows today.
    "churn_signal": {"anomaly", "stopped_delivering", "underdelivery_low_bid"},
    "anomaly": {"anomaly"},
}
# On one campaign, a finding about its conversions explains an anomaly that is only its conversions falling.
CAMPAIGN_HOSTS = ("spend_without_conversions", "cpa_above_band")
CONVERSION_DROPS = {("conversions", "drop"), ("cvr", "drop")}


def _moves(evidence: Any) -> set[tuple[str, str]]:
    metrics = evidence.get("metrics") if isinstance(evidence, dict) else None
    return {(str(m.get("metric")), str(m.get("direction"))) for m in metrics or [] if isinstance(m, dict)}


def _explains(cause: str, cause_evidence: Any, detector: str, evidence: Any) -> bool:
    """Whether the account-level `cause` explains a finding of `detector` with `evidence` on the same account."""
    if detector not in EXPLAINED_BY[cause]:
        return False
    if detector == "churn_signal":  # a collapse in spend, not the client's pause
        return not (isinstance(evidence, dict) and evidence.get("paused_by_client_day"))
    if detector == "anomaly" and cause == "tracking_broken":
        moves = _moves(evidence)
        return bool(moves) and moves <= {("conversions", "drop")}
    if detector == "anomaly" and cause == "churn_signal":
        moves = _moves(evidence)
        return bool(moves) and all(direction == "drop" for _, direction in moves)
    if detector == "anomaly" and cause == "anomaly":
        moves = _moves(evidence)
        return bool(moves) and moves <= _moves(cause_evidence)
    return True


def fold_root_causes(found: pd.DataFrame) -> pd.DataFrame:
    """Fold the findings an account-level cause explains into that cause: one finding per cause.

    The cause's evidence gets `folded: {count, campaigns, detectors}` (count: campaigns touched) and its
    recommendation says how many campaigns it touches; its severity is the worst of what it absorbed."""
    if found.empty:
        return found
    found = _fold_campaign_conversion_drops(found.reset_index(drop=True))  # labels are positions below
    is_cause = (found["subject"] == "account").to_numpy() & found["detector"].isin(CAUSE_ORDER).to_numpy()
    if not is_cause.any():
        return found
    accounts = found["account_id"].to_numpy()
    touched = np.isin(accounts, accounts[is_cause])
    drop: list[int] = []
    rank = {d: i for i, d in enumerate(CAUSE_ORDER)}
    for _account, group in found[touched].groupby("account_id", sort=False):
        causes = sorted((i for i in group.index if is_cause[i]), key=lambda i: rank[found.at[i, "detector"]])
        taken: set[int] = set()
        for c in causes:
            if c in taken:
                continue
            cause, cause_ev = found.at[c, "detector"], found.at[c, "evidence"]
            folded = [i for i in group.index if i != c and i not in taken
                      and _explains(cause, cause_ev, found.at[i, "detector"], found.at[i, "evidence"])]
            if not folded:
                continue
            taken.update(folded)
            touched_ids = {int(v) for v in found.loc[folded, "campaign_id"].dropna()}
            for i in folded:  # a folded account-level cause brings its own campaigns along
                inner = found.at[i, "evidence"].get("folded") if isinstance(found.at[i, "evidence"], dict) else None
                touched_ids.update(inner.get("campaigns", []) if inner else [])
            ids = sorted(touched_ids)
            detectors = found.loc[folded, "detector"].value_counts().sort_index()
            evidence = dict(cause_ev) if isinstance(cause_ev, dict) else {}
            evidence["folded"] = {"count": len(ids), "campaigns": ids[:20],
                                  "detectors": {str(k): int(v) for k, v in detectors.items()}}
            found.at[c, "evidence"] = evidence
            listed = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in detectors.items())
            touches = f" It touches {_plural(len(ids), 'campaign', 'campaigns')} of this account:" if ids else ""
            found.at[c, "recommendation"] = (
                f"{found.at[c, 'recommendation']}{touches} {_plural(len(folded), 'finding', 'findings')} folded"
                f" into this one ({listed}).")
            found.at[c, "severity"] = most_severe([found.at[c, "severity"], *found.loc[folded, "severity"]])
            drop.extend(folded)
    return found.drop(index=drop).reset_index(drop=True) if drop else found


def _fold_campaign_conversion_drops(found: pd.DataFrame) -> pd.DataFrame:
    """A campaign's anomaly that is only its conversions falling joins that campaign's conversion finding."""
    on_campaign = found["campaign_id"].notna().to_numpy()
    anomalies = found.index[(found["detector"] == "anomaly").to_numpy() & on_campaign]
    hosts = found[found["detector"].isin(CAMPAIGN_HOSTS).to_numpy() & on_campaign]
    if not len(anomalies) or hosts.empty:
        return found
    host_of = {int(c): i for i, c in zip(hosts.index, hosts["campaign_id"], strict=True)}
    # Only the anomalies of campaigns that have a host reach the loop.
    anomaly_campaigns = found.loc[anomalies, "campaign_id"].to_numpy(dtype=np.int64)
    anomalies = anomalies[np.isin(anomaly_campaigns, hosts["campaign_id"].to_numpy(dtype=np.int64))]
    drop = []
    for i in anomalies:
        host = host_of[int(found.at[i, "campaign_id"])]
        moves = _moves(found.at[i, "evidence"])
        if not moves or not moves <= CONVERSION_DROPS:
            continue
        evidence = dict(found.at[host, "evidence"])
        evidence["joined"] = {"anomaly": found.at[i, "evidence"]}  # the campaign's own finding, not a cause's
        found.at[host, "evidence"] = evidence
        found.at[host, "recommendation"] = (f"{found.at[host, 'recommendation']} Against its usual day:"
                                            f" {found.at[i, 'recommendation']}")
        found.at[host, "severity"] = most_severe([found.at[host, "severity"], found.at[i, "severity"]])
        drop.append(i)
    return found.drop(index=drop).reset_index(drop=True) if drop else found
