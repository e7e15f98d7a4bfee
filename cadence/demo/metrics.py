"""Daily metrics of the demo's campaigns, vectorised a run of campaigns at a time, with planted problems shaped in."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from cadence.demo.accounts import (
    COLLAPSE,
    CPA_HIGH,
    DROP,
    LAUNCH_GEO,
    LAUNCH_GOAL,
    PAUSED,
    SPIKE,
    SWC,
    TRACKING,
    UNDERDELIVERY,
    CampaignParams,
)
from cadence.demo.plan import AgencyPlan
from cadence.demo.values import money, nice

CAMPAIGNS_PER_CHUNK = 500


METRIC_STREAM = 1


@dataclass(frozen=True)
class MetricChunk:
    """Daily metric rows for a run of campaigns (campaign key, day index, values) plus their month-to-date spend."""

    campaign: np.ndarray
    day: np.ndarray
    impressions: np.ndarray
    clicks: np.ndarray
    spend: np.ndarray
    conversions: np.ndarray
    conversion_value: np.ndarray
    month_to_date: np.ndarray
    campaigns_done: int

    def __len__(self) -> int:
        return len(self.campaign)


def _rescale(a: dict[str, np.ndarray], c: int, t: int, spend: float) -> float:
    """Set one day's spend and move clicks and impressions with it; returns the ratio applied."""
    ratio = spend / a["spend"][c, t] if a["spend"][c, t] > 0 else 0.0
    a["spend"][c, t] = spend
    a["clicks"][c, t] = np.rint(a["clicks"][c, t] * ratio)
    a["impressions"][c, t] = np.rint(a["impressions"][c, t] * ratio)
    return ratio


def _convert(a: dict[str, np.ndarray], c: int, t: int, conversions: float) -> None:
    """Set one day's conversions, keeping the value per conversion."""
    old = a["conversions"][c, t]
    per = a["conversion_value"][c, t] / old if old > 0 else 0.0
    a["conversions"][c, t] = conversions
    a["conversion_value"][c, t] = conversions * per


def _same_weekday_mean(values: np.ndarray, t: int) -> float:
    return float(values[[t - 7 * k for k in range(1, 5)]].mean())


def _inject(a: dict[str, np.ndarray], c: int, code: int, p: CampaignParams, key: int, rng: np.random.Generator) -> None:
    """Shape one campaign's last days into the injected problem it carries."""
    T = a["spend"].shape[1]
    d = T - 1
    cpa, cpa_max, budget = p.cpa[key], p.cpa_max[key], p.budget[key]
    if code == SWC:
        a["conversions"][c, d - 30 : d - 1] = np.maximum(a["conversions"][c, d - 30 : d - 1], 1)
        for t in (d - 1, d):
            _rescale(a, c, t, max(a["spend"][c, t], 1.65 * cpa_max))
            _convert(a, c, t, 0.0)
    elif code == CPA_HIGH:
        for t in range(d - 6, d + 1):
            _convert(a, c, t, max(1.0, np.rint(a["spend"][c, t] / (2 * cpa_max * rng.uniform(0.95, 1.05)))))
    elif code == UNDERDELIVERY:
        for t in range(T):
            if a["spend"][c, t] > 0.12 * budget:
                _rescale(a, c, t, 0.12 * budget)
    elif code in (LAUNCH_GEO, LAUNCH_GOAL):
        _rescale(a, c, d, min(0.05 * budget, 0.5 * cpa) * rng.uniform(0.3, 1.0))
        _convert(a, c, d, 0.0)
    elif code in (SPIKE, DROP):
        factor = (3.0 if code == SPIKE else 0.2) * rng.uniform(0.97, 1.03)
        clicks = np.rint(factor * _same_weekday_mean(a["clicks"][c], d))
        conversions = np.rint(_same_weekday_mean(a["conversions"][c], d) * factor * (0.8 if code == SPIKE else 1.0))
        _rescale(a, c, d, factor * _same_weekday_mean(a["spend"][c], d))
        a["clicks"][c, d] = clicks
        _convert(a, c, d, max(1.0, conversions))
    elif code == TRACKING:
        for t in (d - 1, d):
            _convert(a, c, t, 0.0)
    elif code == COLLAPSE:
        trailing = a["spend"][c, d - 30 : d - 2].mean()
        for t in range(d - 2, d + 1):
            ratio = _rescale(a, c, t, trailing * rng.uniform(0.03, 0.07))
            floor = 1.0 if a["spend"][c, t] >= 0.5 * cpa else 0.0
            _convert(a, c, t, max(floor, np.rint(a["conversions"][c, t] * ratio)))
    elif code == PAUSED:
        # Paused by the client at 20:30 local: that day still ran for most of its hours.
        ratio = _rescale(a, c, d, a["spend"][c, d] * 0.86)
        _convert(a, c, d, np.rint(a["conversions"][c, d] * ratio))


def metric_chunk(plan: AgencyPlan, lo: int, hi: int) -> MetricChunk:
    """Daily metrics of campaigns `lo`..`hi`, vectorised over campaigns × days; the same chunk always draws the same."""
    p, T = plan.params, plan.n_days
    rng = np.random.default_rng([plan.seed, METRIC_STREAM, lo // CAMPAIGNS_PER_CHUNK])
    keys = np.arange(lo, hi)
    C = hi - lo
    days = np.arange(T)
    trend = (1.0 + p.growth[keys, None]) ** ((days - (T - 1)) / 365.0)
    peak = np.maximum(1.0 + p.peak_sensitivity[keys, None] * (plan.curves[p.market[keys]] - 1.0), 0.4)
    mean = p.base_spend[keys, None] * p.week[keys][:, plan.day_of_week] * trend * peak
    spend = mean * rng.lognormal(0.0, 1.0, (C, T)) ** p.sigma[keys, None]
    clicks = np.rint(spend / (p.cpc[keys, None] * rng.lognormal(0.0, 0.05, (C, T))))
    impressions = np.rint(clicks / (p.ctr[keys, None] * rng.lognormal(0.0, 0.07, (C, T))))
    conversions = np.rint(spend / p.cpa[keys, None] * rng.lognormal(0.0, 0.10, (C, T))) * p.has_goal[keys, None]
    value = conversions * p.cpa[keys, None] * p.roas[keys, None] * rng.lognormal(0.0, 0.12, (C, T))
    arrays = {
        "spend": np.round(spend, 2),
        "clicks": clicks,
        "impressions": impressions,
        "conversions": conversions,
        "conversion_value": value,
    }
    for c in np.flatnonzero(p.problem[keys]):
        _inject(arrays, int(c), int(p.problem[lo + c]), p, lo + int(c), rng)
    alive = (days >= p.start[keys, None]) & (days < p.stop[keys, None])
    spend = np.round(arrays["spend"], 2)
    month = (spend * alive)[:, plan.month_start_index :].sum(axis=1)
    rows = np.nonzero(alive)
    return MetricChunk(
        campaign=keys[rows[0]],
        day=rows[1],
        impressions=np.maximum(arrays["impressions"], arrays["clicks"])[rows].astype(np.int64),
        clicks=arrays["clicks"][rows].astype(np.int64),
        spend=spend[rows],
        conversions=arrays["conversions"][rows],
        conversion_value=np.round(arrays["conversion_value"], 2)[rows],
        month_to_date=np.bincount(p.client[keys], weights=month, minlength=len(plan.clients)),
        campaigns_done=hi,
    )


def metric_chunks(plan: AgencyPlan) -> Iterator[MetricChunk]:
    """Every campaign's daily metrics, a fixed-size run of campaigns at a time."""
    total = len(plan.campaigns)
    for lo in range(0, total, CAMPAIGNS_PER_CHUNK):
        yield metric_chunk(plan, lo, min(lo + CAMPAIGNS_PER_CHUNK, total))


def monthly_budgets(plan: AgencyPlan, month_to_date: np.ndarray) -> list[Decimal]:
    """Each client's monthly commitment: its spend so far this month projected linearly, over its pacing factor."""
    elapsed = plan.last_day.day if plan.first_day <= plan.last_day.replace(day=1) else plan.n_days
    in_month = calendar.monthrange(plan.last_day.year, plan.last_day.month)[1]
    projected = month_to_date / elapsed * in_month
    # Budgets are round numbers, but never so round that pacing moves by more than a percent.
    return [money(nice(float(x) / f, 3)) for x, f in zip(projected, plan.pacing)]
