"""KPI arithmetic for reports: period totals, MoM/QoQ/YoY with missing data, initiatives, campaigns, seasonality."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from tasks.market_calendar import next_occurrence
from tasks.metrics import METRIC_COLUMNS, add_ratios
from tasks.reports.periods import Period

Kpis = dict[str, Any]
RATIOS = ("ctr", "cvr", "cpc", "cpa", "roas")
# A period with data on fewer than this share of its days is not compared with: the account was not running yet.
MIN_COVERAGE = 0.8
# Within this many percentage points of last year's move, a change reads as seasonal.
SEASONAL_BAND = 0.10
KPI_KINDS = (("spend", "money"), ("impressions", "number"), ("clicks", "number"), ("ctr", "percent"),
             ("cpc", "money"), ("conversions", "number"), ("cpa", "money"), ("roas", "number"))
# Every KPI a report may show, including those only benchmarked and never in the comparison table.
KIND_OF: dict[str, str] = {**dict(KPI_KINDS), "cvr": "percent"}
# Budget pacing inside this band of the period's budget is on plan; outside it, pacing is the headline.
PACING_LOW, PACING_HIGH = 0.85, 1.10
# Pacing for the plan: below or above these we say so (narrower than the headline band).
PLAN_UNDERSPEND, PLAN_OVERSPEND = 0.90, 1.05
# Conversions moving more than this against the like-for-like base are news.
VOLUME_MOVE = 0.15
# "Give more budget to the cheapest" needs a CPA at least this much lower than the next initiative's...
MATERIAL_CPA_GAP = 0.15
# ...at least this many conversions on both sides...
MIN_CONVERSIONS = 20
# ...and both initiatives carrying at least this share of spend.
MATERIAL_SHARE = 0.10
# A campaign is named as a spender or an outlier only with at least this share of the client's spend.
MATERIAL_CAMPAIGN_SHARE = 0.05
# For these a fall is good news.
LOWER_IS_BETTER = frozenset({"cpa", "cpc"})
# More or less spend is neither good nor bad news by itself.
NEUTRAL = frozenset({"spend"})


def _clean(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def in_period(frame: pd.DataFrame, period: Period) -> pd.DataFrame:
    days = frame["day"]
    return frame[(days >= pd.Timestamp(period.first)) & (days <= pd.Timestamp(period.last))]


def totals(frame: pd.DataFrame, period: Period) -> Kpis:
    """Sums and ratios of the rows in `period`; `complete` says whether it had data on enough days to compare."""
    rows = in_period(frame, period)
    sums = {col: float(rows[col].sum()) for col in METRIC_COLUMNS}
    ratios = add_ratios(pd.DataFrame([sums])).iloc[0]
    active = rows.loc[rows["impressions"] + rows["spend"] > 0, "day"]
    coverage = active.nunique() / period.days if period.days else 0.0
    return {**sums, **{r: _clean(ratios[r]) for r in RATIOS}, "label": period.label, "first": period.first,
            "last": period.last, "coverage": round(float(coverage), 3),
            "has_data": bool(sums["impressions"] + sums["spend"] > 0), "complete": bool(coverage >= MIN_COVERAGE)}


def change(now: float | None, before: float | None) -> float | None:
    """Relative change, or None when either side is missing or the base is zero (never a division by zero)."""
    if now is None or before is None or before == 0:
        return None
    return now / before - 1


def comparable(kpis: Kpis | None) -> Kpis | None:
    return kpis if kpis is not None and kpis["complete"] else None


def comparison_rows(now: Kpis, previous: Kpis | None, last_year: Kpis | None) -> list[dict[str, Any]]:
    """One row per KPI: value, previous period and last year (None when missing or incomplete) with changes."""
    previous, last_year = comparable(previous), comparable(last_year)
    rows = []
    for key, kind in KPI_KINDS:
        value = now.get(key)
        before = previous.get(key) if previous else None
        ly = last_year.get(key) if last_year else None
        vs_prev, vs_ly = change(value, before), change(value, ly)
        rows.append({"key": key, "kind": kind, "value": value, "previous": before, "change": vs_prev,
                     "last_year": ly, "yoy": vs_ly, "good": _good(key, vs_prev)})
    return rows


def _good(key: str, delta: float | None) -> bool | None:
    if delta is None or abs(delta) < 0.005 or key in NEUTRAL:
        return None
    return (delta < 0) if key in LOWER_IS_BETTER else (delta > 0)


def seasonal_context(now: Kpis, previous: Kpis | None, last_year: Kpis | None,
                     last_year_previous: Kpis | None, metric: str = "conversions") -> dict[str, Any]:
    """How this period's move compares with the same move last year: seasonal, better or worse than the season."""
    this_move = change(now.get(metric), comparable(previous)[metric] if comparable(previous) else None)
    yoy = change(now.get(metric), comparable(last_year)[metric] if comparable(last_year) else None)
    if comparable(last_year) is None:
        return {"code": "no_history", "metric": metric, "this_move": this_move, "last_year_move": None, "yoy": None}
    ly_prev = comparable(last_year_previous)
    last_move = change(last_year[metric], ly_prev[metric] if ly_prev else None)
    if this_move is None or last_move is None:
        return {"code": "yoy_only", "metric": metric, "this_move": this_move, "last_year_move": last_move, "yoy": yoy}
    gap = this_move - last_move
    code = "seasonal" if abs(gap) <= SEASONAL_BAND else ("ahead_of_season" if gap > 0 else "behind_season")
    return {"code": code, "metric": metric, "this_move": this_move, "last_year_move": last_move, "yoy": yoy}


def grouped(frame: pd.DataFrame, campaigns: pd.DataFrame, period: Period, by: str) -> list[dict[str, Any]]:
    """Sums and ratios per `by` (initiative or campaign name) for `period`, biggest spend first, with spend share."""
    rows = in_period(frame, period)
    if rows.empty:
        return []
    labelled = rows.merge(campaigns[["campaign_id", by]], on="campaign_id", how="left")
    labelled[by] = labelled[by].fillna("unlabelled")
    sums = add_ratios(labelled.groupby(by, sort=False)[METRIC_COLUMNS].sum().reset_index())
    sums = sums[sums["spend"] + sums["impressions"] > 0].sort_values(["spend", by], ascending=[False, True])
    total = float(sums["spend"].sum())
    out = []
    for rec in sums.to_dict("records"):
        out.append({"name": rec[by], **{c: float(rec[c]) for c in METRIC_COLUMNS},
                    **{r: _clean(rec[r]) for r in RATIOS}, "share": rec["spend"] / total if total else None})
    return out


def period_budget(monthly_budget: float | None, period: Period) -> float | None:
    """The spend commitment for a period: the monthly budget per month, pro rata by days for other spans."""
    if not monthly_budget:
        return None
    if "-Q" in period.label:
        return monthly_budget * 3
    if ".." in period.label:
        return monthly_budget * period.days / 30.4375
    return monthly_budget


def daily(frame: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Spend, conversions and CPA per day of `period`, every day present (zeros where nothing ran)."""
    rows = in_period(frame, period)
    index = pd.date_range(period.first, period.last, freq="D", name="day")
    per_day = rows.groupby("day")[["spend", "conversions"]].sum().reindex(index, fill_value=0.0)
    per_day["cpa"] = per_day["spend"].div(per_day["conversions"].where(per_day["conversions"] > 0, np.nan))
    return per_day.reset_index()


def headline(now: Kpis, previous: Kpis | None, cpa_band: Mapping[str, Any] | None,
             budget: float | None) -> list[dict[str, Any]]:
    """The three numbers that matter (seed 003): spend against budget, conversions, CPA against the band."""
    previous = comparable(previous)
    cpa = now.get("cpa")
    band = "none"
    if cpa is not None and cpa_band and cpa_band.get("low") is not None and cpa_band.get("high") is not None:
        band = "above" if cpa > cpa_band["high"] else ("below" if cpa < cpa_band["low"] else "within")
    elif not now.get("conversions") and now.get("spend"):
        band = "no_conversions"
    return [
        {"key": "spend", "kind": "money", "value": now["spend"],
         "change": change(now["spend"], previous["spend"] if previous else None),
         "budget": budget, "budget_use": now["spend"] / budget if budget else None},
        {"key": "conversions", "kind": "number", "value": now["conversions"],
         "change": change(now["conversions"], previous["conversions"] if previous else None)},
        {"key": "cpa", "kind": "money", "value": cpa, "change": change(cpa, previous.get("cpa") if previous else None),
         "band": band},
    ]


def conclusion(head: list[dict[str, Any]], cpa_band: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The facts that matter, most material first: pacing outside the band, conversions moving, CPA off the band.

    Each fact has a `weight`, how far it lies past its own threshold; a CPA inside its band is the fallback.
    """
    spend, conversions, cpa = head
    facts: list[dict[str, Any]] = []
    if spend["value"] and not conversions["value"]:
        facts.append({"code": "no_conversions", "weight": math.inf, "spend": spend["value"]})
    use = spend.get("budget_use")
    use = round(use, 6) if use is not None else None
    if use is not None and use > PACING_HIGH:
        facts.append({"code": "over_budget", "weight": use - PACING_HIGH, "use": use, "spend": spend["value"],
                      "budget": spend["budget"]})
    elif use is not None and use < PACING_LOW:
        facts.append({"code": "under_budget", "weight": PACING_LOW - use, "use": use, "spend": spend["value"],
                      "budget": spend["budget"]})
    move = conversions.get("change")
    # Rounded so that a move of exactly the threshold (85 on 100) is not news through float noise.
    if move is not None and round(abs(move), 6) > VOLUME_MOVE:
        facts.append({"code": "conversions_down" if move < 0 else "conversions_up", "weight": abs(move) - VOLUME_MOVE,
                      "change": move, "value": conversions["value"]})
    if cpa["band"] == "above" and cpa_band:
        facts.append({"code": "cpa_above", "weight": cpa["value"] / cpa_band["high"] - 1, "cpa": cpa["value"]})
    # Stable order for equal weights: money first, then volume, then cost per result.
    order = ("no_conversions", "over_budget", "under_budget", "conversions_down", "cpa_above", "conversions_up")
    facts.sort(key=lambda f: (-f["weight"], order.index(f["code"])))
    if cpa["band"] in ("within", "below"):
        facts.append({"code": f"cpa_{cpa['band']}", "weight": 0.0, "cpa": cpa["value"]})
    return facts


def _material(campaign: Mapping[str, Any]) -> bool:
    return campaign.get("share") is not None and campaign["share"] >= MATERIAL_CAMPAIGN_SHARE


def highlights(campaigns: list[dict[str, Any]], cpa_band: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """What stood out among material campaigns: best converter, costliest above the band, spend without results."""
    out: list[dict[str, Any]] = []
    converting = [c for c in campaigns if c["conversions"] > 0 and c["cpa"] is not None and _material(c)]
    high = cpa_band.get("high") if cpa_band else None
    # "Best" needs something to be better than, and is never a campaign above the target range.
    best = min(converting, key=lambda c: (c["cpa"], c["name"])) if len(converting) > 1 else None
    if best is not None and (high is None or best["cpa"] <= high):
        out.append({"code": "best_cpa", "name": best["name"], "cpa": best["cpa"], "conversions": best["conversions"]})
    if high is not None:
        above = sorted((c for c in converting if c["cpa"] > high), key=lambda c: (-c["spend"], c["name"]))
        if above:
            out.append({"code": "above_band", "name": above[0]["name"], "cpa": above[0]["cpa"], "high": high,
                        "count": len(above)})
    wasted = [c for c in campaigns if c["conversions"] == 0 and c["spend"] > 0]
    if wasted:
        out.append({"code": "no_conversions", "count": len(wasted), "spend": sum(c["spend"] for c in wasted)})
    return out


def cheapest_to_scale(initiatives: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The initiative worth more budget: CPA materially below the next one's, enough conversions and spend on both."""
    solid = [i for i in initiatives if i["cpa"] is not None and i["conversions"] >= MIN_CONVERSIONS
             and i.get("share") is not None and i["share"] >= MATERIAL_SHARE]
    if len(solid) < 2:
        return None
    best, runner_up = sorted(solid, key=lambda i: (i["cpa"], i["name"]))[:2]
    gap = 1 - best["cpa"] / runner_up["cpa"] if runner_up["cpa"] else 0.0
    if gap < MATERIAL_CPA_GAP:
        return None
    return {**best, "gap": gap, "compared_with": runner_up["name"]}


def plan_points(now: Kpis, initiatives: list[dict[str, Any]], highlight: list[dict[str, Any]],
                cpa_band: Mapping[str, Any] | None, budget_use: float | None,
                key_dates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Next period's plan, never against the numbers: fix what is off the band, scale what works, prepare peaks."""
    points: list[dict[str, Any]] = []
    if not now["has_data"]:
        return [{"code": "restart"}]
    codes = {h["code"]: h for h in highlight}
    if "above_band" in codes:
        points.append({"code": "fix_above_band", "name": codes["above_band"]["name"]})
    if "no_conversions" in codes:
        points.append({"code": "review_wasted", "count": codes["no_conversions"]["count"]})
    best = cheapest_to_scale(initiatives)
    over = budget_use is not None and budget_use > PLAN_OVERSPEND
    if best is not None:
        # Over budget, more money for the cheapest can only come out of the others.
        points.append({"code": "shift_to_initiative" if over else "scale_initiative", "name": best["name"],
                       "cpa": best["cpa"], "gap": best["gap"], "compared_with": best["compared_with"]})
    if budget_use is not None and budget_use < PLAN_UNDERSPEND:
        points.append({"code": "underspend", "use": budget_use})
    elif over:
        points.append({"code": "overspend", "use": budget_use})
    peaks_first = sorted(key_dates, key=lambda k: (k.get("kind") != "market_peak", k["on"], k["title"]))
    for key_date in peaks_first[:2]:
        points.append({"code": "prepare_date", "title": key_date["title"], "on": key_date["on"],
                       "prepare_by": key_date["prepare_by"]})
    if not points:
        points.append({"code": "keep_course"})  # nothing to fix or scale: say so, never an empty plan
    return points


def upcoming(key_dates: list[dict[str, Any]], first: dt.date, last: dt.date,
             today: dt.date | None = None) -> list[dict[str, Any]]:
    """Key dates falling in [first, last] (or whose preparation starts in it), with the day preparation must begin.

    A preparation day before `today` (the document's date) is already due: `prepare_by` is None and `prepare_now` set.
    """
    out = []
    # A date already behind the document is no longer coming up: the next occurrence is looked for from today.
    start = max(first, today) if today is not None else first
    for kd in key_dates:
        on = next_occurrence(kd["on_date"], kd["recurs_yearly"], start, kd.get("rule"))
        if on is None:
            continue
        prepare_by = on - dt.timedelta(days=kd["lead_days"])
        if on <= last or prepare_by <= last:
            late = today is not None and prepare_by < today
            out.append({**kd, "on": on, "prepare_by": None if late else prepare_by, "prepare_now": late})
    return sorted(out, key=lambda k: (k["on"], k["title"]))
