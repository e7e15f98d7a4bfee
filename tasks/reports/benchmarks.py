"""Anonymised benchmarks: a client's KPIs placed among the agency's other clients by percentile, never by name."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tasks.metrics import METRIC_COLUMNS, add_ratios
from tasks.reports.kpis import KIND_OF, LOWER_IS_BETTER

BENCHMARK_KPIS = ("cpa", "cvr", "ctr", "cpc", "roas")
# Money per result only compares within one currency; rates compare anywhere.
IN_MONEY = frozenset({"cpa", "cpc"})
# Fewer peers than this and percentiles would all but name them: widen the scope, or show none.
MIN_PEERS = 5
# A shown statistic this close (relatively, about display precision) to one peer's figure would disclose it: withheld.
DISCLOSURE_TOLERANCE = 1e-4
QUARTILES = (0.25, 0.5, 0.75)


def client_kpis(metrics: pd.DataFrame, clients: pd.DataFrame) -> pd.DataFrame:
    """One row per client with spend in the frame: sums, ratios, industry and market."""
    sums = metrics.groupby("client_id")[METRIC_COLUMNS].sum()
    sums = add_ratios(sums[sums["spend"] > 0]).reset_index()
    return sums.merge(clients[["client_id", "industry", "market", "currency"]], on="client_id", how="inner")


def _peers(table: pd.DataFrame, client_id: int, industry: str, market: str) -> tuple[str, pd.DataFrame]:
    others = table[table["client_id"] != client_id]
    same_market = others[(others["industry"] == industry) & (others["market"] == market)]
    if len(same_market) >= MIN_PEERS:
        return "industry_market", same_market
    same_industry = others[others["industry"] == industry]
    if len(same_industry) >= MIN_PEERS:
        return "industry", same_industry
    return "none", others.iloc[0:0]


def peer_statistic(values: np.ndarray, q: float) -> float:
    """The q-quantile as the mean of the two neighbouring peers around it, never one peer's own figure."""
    ordered = np.sort(values)
    low = min(int(np.floor(q * (len(ordered) - 1))), len(ordered) - 2)
    return float((ordered[low] + ordered[low + 1]) / 2)


def discloses(statistic: float, values: np.ndarray) -> bool:
    """Whether a statistic equals (to display precision) the figure of a single peer."""
    return bool(np.any(np.abs(values - statistic) <= DISCLOSURE_TOLERANCE * np.maximum(np.abs(values), 1e-12)))


def benchmark(table: pd.DataFrame, client_id: int, industry: str, market: str) -> dict[str, Any]:
    """Where the client stands among at least MIN_PEERS peers per KPI: percentile (100 = best), quartiles, peer count.

    Quartiles are means of neighbouring peers; a KPI whose statistic would still equal one peer's figure is left out.
    """
    scope, peers = _peers(table, client_id, industry, market)
    own = table[table["client_id"] == client_id]
    rows = []
    if scope != "none" and not own.empty:
        for kpi in BENCHMARK_KPIS:
            value = own.iloc[0][kpi]
            pool = peers[peers["currency"] == own.iloc[0]["currency"]] if kpi in IN_MONEY else peers
            values = pool[kpi].dropna().to_numpy(dtype=float)
            if np.isnan(value) or len(values) < MIN_PEERS:
                continue
            q25, q50, q75 = (peer_statistic(values, q) for q in QUARTILES)
            if any(discloses(stat, values) for stat in (q25, q50, q75)):
                continue
            better = (values > value).sum() if kpi in LOWER_IS_BETTER else (values < value).sum()
            ties = (values == value).sum()
            rows.append({"key": kpi, "kind": KIND_OF[kpi], "value": float(value),
                         "percentile": round(100 * (better + ties / 2) / len(values)), "p25": q25, "median": q50,
                         "p75": q75, "peers": len(values), "lower_is_better": kpi in LOWER_IS_BETTER})
    return {"scope": scope, "peers": len(peers), "rows": rows, "min_peers": MIN_PEERS}
