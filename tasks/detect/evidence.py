"""A detector's output: the findings frame (FINDINGS_COLUMNS), its evidence records and the numbers in its words."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tasks.detect.window import SweepWindow, _text

# Output: one row per finding; (client_id, account_id, subject, detector, day) is unique.
FINDINGS_COLUMNS = [
    "client_id",  # int64
    "account_id",  # int64
    "campaign_id",  # Int64, <NA> for account-level findings
    "subject",  # "account" or "campaign:<id>"
    "detector",
    "day",  # datetime.date, the sweep day D
    "severity",  # "info" | "warning" | "critical"
    "evidence",  # dict of JSON-safe numbers, strings, lists
    "recommendation",  # plain English with the numbers in
]



def _num(value: Any, digits: int = 2) -> float | int | None:
    """A plain, rounded JSON number; None for NaN or infinity."""
    if value is None:
        return None
    number = float(value)
    if not np.isfinite(number):
        return None
    if digits == 0:
        return round(number)
    return round(number, digits)


def _money(value: Any, currency: str) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:,.2f} {currency}".rstrip()


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _iso(day: pd.Timestamp, offset: int) -> str:
    iso: str = (day - pd.Timedelta(days=int(offset))).date().isoformat()
    return iso


def _empty() -> pd.DataFrame:
    return pd.DataFrame({
        "client_id": pd.Series(dtype="int64"), "account_id": pd.Series(dtype="int64"),
        "campaign_id": pd.Series(dtype="Int64"), "subject": pd.Series(dtype="object"),
        "detector": pd.Series(dtype="object"), "day": pd.Series(dtype="object"),
        "severity": pd.Series(dtype="object"), "evidence": pd.Series(dtype="object"),
        "recommendation": pd.Series(dtype="object"),
    })


def _findings(w: SweepWindow, detector: str, severity: list[str], evidence: list[dict[str, Any]],
              recommendation: list[str], campaigns: np.ndarray | None = None,
              accounts: np.ndarray | None = None) -> pd.DataFrame:
    """Findings on campaign positions (subject "campaign:<id>") or on account positions (subject "account")."""
    if not severity:
        return _empty()
    if campaigns is not None:
        rows = w.campaigns.iloc[campaigns]
        campaign_id = pd.array(rows["campaign_id"].to_numpy(), dtype="Int64")
        subject = ("campaign:" + rows["campaign_id"].astype(str)).to_numpy()
        account_id = rows["account_id"].to_numpy()
        client_id = rows["client_id"].to_numpy()
    else:
        rows = w.accounts.iloc[accounts]
        campaign_id = pd.array([pd.NA] * len(rows), dtype="Int64")
        subject = np.full(len(rows), "account", dtype=object)
        account_id = rows["account_id"].to_numpy()
        client_id = rows["client_id"].to_numpy()
    return pd.DataFrame({
        "client_id": client_id.astype(np.int64), "account_id": account_id.astype(np.int64),
        "campaign_id": campaign_id, "subject": subject, "detector": detector,
        "day": w.day.date(), "severity": severity, "evidence": evidence, "recommendation": recommendation,
    })


def _currency(w: SweepWindow, campaigns: np.ndarray | None = None, accounts: np.ndarray | None = None) -> list[str]:
    if campaigns is not None:
        accounts = w.campaigns["account_pos"].to_numpy()[campaigns]
    return [_text(v) or "" for v in w.accounts["currency"].to_numpy()[accounts]]


def _records(**columns: Any) -> list[dict[str, Any]]:
    """Evidence dicts from equal-length columns: NaN becomes None, numbers plain Python ones."""
    frame = pd.DataFrame(columns)
    records: list[dict[str, Any]] = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return records


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"
