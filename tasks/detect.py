"""The daily sweep's detectors: pure functions over whole DataFrames, vectorised over every campaign at once."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tasks.rules import WINDOW_DAYS, most_severe

# Input frames. Ids are integers; money is in the account's currency; days are account-local dates.
METRICS_COLUMNS = [
    "campaign_id",
    "account_id",
    "client_id",
    "day",  # datetime64 (or date); rows outside D-55..D are ignored, absent days inside a campaign's life are 0
    "impressions",
    "clicks",
    "spend",
    "conversions",
    "conversion_value",  # optional
]
CAMPAIGNS_COLUMNS = [
    "campaign_id",
    "account_id",
    "client_id",
    "status",  # "active" | "paused" | "removed"
    "daily_budget",  # float, NaN when the platform has none
    "bid",  # float, NaN when the bid strategy sets none
    "geo_targeting_count",  # int, 0 means no geo targeting (runs nationwide / worldwide)
    "has_conversion_goal",  # bool
    "created_on",  # date
    "edited_at_day",  # date or NaT; optional
    "initiative",  # optional
]
ACCOUNTS_COLUMNS = [
    "account_id",
    "client_id",
    "status",  # "active" | "paused" | "removed"
    "paused_by_client_day",  # date or NaT
    "currency",  # optional, used in the wording only
    "sync_problem",  # optional: why the platform pull got nothing (e.g. "reconnect: ..."), None when it did
]
CLIENTS_COLUMNS = [
    "client_id",
    "cpa_min",  # NaN when the client has no KPI band
    "cpa_max",  # NaN when the client has no KPI band
    "monthly_budget",  # NaN when there is no monthly commitment
    "settings",  # dict (or JSON text) of DEFAULT_THRESHOLDS keys overriding the defaults; optional
]
# Optional: the days a client's market or the client itself expects a peak (a key date and the days around it).
PEAKS_COLUMNS = [
    "client_id",
    "day",  # date; rows outside D-55..D are ignored
    "name",  # the key date's title, e.g. "Black Friday"
    "expected_uplift",  # last year's uplift for the same day of the event (0.7 is +70 %), NaN without history
]
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

METRICS = ("impressions", "clicks", "spend", "conversions")

DEFAULT_THRESHOLDS: dict[str, float] = {
    "swc_cpa_multiple": 1.0,  # fire when spend on D >= this x target CPA with no conversion
    "swc_critical_multiple": 2.0,  # critical when spend on D >= this x target CPA
    "swc_history_days": 28,  # it must have converted within these days before D
    "swc_pause_cpa_multiple": 1.5,  # "far beyond the band": 2-day CPA >= this x cpa_max
    "swc_pause_share": 0.30,  # "large share": this fraction of the account's spend on D
    "cpa_window_days": 7,
    "cpa_tolerance": 0.10,
    "cpa_min_conversions": 3,
    "cpa_critical_multiple": 2.0,
    "underdelivery_share": 0.30,
    "underdelivery_days": 5,
    "launch_guard_days": 3,
    "pacing_grace_days": 3,
    "pacing_over": 1.15,
    "pacing_over_critical": 1.30,
    "pacing_under": 0.75,
    "anomaly_weeks": 4,
    "anomaly_min_weeks": 3,
    "anomaly_spike": 2.5,
    "anomaly_drop": 0.3,
    "anomaly_min_z": 3.0,  # |today - baseline| in Poisson standard deviations, so small counts do not fire on noise
    "anomaly_min_impressions": 500,
    "anomaly_min_clicks": 20,
    "anomaly_min_spend": 10.0,
    "anomaly_min_conversions": 5,
    "tracking_days": 2,
    "tracking_clicks_ratio": 0.5,
    "tracking_baseline_days": 28,
    "tracking_min_daily_conversions": 2.0,
    "churn_days": 3,
    "churn_ratio": 0.10,
    "churn_baseline_days": 28,
    "churn_min_daily_spend": 20.0,
    # issue 13: causes
    "freshness_recent_days": 7,  # the account reported on some of these days before its data stopped arriving
    "freshness_min_days": 1,  # ... on at least this many of them
    "freshness_critical_days": 2,  # critical once no data has arrived for this many days
    "stop_recent_days": 7,  # a campaign delivered on most of these days before it went quiet
    "stop_min_days": 5,  # ... on at least this many of them
    "stop_account_min_campaigns": 2,  # every delivering campaign of an account stopped at once: one account finding
    "material_share": 0.10,  # critical only when the money at risk is this share of the client's usual daily spend
    "material_floor": float("nan"),  # ... and at least this much in the account's currency (NaN: MATERIAL_FLOORS)
    "material_days": 28,  # the usual daily spend is the mean over the days the client spent in these days before D
    # issue 13: baselines
    "anomaly_rate_drop": 0.5,  # CTR or CVR at or below this x its usual: a ratio metric fell ...
    "anomaly_rate_volume_rise": 1.5,  # ... while its volume (impressions, clicks) rose at least this x
    "anomaly_account_max_share": 0.8,  # an account-wide move: no one campaign makes more of its change than this
    "anomaly_peak_band": 1.5,  # on a key date, up to this x the expected peak (last year's) is "as expected"
    "anomaly_peak_spike_multiple": 3.0,  # no history for the key date: the spike threshold is widened this much
    "anomaly_peak_miss": 0.5,  # on a key date with a known peak, spend below this x the expected level missed it
    "baseline_min_days": 7,  # churn and tracking baselines need at least this many days the account existed
    "pacing_max_multiple": 2.0,  # advice to raise (or cut) spend stays within this x (or 1/x) the current pace
}
# The absolute floor under which no problem is a crisis, in the account's currency (unknown currencies: DEFAULT).
MATERIAL_FLOORS: dict[str, float] = {
    "USD": 100.0, "EUR": 100.0, "GBP": 100.0, "CHF": 100.0, "CAD": 150.0, "AUD": 150.0, "NZD": 150.0,
    "SGD": 150.0, "CNY": 700.0, "HKD": 800.0, "JPY": 15_000.0, "KRW": 130_000.0, "INR": 8_000.0,
    "RUB": 10_000.0, "BRL": 500.0, "MXN": 2_000.0, "TRY": 3_000.0, "PLN": 400.0, "SEK": 1_000.0,
    "NOK": 1_000.0, "DKK": 700.0, "AED": 400.0, "KZT": 50_000.0, "UAH": 4_000.0, "BYN": 300.0,
    "UZS": 1_200_000.0, "IDR": 1_500_000.0, "THB": 3_500.0, "VND": 2_500_000.0, "ZAR": 2_000.0, "TWD": 3_000.0,
    "DEFAULT": 100.0,
}


@dataclass(eq=False)
class SweepWindow:
    """The sweep's inputs indexed once: campaign x day and account x day matrices plus per-entity arrays."""

    day: pd.Timestamp
    campaigns: pd.DataFrame  # one row per campaign (settings rows and metric-only ones), grouped by account
    accounts: pd.DataFrame  # one row per account, grouped by client
    clients: pd.DataFrame  # one row per client
    thresholds: pd.DataFrame  # one row per client (same order), one column per DEFAULT_THRESHOLDS key
    cube: dict[str, np.ndarray]  # metric -> (campaigns, WINDOW_DAYS); column k is day D - k
    account_cube: dict[str, np.ndarray]  # metric -> (accounts, WINDOW_DAYS)
    bad_rows: pd.DataFrame  # metric rows with impossible values: campaign (position), offset, kind
    # metric -> (campaigns | accounts, WINDOW_DAYS): a row of that day left the metric blank (missing, not zero)
    missing: dict[str, np.ndarray]
    account_missing: dict[str, np.ndarray]
    # (campaigns | accounts, WINDOW_DAYS) bool: a metric row arrived for that day, even an all-zero one
    has_rows: np.ndarray
    account_has_rows: np.ndarray
    # (campaigns | accounts, WINDOW_DAYS) bool: it delivered that day (an impression, a click or spend)
    volume: np.ndarray
    account_volume: np.ndarray
    # (clients, WINDOW_DAYS): the client expects a peak that day; clients["peak_name"/"peak_uplift"] describe D's
    peak_days: np.ndarray

    def known(self, metrics: tuple[str, ...], start: np.ndarray | int, length: np.ndarray | int,
              level: str = "campaign") -> np.ndarray:
        """Rows whose `metrics` are known on every day of the window: a missing value is no evidence."""
        source = self.missing if level == "campaign" else self.account_missing
        gaps = np.logical_or.reduce([source[m] for m in metrics])
        if not gaps.any():
            return np.ones(gaps.shape[0], dtype=bool)
        return _window(gaps.astype(np.float64), start, length) == 0

    def client_values(self, column: str, level: str = "campaign") -> np.ndarray:
        """A client column (or threshold) aligned to campaigns, accounts or clients."""
        source = self.thresholds if column in DEFAULT_THRESHOLDS else self.clients
        values = source[column].to_numpy(dtype="float64")
        if level == "client":
            return values
        frame = self.campaigns if level == "campaign" else self.accounts
        return values[frame["client_pos"].to_numpy()]

    def ints(self, key: str, low: int, high: int, level: str = "campaign") -> np.ndarray:
        """An integer threshold per row, clipped to what the window can answer."""
        return np.clip(np.rint(self.client_values(key, level)), low, high).astype(np.int64)


def _conform(frame: pd.DataFrame | None, columns: list[str], optional: tuple[str, ...] = ()) -> pd.DataFrame:
    if frame is None:
        frame = pd.DataFrame()
    missing = [c for c in columns if c not in frame.columns]
    if missing and len(frame):
        required = [c for c in missing if c not in optional]
        if required:
            raise ValueError(f"frame lacks required columns {required}")
    if missing:
        frame = frame.assign(**{c: pd.Series(np.nan, index=frame.index, dtype="object") for c in missing})
    return frame


def _as_day(day: Any) -> pd.Timestamp:
    ts = pd.Timestamp(day)
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def _epoch_days(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970-01-01 as int64, and which entries are real dates."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_localize(None)
    elif not pd.api.types.is_datetime64_dtype(series.dtype):
        series = pd.to_datetime(series, errors="coerce")
    values = series.to_numpy()
    valid = ~np.isnat(values)
    return values.astype("datetime64[D]").view("int64"), valid


def _offsets(series: pd.Series, day_number: int) -> np.ndarray:
    """Days before D as float (negative after D), NaN where there is no date."""
    days, valid = _epoch_days(series)
    return np.where(valid, day_number - days, np.nan)


def _ids(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    values = pd.to_numeric(series, errors="coerce").to_numpy()
    if values.dtype.kind == "f":
        valid = np.isfinite(values)
        return np.where(valid, values, -1).astype(np.int64), valid
    return values.astype(np.int64, copy=False), np.ones(len(values), dtype=bool)


def _positions(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each value among `keys` (unique ints), -1 when absent."""
    if len(keys) == 0 or len(values) == 0:
        return np.full(len(values), -1, dtype=np.int64)
    low, high = int(keys.min()), int(keys.max())
    if high - low < 50_000_000:
        # A lookup table beats hashing for the dense serial ids a database hands out.
        table = np.full(high - low + 1, -1, dtype=np.int64)
        table[keys - low] = np.arange(len(keys))
        inside = (values >= low) & (values <= high)
        return np.where(inside, table[np.clip(values - low, 0, high - low)], -1)
    return pd.Index(keys).get_indexer(values)


def _settings(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def client_thresholds(clients: pd.DataFrame) -> pd.DataFrame:
    """DEFAULT_THRESHOLDS with each client's `settings` merged over them: one row per client row, in order."""
    n = len(clients)
    table = {key: np.full(n, float(value)) for key, value in DEFAULT_THRESHOLDS.items()}
    if n and "settings" in clients.columns:
        parsed = [_settings(v) for v in clients["settings"].tolist()]
        rows = [i for i, p in enumerate(parsed) if p]
        if rows:
            overrides = pd.DataFrame.from_records([parsed[i] for i in rows])
            for key in overrides.columns.intersection(list(DEFAULT_THRESHOLDS)):
                values = pd.to_numeric(overrides[key], errors="coerce").to_numpy(dtype="float64")
                ok = np.isfinite(values)
                table[key][np.asarray(rows)[ok]] = values[ok]
    return pd.DataFrame(table, index=clients.index)


def _group_sum(matrix: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Row sums per group, for rows already sorted by group."""
    out = np.zeros((n_groups, matrix.shape[1]))
    if len(groups):
        starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
        out[groups[starts]] = np.add.reduceat(matrix, starts, axis=0)
    return out


def _first_row(has_rows: np.ndarray) -> np.ndarray:
    """Each row's earliest day with a metric row, as days before D; -1 for rows with none."""
    return np.where(has_rows.any(axis=1), WINDOW_DAYS - 1 - np.argmax(has_rows[:, ::-1], axis=1), -1)


def _campaign_table(campaigns: pd.DataFrame, day_number: int) -> pd.DataFrame:
    known = pd.to_numeric(campaigns["campaign_id"], errors="coerce").notna() \
        & pd.to_numeric(campaigns["account_id"], errors="coerce").notna()
    camp = campaigns[known].drop_duplicates("campaign_id", keep="last").reset_index(drop=True)
    return pd.DataFrame({
        "campaign_id": _ids(camp["campaign_id"])[0],
        "account_id": _ids(camp["account_id"])[0],
        "client_id": pd.to_numeric(camp["client_id"], errors="coerce").to_numpy(dtype="float64"),
        "in_settings": True,
        **{c: camp[c].to_numpy() for c in ("status", "daily_budget", "bid", "geo_targeting_count",
                                            "has_conversion_goal", "initiative")},
        "created_off": _offsets(camp["created_on"], day_number),
        "edited_off": _offsets(camp["edited_at_day"], day_number),
    })


def _add_metric_only_campaigns(universe: pd.DataFrame, metrics: pd.DataFrame, row_ids: np.ndarray,
                               code: np.ndarray, in_window: np.ndarray) -> pd.DataFrame:
    """Append campaigns that have metric rows but no settings row, pointing their rows (in `code`) at them."""
    orphan_rows = in_window & (code < 0)
    if not orphan_rows.any():
        return universe
    orphans = metrics.loc[orphan_rows, ["campaign_id", "account_id", "client_id"]].drop_duplicates("campaign_id")
    orphans = orphans[pd.to_numeric(orphans["account_id"], errors="coerce").notna()]
    orphan_ids, _ = _ids(orphans["campaign_id"])
    sub = _positions(orphan_ids, row_ids[orphan_rows])
    code[orphan_rows] = np.where(sub >= 0, sub + len(universe), -1)
    extra = pd.DataFrame({
        "campaign_id": orphan_ids,
        "account_id": _ids(orphans["account_id"])[0],
        "client_id": pd.to_numeric(orphans["client_id"], errors="coerce").to_numpy(dtype="float64"),
        "in_settings": False,
    }).reindex(columns=universe.columns)
    universe = pd.concat([universe, extra], ignore_index=True) if len(universe) else extra
    return universe.assign(in_settings=universe["in_settings"].astype(bool))


def _account_table(accounts: pd.DataFrame, universe: pd.DataFrame, day_number: int) -> pd.DataFrame:
    """Listed accounts plus the ones only campaigns mention, sorted by client then account."""
    acc = accounts[pd.to_numeric(accounts["account_id"], errors="coerce").notna()]
    acc = acc.drop_duplicates("account_id", keep="last")
    acc = pd.DataFrame({
        "account_id": _ids(acc["account_id"])[0],
        "client_id": pd.to_numeric(acc["client_id"], errors="coerce").to_numpy(dtype="float64"),
        "status": acc["status"].to_numpy(dtype=object),
        "paused_off": _offsets(acc["paused_by_client_day"], day_number),
        "currency": acc["currency"].to_numpy(dtype=object),
        "sync_problem": acc["sync_problem"].to_numpy(dtype=object),
        "listed": True,
    })
    extra = universe.loc[~universe["account_id"].isin(acc["account_id"]), ["account_id", "client_id"]]
    extra = extra.drop_duplicates("account_id").assign(status=None, paused_off=np.nan, currency=None,
                                                       sync_problem=None, listed=False)
    acc = pd.concat([acc, extra], ignore_index=True) if len(extra) else acc
    acc = acc[acc["client_id"].notna()]
    acc = acc.assign(client_id=acc["client_id"].astype(np.int64))
    return acc.sort_values(["client_id", "account_id"], kind="stable").reset_index(drop=True)


def _client_table(clients: pd.DataFrame, account_clients: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Clients sorted by id (the accounts' unknown clients added with no band) and their thresholds."""
    cli = clients[pd.to_numeric(clients["client_id"], errors="coerce").notna()]
    cli = cli.drop_duplicates("client_id", keep="last").reset_index(drop=True)
    thresholds = client_thresholds(cli)
    cli = pd.DataFrame({
        "client_id": _ids(cli["client_id"])[0],
        "cpa_min": pd.to_numeric(cli["cpa_min"], errors="coerce").to_numpy(dtype="float64"),
        "cpa_max": pd.to_numeric(cli["cpa_max"], errors="coerce").to_numpy(dtype="float64"),
        "monthly_budget": pd.to_numeric(cli["monthly_budget"], errors="coerce").to_numpy(dtype="float64"),
        "listed": True,
    })
    unknown = np.setdiff1d(account_clients, cli["client_id"].to_numpy())
    if len(unknown):
        cli = pd.concat([cli, pd.DataFrame({"client_id": unknown, "cpa_min": np.nan, "cpa_max": np.nan,
                                            "monthly_budget": np.nan, "listed": False})], ignore_index=True)
        defaults = pd.DataFrame({k: np.full(len(unknown), float(v)) for k, v in DEFAULT_THRESHOLDS.items()})
        thresholds = pd.concat([thresholds, defaults], ignore_index=True)
    order = np.argsort(cli["client_id"].to_numpy(), kind="stable")
    return cli.iloc[order].reset_index(drop=True), thresholds.iloc[order].reset_index(drop=True)


def _bad_rows(metrics: pd.DataFrame, code: np.ndarray, offsets: np.ndarray, counted: np.ndarray,
              rows: np.ndarray) -> pd.DataFrame:
    """Metric rows with negative, blank or impossible values, and (campaign, day) pairs given twice."""
    raw = {m: pd.to_numeric(metrics[m], errors="coerce").to_numpy(dtype="float64")
           for m in (*METRICS, "conversion_value")}
    negative = np.logical_or.reduce([raw[m] < 0 for m in raw])
    blank = np.logical_or.reduce([np.isnan(raw[m]) for m in METRICS])
    clicks_over = (raw["impressions"] > 0) & (raw["clicks"] > raw["impressions"])
    bad = counted & (negative | blank | clicks_over)
    dup_pos, dup_off = np.nonzero(rows > 1)
    no_dup = np.zeros(len(dup_pos), bool)
    return pd.DataFrame({
        **{f"blank_{m}": np.r_[np.isnan(raw[m])[bad], no_dup] for m in METRICS},
        "spent": np.r_[(raw["spend"] > 0)[bad], no_dup],
        "campaign_pos": np.r_[code[bad], dup_pos], "offset": np.r_[offsets[bad], dup_off],
        "negative": np.r_[negative[bad], np.zeros(len(dup_pos), bool)],
        "blank": np.r_[blank[bad], np.zeros(len(dup_pos), bool)],
        "clicks_over_impressions": np.r_[clicks_over[bad], np.zeros(len(dup_pos), bool)],
        "duplicate": np.r_[np.zeros(bad.sum(), bool), np.ones(len(dup_pos), bool)],
    })


def _peak_table(peaks: pd.DataFrame | None, cli: pd.DataFrame, day_number: int) -> np.ndarray:
    """The clients' peak days as a (clients, WINDOW_DAYS) matrix; D's event named on `cli` (peak_name, peak_uplift).

    Where two events cover D, the one with the larger known uplift names it (a known one before an unknown one).
    """
    cli["peak_name"] = None
    cli["peak_uplift"] = np.nan
    matrix = np.zeros((len(cli), WINDOW_DAYS), dtype=bool)
    peaks = _conform(peaks, PEAKS_COLUMNS, optional=("name", "expected_uplift"))
    if not len(peaks) or not len(cli):
        return matrix
    ids, ok = _ids(peaks["client_id"])
    offsets = _offsets(peaks["day"], day_number)
    pos = np.where(ok, _positions(cli["client_id"].to_numpy(), ids), -1)
    inside = (pos >= 0) & (offsets >= 0) & (offsets < WINDOW_DAYS)
    matrix[pos[inside], offsets[inside].astype(np.int64)] = True
    today = peaks[inside & (offsets == 0)].assign(
        pos=pos[inside & (offsets == 0)],
        uplift=pd.to_numeric(peaks["expected_uplift"], errors="coerce")[inside & (offsets == 0)])
    if len(today):
        best = today.sort_values(["pos", "uplift"], ascending=[True, False], na_position="last",
                                 kind="stable").drop_duplicates("pos")
        cli.loc[best["pos"].to_numpy(), "peak_name"] = [_text(v) or "key date" for v in best["name"].tolist()]
        cli.loc[best["pos"].to_numpy(), "peak_uplift"] = best["uplift"].to_numpy(dtype="float64")
    return matrix


def prepare_window(metrics: pd.DataFrame | None, campaigns: pd.DataFrame | None, accounts: pd.DataFrame | None,
                   clients: pd.DataFrame | None, day: dt.date | pd.Timestamp | str,
                   peaks: pd.DataFrame | None = None) -> SweepWindow:
    """Index the four frames (and the optional peaks, PEAKS_COLUMNS) once for sweep day `day` (D)."""
    day_ts = _as_day(day)
    day_number = int(np.datetime64(day_ts.date(), "D").astype(np.int64))
    metrics = _conform(metrics, METRICS_COLUMNS, optional=("conversion_value", "client_id"))
    campaigns = _conform(campaigns, CAMPAIGNS_COLUMNS, optional=("edited_at_day", "initiative", "client_id"))
    accounts = _conform(accounts, ACCOUNTS_COLUMNS, optional=("currency", "paused_by_client_day", "sync_problem"))
    clients = _conform(clients, CLIENTS_COLUMNS, optional=("settings", "monthly_budget", "cpa_min"))

    universe = _campaign_table(campaigns, day_number)
    row_ids, row_ok = _ids(metrics["campaign_id"])
    row_days, day_ok = _epoch_days(metrics["day"])
    offsets = day_number - row_days
    in_window = row_ok & day_ok & (offsets >= 0) & (offsets < WINDOW_DAYS)
    code = _positions(universe["campaign_id"].to_numpy(), row_ids)
    universe = _add_metric_only_campaigns(universe, metrics, row_ids, code, in_window)
    acc = _account_table(accounts, universe, day_number)
    cli, thresholds = _client_table(clients, acc["client_id"].to_numpy())
    acc["client_pos"] = _positions(cli["client_id"].to_numpy(), acc["client_id"].to_numpy())

    # The account decides the client, so every finding's client and account agree.
    universe["account_pos"] = _positions(acc["account_id"].to_numpy(), universe["account_id"].to_numpy())
    new_position = np.full(len(universe) + 1, -1, dtype=np.int64)
    universe = universe[universe["account_pos"] >= 0]
    order = np.lexsort((universe["campaign_id"].to_numpy(), universe["account_pos"].to_numpy()))
    new_position[universe.index.to_numpy()[order]] = np.arange(len(order))
    code = new_position[code]  # -1 indexes the trailing -1, so unknown rows stay unknown
    universe = universe.iloc[order].reset_index(drop=True)
    account_pos = universe["account_pos"].to_numpy()
    universe["client_pos"] = acc["client_pos"].to_numpy()[account_pos]
    universe["client_id"] = acc["client_id"].to_numpy()[account_pos]

    n = len(universe)
    counted = in_window & (code >= 0)
    flat = np.where(counted, code * WINDOW_DAYS + offsets, n * WINDOW_DAYS)
    size = n * WINDOW_DAYS + 1
    rows = np.bincount(flat, minlength=size)[:-1].reshape(n, WINDOW_DAYS)
    cube, missing = {}, {}
    for metric in METRICS:
        values = pd.to_numeric(metrics[metric], errors="coerce").to_numpy(dtype="float64")
        # Negative values are reported by data_quality and count as zero elsewhere; blanks are missing, not zero.
        cube[metric] = np.bincount(flat, weights=np.where(values > 0, values, 0.0),
                                   minlength=size)[:-1].reshape(n, WINDOW_DAYS)
        blank = np.isnan(values)
        missing[metric] = (np.bincount(flat, weights=blank, minlength=size)[:-1].reshape(n, WINDOW_DAYS) > 0
                           if blank.any() else np.zeros((n, WINDOW_DAYS), dtype=bool))

    has_rows = rows > 0
    account_has_rows = _group_sum(has_rows.astype(np.float64), account_pos, len(acc)) > 0
    first_row = _first_row(has_rows)
    created = universe["created_off"].to_numpy()
    # A campaign exists from its creation day, or from its first metric row when that is earlier or unknown.
    universe["life"] = np.fmax(np.where(np.isnan(created), -1, created), first_row).astype(np.int64)
    universe["row_count"] = has_rows.sum(axis=1)
    acc["row_count"] = np.bincount(account_pos, weights=universe["row_count"].to_numpy(),
                                   minlength=len(acc)).astype(np.int64)
    # An account's data begins with its first metric row: days before it are unknown, not days without spend.
    acc["life"] = _first_row(account_has_rows)
    peak_days = _peak_table(peaks, cli, day_number)
    account_cube = {m: _group_sum(cube[m], account_pos, len(acc)) for m in METRICS}
    return SweepWindow(day=day_ts, campaigns=universe, accounts=acc, clients=cli, thresholds=thresholds,
                       cube=cube, account_cube=account_cube,
                       bad_rows=_bad_rows(metrics, code, offsets, counted, rows), missing=missing,
                       account_missing={m: _group_sum(missing[m].astype(np.float64), account_pos, len(acc)) > 0
                                        if missing[m].any() else np.zeros((len(acc), WINDOW_DAYS), dtype=bool)
                                        for m in METRICS},
                       has_rows=has_rows,
                       account_has_rows=account_has_rows,
                       volume=_delivered(cube), account_volume=_delivered(account_cube), peak_days=peak_days)


def _delivered(cube: dict[str, np.ndarray]) -> np.ndarray:
    """Which (row, day) cells delivered: an impression, a click or spend."""
    return (cube["impressions"] > 0) | (cube["clicks"] > 0) | (cube["spend"] > 0)


def _window(matrix: np.ndarray, start: np.ndarray | int, length: np.ndarray | int, how: str = "sum") -> np.ndarray:
    """Sum, max or min of each row over days D-start .. D-start-length+1 (columns start .. start+length-1)."""
    n = matrix.shape[0]
    start = np.broadcast_to(np.asarray(start, dtype=np.int64), (n,))
    length = np.broadcast_to(np.asarray(length, dtype=np.int64), (n,))
    if n == 0:
        return np.zeros(0)
    if (start == start[0]).all() and (length == length[0]).all():
        block = matrix[:, start[0] : start[0] + length[0]]
        return getattr(block, how)(axis=1)
    end = int((start + length).max())
    columns = np.arange(end)
    inside = (columns >= start[:, None]) & (columns < (start + length)[:, None])
    fill = {"sum": 0.0, "max": -np.inf, "min": np.inf}[how]
    return getattr(np.where(inside, matrix[:, :end], fill), how)(axis=1)


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def _num(value: Any, digits: int = 2) -> float | int | None:
    """A plain, rounded JSON number; None for NaN or infinity."""
    if value is None:
        return None
    value = float(value)
    if not np.isfinite(value):
        return None
    if digits == 0:
        return round(value)
    return round(value, digits)


def _money(value: Any, currency: str) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:,.2f} {currency}".rstrip()


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _iso(day: pd.Timestamp, offset: int) -> str:
    return (day - pd.Timedelta(days=int(offset))).date().isoformat()


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


def _account_stopped(w: SweepWindow) -> np.ndarray:
    """Accounts switched off on purpose: paused or removed."""
    return w.accounts["status"].isin(["paused", "removed"]).to_numpy()


def _stopped(w: SweepWindow) -> np.ndarray:
    """Campaigns switched off on purpose, themselves or through their account."""
    return w.campaigns["status"].isin(["paused", "removed"]).to_numpy() \
        | _account_stopped(w)[w.campaigns["account_pos"].to_numpy()]


def _records(**columns: Any) -> list[dict[str, Any]]:
    """Evidence dicts from equal-length columns: NaN becomes None, numbers plain Python ones."""
    frame = pd.DataFrame(columns)
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


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
        return sorted_values[np.clip(pos, 0, len(sorted_values) - 1)]

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


# Ratio metrics: (numerator, denominator, the numerator's volume floor). Only their falls are alarms.
RATES = {"ctr": ("clicks", "impressions", "anomaly_min_clicks"),
         "cvr": ("conversions", "clicks", "anomaly_min_conversions")}
METRIC_NAMES = {"impressions": "impressions", "clicks": "clicks", "spend": "spend", "conversions": "conversions",
                "ctr": "CTR", "cvr": "conversion rate"}
ANOMALY_ADVICE = {
    "impressions_up_ctr_down": "Impressions rose without the clicks: likely bot or placement traffic, or a reporting"
                               " glitch. Check the placement report, exclude the apps and sites that brought the"
                               " impressions, and check the platform's invalid-click report",
    "spend_up_conversions_flat": "Spend rose without the conversions: check bid changes and automated bidding, broad"
                                 " match and the search terms report, and whether a budget cap was lifted",
    "clicks_up_cvr_down": "Clicks rose but convert worse: check the landing page, the conversion tracking and the"
                          " quality of the new traffic (search terms, placements, audiences)",
    "cvr_drop": "Check the landing page (errors, speed, stock, prices), the checkout and the conversion tracking",
    "ctr_drop": "The ads draw fewer clicks per impression: check disapproved or changed ads, new placements or"
                " audiences, and competitors' activity in the auction",
    "conversions_drop": "The traffic held but did not convert: check the conversion tracking (tag or pixel, goals),"
                        " the landing page and the checkout",
    "drop": "Check ad approvals, budget caps, bids, billing and the landing page",
    "spike": "Check whether a bid or budget change or a lifted cap explains it, and whether the extra volume converts",
    "beyond_peak": "Check that budgets and bids were raised on purpose for it and that the extra spend converts",
    "missed_peak": "It is missing the peak: check budgets and caps, bids, ad approvals and billing so it can take"
                   " the peak's demand",
    "expected_peak": "No action needed; keep budgets ready for the rest of the peak",
}
WARNING_PATTERNS = {"impressions_up_ctr_down", "spend_up_conversions_flat", "clicks_up_cvr_down", "cvr_drop",
                    "conversions_drop", "beyond_peak", "missed_peak"}


def _change(ratio: float, weekday: str) -> str:
    """A move as people say it: 2.5x for rises, a percentage for falls (never "0.0x")."""
    if ratio >= 1:
        return f"jumped to {ratio:.1f}x its usual {weekday}"
    if ratio <= 0:
        return f"fell to zero from its usual {weekday}"
    return f"fell {(1 - ratio) * 100:.0f}% below its usual {weekday}"


def _shown(metric: str, value: float, currency: str) -> str:
    if metric == "spend":
        return _money(value, currency)
    if metric in RATES:
        return f"{value * 100:.2f}%"
    return f"{value:,.0f}"


def _anomalies(w: SweepWindow, level: str) -> pd.DataFrame:
    """Each metric on D against the mean of the same weekday over the previous weeks, campaigns or accounts.

    Baseline weeks are days the subject existed, had volume, no blank metric and no expected peak. On the
    client's peak days the expected level is the usual one times last year's uplift (or, without history, the
    spike threshold is widened): a peak within the band is at most info, beyond it or a drop a warning.
    """
    campaign = level == "campaign"
    cube = w.cube if campaign else w.account_cube
    frame = w.campaigns if campaign else w.accounts
    max_weeks = (WINDOW_DAYS - 1) // 7
    weeks = w.ints("anomaly_weeks", 1, max_weeks, level)
    need = np.minimum(w.ints("anomaly_min_weeks", 1, max_weeks, level), weeks)
    columns = 7 * np.arange(1, max_weeks + 1)
    volume = w.volume if campaign else w.account_volume
    gaps = np.logical_or.reduce([(w.missing if campaign else w.account_missing)[m] for m in METRICS])
    client_pos = frame["client_pos"].to_numpy()
    baseline_peaks = w.peak_days[:, columns][client_pos]  # only the baseline weeks' columns, not all 56
    # Zero-volume days say nothing about the usual level (paused, capped, not yet live), days with a blank metric
    # say nothing at all, days before the subject existed were not days at all, and a peak is not the usual: all out.
    usable = (np.arange(1, max_weeks + 1)[None, :] <= weeks[:, None]) & volume[:, columns] & ~gaps[:, columns] \
        & ~baseline_peaks & (columns[None, :] <= frame["life"].to_numpy()[:, None])
    count = usable.sum(axis=1)
    stopped = _stopped(w) if campaign else _account_stopped(w)
    idx = np.flatnonzero(~stopped & volume[:, 0] & ~gaps[:, 0] & (count >= need))
    if not len(idx):
        return _empty()
    usable, count = usable[idx], count[idx]

    def value(key: str) -> np.ndarray:
        return w.client_values(key, level)[idx]

    spike, drop, min_z = value("anomaly_spike"), value("anomaly_drop"), value("anomaly_min_z")
    peak = w.peak_days[client_pos[idx], 0]
    uplift = np.where(peak, w.clients["peak_uplift"].to_numpy(dtype="float64")[client_pos[idx]], np.nan)
    known = np.isfinite(uplift)
    # The level D is expected at, as a multiple of the usual one; the thresholds then apply to today / expected.
    factor = np.where(known, np.maximum(1 + uplift, 0.1), 1.0)
    spike_at = np.where(known, np.maximum(value("anomaly_peak_band"), spike / factor),
                        np.where(peak, spike * value("anomaly_peak_spike_multiple"), spike))
    drop_at = np.where(known & (factor > 1), value("anomaly_peak_miss"), drop)
    sums = {m: np.where(usable, cube[m][idx][:, columns], 0.0).sum(axis=1) for m in METRICS}
    stats, flagged, usual_hit, deltas, rising, scale = {}, {}, {}, {}, {}, {}
    clicks_base = sums["clicks"] / count
    for metric in METRICS:
        today, baseline = cube[metric][idx, 0], sums[metric] / count
        ratio = _divide(today, baseline)
        expected = baseline * factor
        relative = _divide(today, expected)
        if metric == "spend":
            # Spend is clicks times price, so its noise is the clicks' relative noise.
            z = np.abs(relative - 1) * np.sqrt(np.maximum(clicks_base * factor, 1))
            z_usual = np.abs(ratio - 1) * np.sqrt(np.maximum(clicks_base, 1))
        else:
            z = _divide(np.abs(today - expected), np.sqrt(expected))
            z_usual = _divide(np.abs(today - baseline), np.sqrt(baseline))
        enough = baseline >= value(f"anomaly_min_{metric}")
        stats[metric] = (today, baseline, ratio)
        rising[metric] = enough & (z >= min_z) & (relative >= spike_at)
        # A known peak is missed when spend (what last year's uplift measures) falls short of it, or when any
        # metric of an expected dip falls further; other drops are judged against the usual level.
        against_expected = known & ((metric == "spend") | (factor <= 1))
        falling = enough & np.where(against_expected, (relative <= drop_at) & (z >= min_z),
                                    (ratio <= drop) & (z_usual >= min_z))
        flagged[metric] = rising[metric] | falling
        usual_hit[metric] = enough & (z_usual >= min_z) & ((ratio >= spike) | (ratio <= drop))
        # What the move is measured against, so an account's change can be split among its campaigns.
        scale[metric] = np.where(rising[metric] | against_expected, factor, 1.0)
        deltas[metric] = today - baseline * scale[metric]
    rate_drop = value("anomaly_rate_drop")
    for rate, (num, den, floor) in RATES.items():
        base_rate = _divide(sums[num], sums[den])
        today_rate = _divide(cube[num][idx, 0], cube[den][idx, 0])
        ratio = _divide(today_rate, base_rate)
        # The noise guard counts the numerator: the clicks (or conversions) today's volume should have brought.
        expected = np.nan_to_num(base_rate) * cube[den][idx, 0]
        z = _divide(expected - cube[num][idx, 0], np.sqrt(expected))
        enough = (sums[num] / count >= value(floor)) & (expected >= value(floor))
        stats[rate] = (today_rate, base_rate, ratio)
        # A rate is news when its volume rose and did not bring the clicks (conversions) along: on steady volume a
        # falling rate is the numerator's own drop, judged by its thresholds. A wider reach on a peak day lowers
        # CTR by design, so CTR is not judged then.
        rose = stats[den][2] >= value("anomaly_rate_volume_rise")
        fell = flagged[num] & (stats[num][2] < 1)
        flagged[rate] = enough & (z >= min_z) & (ratio <= rate_drop) & rose & ~fell & ~(peak & (rate == "ctr"))
        usual_hit[rate] = np.zeros(len(idx), dtype=bool)
        deltas[rate] = cube[num][idx, 0] - expected
    if not campaign:
        _keep_account_wide(w, idx, usable, count, flagged, deltas, scale)
        ones = {m: np.ones(len(idx)) for m in METRICS}
        _keep_account_wide(w, idx, usable, count, usual_hit,
                           {m: stats[m][0] - stats[m][1] for m in METRICS}, ones)
    any_flag = np.logical_or.reduce([flagged[m] for m in flagged])
    expected_peak = peak & ~any_flag & np.logical_or.reduce([usual_hit[m] for m in METRICS])
    rows = np.flatnonzero(any_flag | expected_peak)
    if not len(rows):
        return _empty()
    conv_ok = stats["conversions"][1] >= value("anomaly_min_conversions")
    return _anomaly_findings(w, level, idx, rows, count, stats, flagged, usual_hit, rising, expected_peak, peak,
                             factor, uplift, spike_at, conv_ok, rate_drop, drop)


def _keep_account_wide(w: SweepWindow, idx: np.ndarray, usable: np.ndarray, count: np.ndarray,
                       flagged: dict[str, np.ndarray], deltas: dict[str, np.ndarray],
                       scale: dict[str, np.ndarray]) -> None:
    """Unflag account moves one campaign makes: an account finding is for what moved across the account.

    The account's change (today - baseline x scale) is the sum of its campaigns' on the same baseline days; a
    metric stays flagged when no campaign makes more than anomaly_account_max_share of it.
    """
    share_max = w.client_values("anomaly_account_max_share", "account")[idx]
    account_pos = w.campaigns["account_pos"].to_numpy()
    row_of = np.full(len(w.accounts), -1, dtype=np.int64)
    moved = np.logical_or.reduce([flagged[m] for m in flagged])
    row_of[idx[moved]] = np.flatnonzero(moved)
    members = np.flatnonzero(row_of[account_pos] >= 0)
    if not len(members):
        for m in flagged:
            flagged[m][:] = False
        return
    r = row_of[account_pos[members]]
    columns = 7 * np.arange(1, usable.shape[1] + 1)
    sub = usable[r]
    for metric in flagged:
        if not flagged[metric].any():
            continue
        if metric in RATES:
            num, den, _ = RATES[metric]
            base_num = np.where(sub, w.cube[num][members[:, None], columns], 0.0).sum(axis=1)
            base_den = np.where(sub, w.cube[den][members[:, None], columns], 0.0).sum(axis=1)
            # Each campaign's shortfall against the account's usual rate; they add up to the account's.
            sums_num = np.bincount(r, weights=base_num, minlength=len(idx))
            sums_den = np.bincount(r, weights=base_den, minlength=len(idx))
            account_rate = np.nan_to_num(_divide(sums_num, sums_den))[r]
            part = w.cube[num][members, 0] - account_rate * w.cube[den][members, 0]
        else:
            base = np.where(sub, w.cube[metric][members[:, None], columns], 0.0).sum(axis=1) / count[r]
            part = w.cube[metric][members, 0] - base * scale[metric][r]
        largest = np.zeros(len(idx))
        np.maximum.at(largest, r, np.abs(part))
        total = np.abs(deltas[metric])
        flagged[metric] &= largest <= share_max * total


def _anomaly_pattern(f: dict[str, bool], direction: dict[str, str], peak: bool, expected: bool,
                     conversions_flat: bool, traffic_held: bool) -> str:
    """A short code for what moved together, first match wins; peaks have their own codes (never bot traffic)."""
    spikes = {m for m in METRICS if f[m] and direction[m] == "spike"}
    drops = {m for m in METRICS if f[m] and direction[m] == "drop"}
    if peak:
        if expected:
            return "expected_peak"
        if drops:
            return "missed_peak"
        if spikes:
            return "beyond_peak"
        return "cvr_drop"
    if "impressions" in spikes and f["ctr"]:
        return "impressions_up_ctr_down"
    if "spend" in spikes and "conversions" not in spikes and (f["cvr"] or "conversions" in drops or conversions_flat):
        return "spend_up_conversions_flat"
    if "clicks" in spikes and f["cvr"]:
        return "clicks_up_cvr_down"
    if drops == {"conversions"} and traffic_held:
        return "conversions_drop"
    if drops:
        return "drop"
    if f["cvr"]:
        return "cvr_drop"
    if f["ctr"]:
        return "ctr_drop"
    return "spike"


def _anomaly_findings(w: SweepWindow, level: str, idx: np.ndarray, rows: np.ndarray, count: np.ndarray,
                      stats: dict[str, tuple[np.ndarray, ...]], flagged: dict[str, np.ndarray],
                      usual_hit: dict[str, np.ndarray], rising: dict[str, np.ndarray], expected_peak: np.ndarray,
                      peak: np.ndarray, factor: np.ndarray, uplift: np.ndarray, spike_at: np.ndarray,
                      conv_ok: np.ndarray, rate_drop: np.ndarray, drop: np.ndarray) -> pd.DataFrame:
    campaign = level == "campaign"
    positions = idx[rows]
    weekday = w.day.day_name()
    currency = _currency(w, campaigns=positions) if campaign else _currency(w, accounts=positions)
    client_pos = (w.campaigns if campaign else w.accounts)["client_pos"].to_numpy()[positions]
    names = w.clients["peak_name"].to_numpy()[client_pos]
    metrics = [*METRICS, *RATES]
    table = {m: [np.round(stats[m][0][rows], 5 if m in RATES else 2).tolist(),
                 np.round(stats[m][1][rows], 5 if m in RATES else 2).tolist(),
                 np.round(stats[m][2][rows], 3).tolist(), flagged[m][rows].tolist(), usual_hit[m][rows].tolist(),
                 rising[m][rows].tolist() if m in rising else [False] * len(rows)]
             for m in metrics}
    evidence, words, severity = [], [], []
    for i, r in enumerate(rows.tolist()):
        cur, on_peak, as_expected = currency[i], bool(peak[r]), bool(expected_peak[r])
        f = {m: table[m][4][i] if as_expected else table[m][3][i] for m in metrics}
        # On a peak day a fall short of the expected level is a drop even above the usual one.
        direction = {m: "spike" if (table[m][5][i] if not as_expected else table[m][2][i] >= 1) else "drop"
                     for m in metrics}
        # Conversions "flat": on a countable baseline, they rose less than half as much as spend (CPA doubled).
        conv_ratio, spend_ratio = table["conversions"][2][i], table["spend"][2][i]
        flat = bool(conv_ok[r]) and conv_ratio == conv_ratio and conv_ratio <= spend_ratio * rate_drop[r]
        # The traffic "held": clicks stayed above halfway between the usual level and a drop.
        clicks_ratio = table["clicks"][2][i]
        held = clicks_ratio == clicks_ratio and clicks_ratio >= (1 + drop[r]) / 2
        pattern = _anomaly_pattern(f, direction, on_peak, as_expected, flat, held)
        listed, phrases = [], []
        for m in metrics:
            if not f[m]:
                continue
            today, baseline, ratio = table[m][0][i], table[m][1][i], table[m][2][i]
            listed.append({"metric": m, "today": today, "baseline": baseline, "ratio": ratio,
                           "direction": direction[m]})
            move = (f"{(ratio - 1) * 100:+.0f}% against the usual {weekday}" if as_expected
                    else _change(ratio, weekday))
            phrases.append(f"{METRIC_NAMES[m]} {move} ({_shown(m, today, cur)} against {_shown(m, baseline, cur)})")
        known = bool(np.isfinite(uplift[r]))
        peak_ev = None
        if on_peak:
            peak_ev = {"name": _text(names[i]) or "key date", "expected_uplift": _num(uplift[r], 3),
                       "expected_ratio": _num(factor[r], 3) if known else None,
                       "band_ratio": _num(spike_at[r] * factor[r], 3)}
        evidence.append({"weekday": weekday, "baseline_weeks": int(count[r]), "metrics": listed, "pattern": pattern,
                         "peak": peak_ev, "currency": cur})
        text = ("" if campaign else "across the account, ") + "; ".join(phrases)
        if on_peak:
            last_year = (f", last year's brought {uplift[r] * 100:+.0f}%" if known
                         else ", no earlier year to compare with")
            lead = f"{peak_ev['name']} ({w.day.date().isoformat()}{last_year}): "
            text = f"{lead}{text}{', as expected' if as_expected else ''}"
        else:
            text = f"{text[0].upper()}{text[1:]}"
        words.append(f"{text}. {ANOMALY_ADVICE[pattern]}.")
        money = any(m["metric"] in ("spend", "conversions", "cvr") for m in listed)
        severity.append("info" if as_expected
                        else "warning" if money or pattern in WARNING_PATTERNS else "info")
    target = {"campaigns": positions} if campaign else {"accounts": positions}
    return _findings(w, "anomaly", severity, evidence, words, **target)


def detect_anomaly(w: SweepWindow) -> pd.DataFrame:
    """Spikes and drops against the same weekday over the previous weeks: campaigns, and account-wide moves."""
    frames = [frame for frame in (_anomalies(w, "campaign"), _anomalies(w, "account")) if len(frame)]
    if not frames:
        return _empty()
    return pd.concat(frames, ignore_index=True)


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


def detect_data_quality(w: SweepWindow) -> pd.DataFrame:
    """Gaps and impossible values that make the other detectors blind: one finding per subject, all issues listed."""
    acc, camps, cli = w.accounts, w.campaigns, w.clients
    issues: dict[tuple[str, int], list[tuple[str, dict[str, Any], str]]] = {}

    def add(kind: str, pos: int, severity: str, evidence: dict[str, Any], words: str) -> None:
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


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


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
