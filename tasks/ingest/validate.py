"""Which parsed rows load and which are quarantined with a reason; the daily records they sum to, the write plan.

parse_export runs every pure step (read, map, normalise, validate) on an export's bytes."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from tasks.ingest.cells import ZERO_MARKS, RawTable
from tasks.ingest.map import (
    EXTRA_PREFIX,
    SEGMENT_PREFIX,
    ColumnMap,
    _check_mapped_headers,
    map_columns,
    money_factors,
    normalise,
    with_text_columns,
)
from tasks.ingest.read import read_export
from tasks.mappings import DAY_FIRST_DEFAULT, INTEGER_METRICS, METRICS

EARLIEST_DAY = dt.date(2000, 1, 1)

# Reasons that leave the rest of the row's campaign-day loadable; any other reason means that a sum over
# the campaign-day's rows, or a choice between them, would be wrong, so its other rows stay out too.
ROW_REASONS = frozenset({
    "summary row", "missing date", "bad date", "date in the future", "not a single day", "missing campaign",
    "campaign id too long", "no metric values",
})
# What the columns hold: NUMERIC(18, 2) for money, NUMERIC(14, 2) for conversions, BIGINT for counts.
LIMITS = {"impressions": 9e18, "clicks": 9e18, "spend": 1e16, "conversions": 1e12, "conversion_value": 1e16}
INCOMPLETE = "other row for this campaign and day quarantined"
CONFLICT = "conflicting duplicate"


def validate(frame: pd.DataFrame, *, today: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(loadable rows with `duplicate` marking exact repeats, quarantined rows with a `reason`)."""
    reason = frame["problem"].copy()

    def flag(mask: pd.Series, text: str) -> None:
        hit = reason.isna() & mask
        if hit.any():  # a masked assignment costs milliseconds even when it sets nothing (a pull imports often)
            reason[hit] = text

    days = frame["day"]
    flag(days > pd.Timestamp(today + dt.timedelta(days=1)), "date in the future")
    flag(days < pd.Timestamp(EARLIEST_DAY), "bad date")
    for metric in METRICS:
        if metric in INTEGER_METRICS:
            flag(frame[metric].notna() & (frame[metric] % 1 != 0), f"non-integer value in {metric}")
    for metric in METRICS:
        flag(frame[metric] < 0, f"negative {metric}")
        flag(frame[metric] >= LIMITS[metric], f"value too large in {metric}")
    # Zero impressions with clicks is how a platform that does not count impressions reports.
    flag((frame["impressions"] > 0) & (frame["clicks"] > frame["impressions"]), "clicks above impressions")

    segments = [c for c in frame.columns if c.startswith(SEGMENT_PREFIX)]
    keys = ["campaign_key", "day", *segments]
    ok = reason.isna()
    distinct = frame.loc[ok, keys + list(METRICS)].drop_duplicates()
    clashing = distinct.loc[distinct.duplicated(keys, keep=False), keys].drop_duplicates()
    clash = ok & _in(frame, keys, clashing)
    flag(clash, _conflict_reason(frame[clash], keys))

    poisoned = reason.notna() & ~reason.isin(ROW_REASONS)
    day_keys = ["campaign_key", "day"]
    flag(_in(frame, day_keys, frame.loc[poisoned, day_keys].drop_duplicates()), INCOMPLETE)

    # Breakdown rows are summed per campaign and day (exactly, in Python ints): past the column, the day stays out.
    ok = reason.isna()
    summed = frame.loc[ok].drop_duplicates(keys + list(METRICS))
    for metric in METRICS:
        known = summed[metric].fillna(0)
        units = known if metric in INTEGER_METRICS else _hundredths(known)
        totals = units.astype("int64").astype(object).groupby([summed["campaign_key"], summed["day"]]).sum()
        limit = LIMITS[metric] * (1 if metric in INTEGER_METRICS else 100)
        flag(ok & _in(frame, day_keys, totals[totals >= limit].index.to_frame(index=False)),
             f"daily total too large in {metric}")

    ok = reason.isna()
    good = frame[ok].drop(columns="problem")
    good["duplicate"] = good.duplicated(keys + list(METRICS), keep="first")
    quarantine = pd.DataFrame({"reason": reason[~ok]})
    return good, quarantine


_DERIVED = re.compile(r"ctr|cpc|cpm|cpa|cpv|roas|rate|avg|average|%|per |frequency|reach|cost per|стоимость|цена|"
                      r"ср\.|средн|率|均")


def _conflict_reason(rows: pd.DataFrame, keys: list[str]) -> str:
    """"conflicting duplicate", naming the unread columns the clashing rows differ in (a breakdown, most likely)."""
    extras = [c for c in rows.columns if c.startswith(EXTRA_PREFIX)]
    if rows.empty or not extras:
        return CONFLICT
    varying = [c.removeprefix(EXTRA_PREFIX) for c in extras if rows.groupby(keys)[c].nunique().gt(1).any()]
    if not varying:
        return CONFLICT
    varying.sort(key=lambda h: bool(_DERIVED.search(h.casefold())))
    names = ", ".join(repr(h) for h in varying[:3])
    return (f"{CONFLICT}: the rows differ only in {names}, not a column Cadence reads; if it is a breakdown, "
            f"--map \"{varying[0]}=segment\" sums over it")


def _in(frame: pd.DataFrame, keys: list[str], wanted: pd.DataFrame) -> pd.Series:
    """Which rows of `frame` have their `keys` among the rows of `wanted`."""
    if wanted.empty:
        return pd.Series(False, index=frame.index)
    marks = wanted.assign(_hit=True)
    merged = frame[keys].reset_index(drop=True).merge(marks, on=keys, how="left")
    return pd.Series(merged["_hit"].eq(True).to_numpy(), index=frame.index)


def _hundredths(values: pd.Series) -> pd.Series:
    """Money and conversions as exact whole hundredths, rounded half away from zero like NUMERIC(…, 2)."""
    # The nudge keeps 0.285 (stored as 0.28499999…) rounding up, as the decimal it was written as would.
    return (np.sign(values) * np.floor(values.abs() * 100 + 0.5 + 1e-7)).astype("int64")


def daily_records(good: pd.DataFrame) -> pd.DataFrame:
    """One record per campaign and day: the non-repeated rows summed, with how many rows went into each.

    A metric blank in any of a day's rows is missing for that day (NA), not the sum of the others. Money and
    conversions over several rows are summed as the decimals the file wrote and rounded once, at the end."""
    rows = good[~good["duplicate"]].copy()
    blank = rows[list(METRICS)].isna()
    several = rows.duplicated(["campaign_pk", "day"], keep=False)
    exact = {m: rows.loc[several, m].fillna(0) for m in METRICS if m not in INTEGER_METRICS}
    for metric in METRICS:
        known = rows[metric].fillna(0)
        rows[metric] = known.astype("int64") if metric in INTEGER_METRICS else _hundredths(known)
    keys = [rows["campaign_pk"], rows["day"]]
    grouped = rows.groupby(["campaign_pk", "day"], sort=True)
    records = grouped[list(METRICS)].sum().astype("Int64")
    for metric, values in exact.items():
        if not values.empty:
            # repr gives the shortest decimal that reads back as the same float: the number as the file wrote it.
            sums = values.map(lambda v: Decimal(repr(float(v)))).groupby(
                [rows.loc[several, "campaign_pk"], rows.loc[several, "day"]]).sum()
            records.loc[sums.index, metric] = [int(v.scaleb(2).quantize(Decimal(1), ROUND_HALF_UP)) for v in sums]
    records = records.mask(blank.groupby(keys, sort=True).any())
    records["rows"] = grouped.size()
    return records.reset_index()


def plan_writes(records: pd.DataFrame, stored: pd.DataFrame, compared: list[str]) -> pd.DataFrame:
    """Each record marked insert, update or same against the stored row; only the file's own metrics compare."""
    merged = records.merge(stored, on=["campaign_pk", "day"], how="left", suffixes=("", "_stored"),
                           indicator=True)
    same = pd.Series(True, index=merged.index)
    for metric in compared:
        new, old = merged[metric], merged[f"{metric}_stored"]
        same &= new.eq(old).fillna(False).astype(bool) | (new.isna() & old.isna())
    merged["action"] = np.where(merged["_merge"].eq("left_only"), "insert", np.where(same, "same", "update"))
    return merged[[*records.columns, "action"]]


def summed_over(good: pd.DataFrame, segments: list[str]) -> list[str]:
    """The breakdown columns whose values differ within some campaign and day: the ones rows were summed over."""
    if good.empty:
        return []
    rows = good[~good["duplicate"]]
    keys = ["campaign_key", "day"]
    return [s for s in segments if rows.groupby(keys)[SEGMENT_PREFIX + s].nunique().gt(1).any()]


@dataclass(frozen=True)
class ParsedExport:
    """An export read, mapped, normalised and validated for one account: what an import loads, before the database."""

    raw: RawTable
    columns: ColumnMap
    frame: pd.DataFrame  # one parsed row per file row
    good: pd.DataFrame  # loadable rows, `duplicate` marking exact repeats
    quarantine: pd.DataFrame  # quarantined rows with a `reason`
    notes: list[str]  # the money conversions made


def parse_export(data: bytes, name: str, *, platform: str, account: str, account_platform: str, currency: str,
                 saved: dict[str, str], mapping: dict[str, str] | None, today: dt.date, year: int | None,
                 date_format: str | None, rates: dict[str, Decimal] | None) -> ParsedExport:
    """The pure steps of an import: `saved` is the account's mapping, `mapping` the --map given over it."""
    merged = {**saved, **(mapping or {})}
    raw = read_export(data, name, known=merged)
    _check_mapped_headers(raw.header, mapping or {}, name)
    columns = map_columns(raw.header, platform, name=name, mapping=merged)
    columns = with_text_columns(raw, columns)
    factors, notes = money_factors(raw, columns, currency, rates, name=name, account=account)
    # A generic file for a Google Ads account most likely writes dates the way Google Ads does.
    day_first = DAY_FIRST_DEFAULT[account_platform if platform == "generic" else platform]
    frame = normalise(raw, columns, day_first=day_first, zero_marks=ZERO_MARKS.get(platform, frozenset()),
                      year=year, date_format=date_format, factors=factors)
    good, quarantine = validate(frame, today=today)
    return ParsedExport(raw=raw, columns=columns, frame=frame, good=good, quarantine=quarantine, notes=notes)
