"""The sweep's inputs (frame columns, thresholds) indexed once into the SweepWindow every detector reads."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tasks.rules import WINDOW_DAYS

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
        known: np.ndarray = _window(gaps.astype(np.float64), start, length) == 0
        return known

    def client_values(self, column: str, level: str = "campaign") -> np.ndarray:
        """A client column (or threshold) aligned to campaigns, accounts or clients."""
        source = self.thresholds if column in DEFAULT_THRESHOLDS else self.clients
        values: np.ndarray = source[column].to_numpy(dtype="float64")
        if level == "client":
            return values
        frame = self.campaigns if level == "campaign" else self.accounts
        aligned: np.ndarray = values[frame["client_pos"].to_numpy()]
        return aligned

    def ints(self, key: str, low: int, high: int, level: str = "campaign") -> np.ndarray:
        """An integer threshold per row, clipped to what the window can answer."""
        clipped: np.ndarray = np.clip(np.rint(self.client_values(key, level)), low, high).astype(np.int64)
        return clipped


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
    positions: np.ndarray = pd.Index(keys).get_indexer(values)
    return positions


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
        reduced: np.ndarray = getattr(block, how)(axis=1)
        return reduced
    end = int((start + length).max())
    columns = np.arange(end)
    inside = (columns >= start[:, None]) & (columns < (start + length)[:, None])
    fill = {"sum": 0.0, "max": -np.inf, "min": np.inf}[how]
    spread: np.ndarray = getattr(np.where(inside, matrix[:, :end], fill), how)(axis=1)
    return spread


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _account_stopped(w: SweepWindow) -> np.ndarray:
    """Accounts switched off on purpose: paused or removed."""
    stopped: np.ndarray = w.accounts["status"].isin(["paused", "removed"]).to_numpy()
    return stopped


def _stopped(w: SweepWindow) -> np.ndarray:
    """Campaigns switched off on purpose, themselves or through their account."""
    stopped: np.ndarray = w.campaigns["status"].isin(["paused", "removed"]).to_numpy() \
        | _account_stopped(w)[w.campaigns["account_pos"].to_numpy()]
    return stopped
