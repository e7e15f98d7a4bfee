"""Metric windows read from the database as DataFrames, and the KPI arithmetic shared by flows."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import DateTime, Engine, Float, String, cast, func, select, type_coerce

from models import AdAccount, Campaign, Client, DailyMetric, KeyDate
from models.base import json_array_length
from models.enums import Visibility
from models.service import PRIVATE_KINDS
from tasks import market_calendar
from tasks.rules import WINDOW_DAYS

PEAK_DAYS_AROUND = 2  # a key date's peak covers the day itself and this many days either side
PEAK_BASELINE_WEEKS = 4  # last year's uplift: the event's day against this many preceding same weekdays
PEAK_MIN_BASELINE_WEEKS = 3

METRIC_COLUMNS = ["impressions", "clicks", "spend", "conversions", "conversion_value"]


@dataclass(frozen=True)
class SweepFrames:
    """Everything the detectors read for a set of clients: one frame per table, floats not Decimals."""

    metrics: pd.DataFrame
    campaigns: pd.DataFrame
    accounts: pd.DataFrame
    clients: pd.DataFrame
    peaks: pd.DataFrame | None = None  # tasks.detect.window.PEAKS_COLUMNS: the clients' expected peak days


def _frame(engine: Engine, query, columns: Sequence[str]) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame.from_records(rows, columns=list(columns))


# Both databases are read by ranges of campaign ids (_range_filter), the leading key of daily_metric's primary key
# (campaign_id, day): a few index range scans, no joins (account and client ids are mapped on in memory from the
# small campaigns frame). An IN list of a chunk's 20,000 ids led PostgreSQL to scan the whole window by
# ix_daily_metric_day and filter (measured: 5.6 M rows read for 1.1 M kept at 100,000 campaigns), so every chunk read
# the whole agency.
SQLITE_WINDOW_SQL = """
SELECT campaign_id, day,
       CAST(impressions AS REAL) AS impressions,
       CAST(clicks AS REAL) AS clicks,
       CAST(spend AS REAL) AS spend,
       CAST(conversions AS REAL) AS conversions,
       CAST(conversion_value AS REAL) AS conversion_value
FROM daily_metric
WHERE ({ranges}) AND day >= ? AND day <= ?
"""
# On PostgreSQL each campaign's window comes back as one row: the server packs its days into one bytea of
# fixed-size big-endian records (PACKED_DAY: the day as days since 1970, then the metrics as float8, NaN where the
# export left them blank) and numpy reads a chunk's records in one pass. Row by row a client library spends ~80 ns
# on every value (ADBC: 0.55-0.75 s of CPU for a chunk of 1.12 M rows; psycopg ~3 s); packed, 0.2-0.3 s, for the
# same work on the server. bench/README.md has the figures.
PACKED_WINDOW_SQL = """
SELECT campaign_id,
       string_agg(int4send(day - DATE '1970-01-01') {metrics}, ''::bytea) AS days
FROM daily_metric
WHERE ({ranges}) AND day >= %s AND day <= %s
GROUP BY campaign_id
"""
PACKED_DAY = np.dtype([("day", ">i4"), *((column, ">f8") for column in METRIC_COLUMNS)])
# At most this many id ranges per read: the smallest gaps between a chunk's ids are read through and dropped in memory.
MAX_ID_RANGES = 200


def id_ranges(ids: Sequence[int] | np.ndarray, max_ranges: int = MAX_ID_RANGES) -> list[tuple[int, int]]:
    """Inclusive (first, last) ranges covering `ids`: runs of consecutive ids, the closest runs merged to fit."""
    ids = np.unique(np.asarray(ids, dtype=np.int64))
    if ids.size == 0:
        return []
    gaps = np.diff(ids)
    breaks = np.flatnonzero(gaps > 1)
    if breaks.size >= max_ranges:
        widest = np.argsort(gaps[breaks], kind="stable")[breaks.size - (max_ranges - 1):]
        breaks = np.sort(breaks[widest])
    firsts = np.concatenate(([ids[0]], ids[breaks + 1]))
    lasts = np.concatenate((ids[breaks], [ids[-1]]))
    return [(int(a), int(b)) for a, b in zip(firsts, lasts, strict=True)]


def _range_filter(ranges: Sequence[tuple[int, int]], mark: str) -> tuple[str, list[int]]:
    """`campaign_id BETWEEN … OR …` for `ranges` with the driver's placeholder `mark`, and the bounds to bind."""
    clause = " OR ".join(f"campaign_id BETWEEN {mark} AND {mark}" for _ in ranges)
    return clause, [bound for pair in ranges for bound in pair]


def _read_sqlite_window(engine: Engine, ranges: Sequence[tuple[int, int]], first: dt.date,
                        last: dt.date) -> dict[str, np.ndarray]:
    """The window read Arrow-native through ADBC in a child process (see tasks/arrow_reader.py for why)."""
    where, bounds = _range_filter(ranges, "?")
    query = SQLITE_WINDOW_SQL.format(ranges=where)
    params = [*bounds, first.isoformat(), last.isoformat()]
    path = str(Path(engine.url.database).resolve())
    request = json.dumps({"path": path, "query": query, "params": params}).encode()
    done = subprocess.run([sys.executable, "-m", "tasks.arrow_reader"], input=request, capture_output=True,
                          cwd=Path(__file__).resolve().parent.parent, check=False)
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"reading metrics from {path} failed: {lines[-1] if lines else done.returncode}")
    table = pa.ipc.open_stream(done.stdout).read_all()
    day = table.column("day")
    if pa.types.is_string(day.type) or pa.types.is_large_string(day.type):
        day = pc.cast(day, pa.date32())
    return {"campaign_id": table.column("campaign_id").to_numpy().astype("int64", copy=False),
            "day": day.to_numpy().astype("datetime64[ns]"),
            **{col: table.column(col).to_numpy().astype("float64", copy=False) for col in METRIC_COLUMNS}}


def _read_postgres_window(engine: Engine, ranges: Sequence[tuple[int, int]], first: dt.date,
                          last: dt.date) -> dict[str, np.ndarray]:
    """The window as packed rows (PACKED_WINDOW_SQL), unpacked: one column per name."""
    packed = "".join(f" || float8send(COALESCE(CAST({col} AS DOUBLE PRECISION), 'NaN'))" for col in METRIC_COLUMNS)
    where, bounds = _range_filter(ranges, "%s")
    query = PACKED_WINDOW_SQL.format(metrics=packed, ranges=where)
    params = [*bounds, first, last]
    with engine.connect() as conn:
        # The driver's own cursor, for bytea in binary (SQLAlchemy asks for text: hex, twice the bytes); never
        # prepared, so each chunk is planned for its own ranges.
        with conn.connection.driver_connection.cursor(binary=True) as cur:
            cur.execute(query, params, prepare=False)
            rows = cur.fetchall()
    campaign_ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    days = [row[1] for row in rows]
    sizes = np.fromiter(map(len, days), dtype=np.int64, count=len(days))
    if (sizes % PACKED_DAY.itemsize).any():
        raise RuntimeError(f"metric window from PostgreSQL: a campaign's packed days are not whole records of "
                           f"{PACKED_DAY.itemsize} bytes")
    records = np.frombuffer(b"".join(days), dtype=PACKED_DAY)
    return {"campaign_id": np.repeat(campaign_ids, sizes // PACKED_DAY.itemsize),
            "day": records["day"].astype("datetime64[D]").astype("datetime64[ns]"),
            **{col: records[col].astype(np.float64) for col in METRIC_COLUMNS}}


def _in_campaign_day_order(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """`columns` sorted by campaign then day, unless they already are (the usual plan, the primary key's order; a
    grouped or hashed plan on PostgreSQL may return campaigns and their days in any order)."""
    ids, days = columns["campaign_id"], columns["day"]
    ordered = bool(np.all((ids[1:] > ids[:-1]) | ((ids[1:] == ids[:-1]) & (days[1:] > days[:-1]))))
    if ordered:
        return columns
    order = np.lexsort((days, ids))
    return {name: values[order] for name, values in columns.items()}


def read_metric_window(engine: Engine, campaigns: pd.DataFrame, first: dt.date, last: dt.date) -> pd.DataFrame:
    """Daily metrics of `campaigns` (campaign_id, account_id, client_id) from `first` through `last`; NaN where a
    value is blank (missing, never zero)."""
    columns = ["campaign_id", "account_id", "client_id", "day", *METRIC_COLUMNS]
    if campaigns.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns}).astype(
            {"campaign_id": "int64", "account_id": "int64", "client_id": "int64", "day": "datetime64[ns]"})
    ranges = id_ranges(campaigns["campaign_id"].to_numpy(), MAX_ID_RANGES)
    backend = engine.url.get_backend_name()
    if backend == "sqlite":
        data = _read_sqlite_window(engine, ranges, first, last)
    elif backend == "postgresql":
        data = _read_postgres_window(engine, ranges, first, last)
    else:
        raise NotImplementedError(f"metric windows are read from SQLite or PostgreSQL, not {backend}")
    data = _in_campaign_day_order(data)
    campaign_ids = data["campaign_id"]
    # Account and client ids by binary search in the campaigns frame: no join, no pandas reindex.
    known = campaigns[["campaign_id", "account_id", "client_id"]].sort_values("campaign_id")
    known_ids = known["campaign_id"].to_numpy(dtype="int64")
    at = np.searchsorted(known_ids, campaign_ids)
    ours = (at < known_ids.size) & (known_ids[np.minimum(at, known_ids.size - 1)] == campaign_ids)
    if not ours.all():  # rows of other chunks' campaigns inside a merged range
        data = {name: values[ours] for name, values in data.items()}
        at = at[ours]
    data["account_id"] = known["account_id"].to_numpy(dtype="int64")[at]
    data["client_id"] = known["client_id"].to_numpy(dtype="int64")[at]
    return pd.DataFrame(data, columns=columns, copy=False)


def _utc_days(stamps: pd.Series) -> pd.Series:
    """The UTC day of each timestamp as the driver returns them (aware on PostgreSQL, naive UTC on SQLite), NaT for
    None: what Cadence's UTCDateTime would give, then .date(), for a whole column at once."""
    return pd.to_datetime(stamps, utc=True).dt.tz_localize(None).dt.normalize()


def load_sweep_frames(engine: Engine, client_ids: Sequence[int], day: dt.date,
                      window_days: int = WINDOW_DAYS) -> SweepFrames:
    """The sweep's inputs for `client_ids`: metrics from `day - window_days + 1` through `day`."""
    ids = list(client_ids)
    first = day - dt.timedelta(days=window_days - 1)
    # Status as its stored string, the geo targets counted and the goal tested by the database, the edit time as
    # the driver gives it: no Python per row (the enum and UTC type decorators, JSON decoding) for 20,000 campaigns.
    campaigns_q = (
        select(
            Campaign.id, Campaign.account_id, AdAccount.client_id, type_coerce(Campaign.status, String),
            cast(Campaign.daily_budget, Float), cast(Campaign.bid, Float), Campaign.created_on, Campaign.initiative,
            json_array_length(Campaign.geo_targeting), func.coalesce(func.length(Campaign.conversion_goal), 0) > 0,
            type_coerce(Campaign.edited_at, DateTime(timezone=True)),
        )
        .join(AdAccount, AdAccount.id == Campaign.account_id)
        .where(AdAccount.client_id.in_(ids))
    )
    raw = _frame(engine, campaigns_q, ["campaign_id", "account_id", "client_id", "status", "daily_budget", "bid",
                                       "created_on", "initiative", "geo_targeting_count", "has_conversion_goal",
                                       "edited_at"])
    campaigns = raw.drop(columns=["edited_at"]).assign(
        geo_targeting_count=raw["geo_targeting_count"].astype("int64"),
        has_conversion_goal=raw["has_conversion_goal"].astype(bool),
        created_on=pd.to_datetime(raw["created_on"]),
        edited_at_day=_utc_days(raw["edited_at"]),
    )
    for col in ("daily_budget", "bid"):
        campaigns[col] = campaigns[col].astype("float64")
    metrics = read_metric_window(engine, campaigns, first, day)

    accounts_q = select(
        AdAccount.id, AdAccount.client_id, type_coerce(AdAccount.status, String),
        type_coerce(AdAccount.paused_by_client_at, DateTime(timezone=True)), AdAccount.currency,
        AdAccount.sync_problem,
    ).where(AdAccount.client_id.in_(ids))
    raw = _frame(engine, accounts_q, ["account_id", "client_id", "status", "paused_by_client_at", "currency",
                                      "sync_problem"])
    accounts = raw.drop(columns=["paused_by_client_at"]).assign(
        paused_by_client_day=_utc_days(raw["paused_by_client_at"]))

    clients_q = select(
        Client.id, cast(Client.cpa_min, Float), cast(Client.cpa_max, Float), cast(Client.monthly_budget, Float),
        Client.settings, Client.market,
    ).where(Client.id.in_(ids))
    clients = _frame(engine, clients_q, ["client_id", "cpa_min", "cpa_max", "monthly_budget", "settings", "market"])
    for col in ("cpa_min", "cpa_max", "monthly_budget"):
        clients[col] = clients[col].astype("float64")
    peaks = load_peaks(engine, clients, first, day)
    return SweepFrames(metrics=metrics, campaigns=campaigns, accounts=accounts, clients=clients, peaks=peaks)


PEAK_FRAME_COLUMNS = ["client_id", "day", "name", "expected_uplift"]


def load_peaks(engine: Engine, clients: pd.DataFrame, first: dt.date, day: dt.date) -> pd.DataFrame:
    """Days from `first` through `day` on which each client expects a peak: its market's key dates and its own
    shareable ones (launches; never the private kinds), each with PEAK_DAYS_AROUND days either side.

    A row for `day` itself carries last year's uplift for the same day of the event, the client's spend that
    day against the mean of its PEAK_BASELINE_WEEKS preceding same weekdays (NaN without enough history).
    """
    empty = pd.DataFrame({"client_id": pd.Series(dtype="int64"), "day": pd.Series(dtype="datetime64[ns]"),
                          "name": pd.Series(dtype="object"), "expected_uplift": pd.Series(dtype="float64")})
    if clients.empty:
        return empty
    ids = [int(i) for i in clients["client_id"]]
    market_of = {int(c): m for c, m in zip(clients["client_id"], clients.get("market", [None] * len(clients)),
                                           strict=True)}
    scopes = sorted({f"market:{m}" for m in market_of.values() if m})
    query = select(KeyDate.client_id, KeyDate.scope, KeyDate.kind, KeyDate.visibility, KeyDate.title,
                   KeyDate.on_date, KeyDate.recurs_yearly, KeyDate.rule).where(
        KeyDate.client_id.in_(ids) | (KeyDate.client_id.is_(None) & KeyDate.scope.in_(scopes)))
    with engine.connect() as conn:
        key_dates = conn.execute(query).all()
    rows: dict[tuple[int, dt.date, str], dt.date | None] = {}  # (client, day, title) -> that day last year
    span = dt.timedelta(days=PEAK_DAYS_AROUND)
    for k in key_dates:
        if k.kind in PRIVATE_KINDS or k.visibility == Visibility.PRIVATE:
            continue
        owners = [k.client_id] if k.client_id is not None else \
            [c for c, m in market_of.items() if k.scope == f"market:{m}"]
        for year in range(first.year - 1, day.year + 2):
            on = market_calendar.occurrence_in(k.on_date, k.recurs_yearly, k.rule, year)
            if on is None or on + span < first or on - span > day:
                continue
            before = market_calendar.occurrence_in(k.on_date, k.recurs_yearly, k.rule, year - 1)
            for shift in range(-PEAK_DAYS_AROUND, PEAK_DAYS_AROUND + 1):
                at = on + dt.timedelta(days=shift)
                if first <= at <= day:
                    for client_id in owners:
                        last = before + dt.timedelta(days=shift) if before else None
                        rows.setdefault((int(client_id), at, k.title), last)
    if not rows:
        return empty
    uplift = _last_year_uplift(engine, {(c, last) for (c, at, _), last in rows.items() if at == day and last})
    return pd.DataFrame.from_records(
        [(c, pd.Timestamp(at), title, uplift.get((c, last), np.nan) if at == day and last else np.nan)
         for (c, at, title), last in sorted(rows.items())], columns=PEAK_FRAME_COLUMNS)


def _last_year_uplift(engine: Engine, wanted: set[tuple[int, dt.date]]) -> dict[tuple[int, dt.date], float]:
    """Each (client, day) pair's spend against the mean of its preceding same weekdays, minus one: one query."""
    if not wanted:
        return {}
    days = {at - dt.timedelta(days=7 * k) for _, at in wanted for k in range(PEAK_BASELINE_WEEKS + 1)}
    query = (
        select(AdAccount.client_id, DailyMetric.day, func.sum(cast(DailyMetric.spend, Float)))
        .join(Campaign, Campaign.id == DailyMetric.campaign_id)
        .join(AdAccount, AdAccount.id == Campaign.account_id)
        .where(AdAccount.client_id.in_(sorted({c for c, _ in wanted})), DailyMetric.day.in_(sorted(days)))
        .group_by(AdAccount.client_id, DailyMetric.day)
    )
    with engine.connect() as conn:
        spend = {(int(c), d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d))): float(v or 0.0)
                 for c, d, v in conn.execute(query).all()}
    out = {}
    for client_id, at in wanted:
        base = [spend.get((client_id, at - dt.timedelta(days=7 * k)), 0.0) for k in range(1, PEAK_BASELINE_WEEKS + 1)]
        base = [v for v in base if v > 0]
        peak = spend.get((client_id, at), 0.0)
        if len(base) >= PEAK_MIN_BASELINE_WEEKS and peak > 0:
            out[(client_id, at)] = peak / (sum(base) / len(base)) - 1
    return out


def active_client_ids(engine: Engine, slugs: Sequence[str] | None = None) -> list[int]:
    """Ids of active clients (or of the named ones, active or not), in id order."""
    from models.enums import ClientStatus

    query = select(Client.id, Client.slug).order_by(Client.id)
    if slugs:
        query = query.where(Client.slug.in_(list(slugs)))
    else:
        query = query.where(Client.status == ClientStatus.ACTIVE)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [row.id for row in rows]


def chunk_clients(engine: Engine, client_ids: Sequence[int], max_campaigns: int) -> list[list[int]]:
    """Partition clients into chunks of at most about `max_campaigns` campaigns; a client is never split."""
    if not client_ids:
        return []
    sizes_q = (
        select(AdAccount.client_id, func.count(Campaign.id))
        .join(Campaign, Campaign.account_id == AdAccount.id)
        .where(AdAccount.client_id.in_(list(client_ids)))
        .group_by(AdAccount.client_id)
    )
    with engine.connect() as conn:
        sizes = dict(conn.execute(sizes_q).all())
    chunks: list[list[int]] = [[]]
    filled = 0
    for client_id in client_ids:
        size = sizes.get(client_id, 0)
        if chunks[-1] and filled + size > max_campaigns:
            chunks.append([])
            filled = 0
        chunks[-1].append(client_id)
        filled += size
    return chunks


def add_ratios(frame: pd.DataFrame) -> pd.DataFrame:
    """CTR, CVR, CPC, CPA and ROAS next to the raw sums; a ratio over zero is NaN, not infinity."""
    def ratio(num: pd.Series, den: pd.Series) -> pd.Series:
        return num.div(den.where(den != 0, np.nan))

    return frame.assign(
        ctr=ratio(frame["clicks"], frame["impressions"]),
        cvr=ratio(frame["conversions"], frame["clicks"]),
        cpc=ratio(frame["spend"], frame["clicks"]),
        cpa=ratio(frame["spend"], frame["conversions"]),
        roas=ratio(frame["conversion_value"], frame["spend"]),
    )
