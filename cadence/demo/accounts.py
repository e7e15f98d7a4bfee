"""The demo clients' ad accounts and campaigns: their rows, each campaign's generation parameters, and the problems
planted among them (a dedicated campaign or account each)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

import numpy as np

from cadence.demo.markets import (
    INDUSTRY,
    INITIATIVE_CUMULATIVE,
    INITIATIVES,
    MARKET_INDEX,
    MARKETS,
    PLATFORM_CTR,
    PLATFORM_LABEL,
    PLATFORM_STRATEGIES,
    SEASONAL_INITIATIVES,
    Market,
)
from cadence.demo.names import pick
from cadence.demo.texts import INITIATIVE_LABEL
from cadence.demo.values import at_local, money, nice
from models.enums import EntityStatus, Language, Platform, Tier

# Every campaign converts at least this many times a day on average, so a zero-conversion day means something.
MIN_CONVERSIONS_PER_DAY = 4.0


# Problem codes carried per campaign into the metric generator.
NONE, SWC, CPA_HIGH, UNDERDELIVERY, LAUNCH_GEO, LAUNCH_GOAL, SPIKE, DROP, TRACKING, COLLAPSE, PAUSED = range(11)
CAMPAIGN_PROBLEMS = (
    ("spend_without_conversions", None, SWC),
    ("cpa_above_band", None, CPA_HIGH),
    ("underdelivery_low_bid", None, UNDERDELIVERY),
    ("launch_guard", "no_geo", LAUNCH_GEO),
    ("launch_guard", "no_goal", LAUNCH_GOAL),
    ("anomaly", "spike", SPIKE),
    ("anomaly", "drop", DROP),
)
ACCOUNT_PROBLEMS = (
    ("tracking_broken", None, TRACKING),
    ("churn_signal", "collapse", COLLAPSE),
    ("churn_signal", "paused_by_client", PAUSED),
)


@dataclass(frozen=True)
class CampaignParams:
    """Per-campaign generation parameters as aligned arrays; index = campaign key."""

    client: np.ndarray
    market: np.ndarray
    base_spend: np.ndarray
    cpa: np.ndarray
    cpa_max: np.ndarray
    cpc: np.ndarray
    ctr: np.ndarray
    roas: np.ndarray
    budget: np.ndarray
    week: np.ndarray
    growth: np.ndarray
    peak_sensitivity: np.ndarray
    sigma: np.ndarray
    has_goal: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    problem: np.ndarray


class ExternalIds:
    """External ids in each platform's shape, unique across the agency."""

    SHAPES: ClassVar[dict[Platform, tuple[int, int]]] = {
        Platform.GOOGLE_ADS: (10, 11),
        Platform.META: (15, 18),
        Platform.YANDEX_DIRECT: (8, 9),
        Platform.VK: (8, 9),
        Platform.OCEAN_ENGINE: (16, 16),
    }

    def __init__(self, rng: np.random.Generator) -> None:
        self.next: dict[tuple[Platform, str], int] = {}
        self.stride: dict[tuple[Platform, str], int] = {}
        for platform, (account_digits, campaign_digits) in self.SHAPES.items():
            for kind, digits in (("account", account_digits), ("campaign", campaign_digits)):
                # A prime stride makes consecutive ids look unrelated; the headroom fits 300,000 of them.
                stride = 7919 if digits >= 10 else 37
                self.stride[(platform, kind)] = stride
                self.next[(platform, kind)] = int(rng.integers(10 ** (digits - 1), 10**digits - 300_000 * stride))

    def take(self, platform: Platform, kind: str) -> str:
        number = self.next[(platform, kind)]
        self.next[(platform, kind)] = number + self.stride[(platform, kind)]
        text = str(number)
        if kind == "account":
            if platform is Platform.GOOGLE_ADS:
                return f"{text[:3]}-{text[3:6]}-{text[6:]}"
            if platform is Platform.META:
                return f"act_{text}"
        return text


def _geo(market: Market, u: float, order: np.ndarray) -> list[str]:
    """A whole country a quarter of the time, else one to three of its regions, from uniform draws."""
    if u < 0.25:
        return [market.code]
    n = len(market.regions)
    count = 1 + min(int((u - 0.25) / 0.75 * min(3, n)), min(3, n) - 1)
    return [market.regions[int(i)][0] for i in sorted(np.argsort(order[:n])[:count])]


def _campaign_name(
    market: Market, initiative: str, goal: tuple[str, str, str, str], geo: list[str], number: int
) -> str:
    regions = dict(market.regions)
    place = regions.get(geo[0], market.country) if geo else market.country
    zh, ru, en = INITIATIVE_LABEL[initiative]
    if market.language is Language.ZH:
        return f"{zh}-{goal[1]}-{place}-{number:02d}"
    if market.language is Language.RU:
        return f"{ru} | {goal[2]} | {place} | {number:02d}"
    return f"{en} - {goal[3]} - {place} - {number:02d}"


@dataclass
class Builder:
    """Accumulates accounts and campaigns (rows and generation parameters) while clients are planned."""

    rng: np.random.Generator
    ids: ExternalIds
    first_day: dt.date
    last_day: dt.date
    accounts: list[dict[str, Any]]
    campaigns: list[dict[str, Any]]
    params: dict[str, list[Any]]

    @classmethod
    def start(cls, rng: np.random.Generator, first_day: dt.date, last_day: dt.date) -> Builder:
        """An empty builder whose external ids are drawn from `rng` first."""
        params: dict[str, list[Any]] = {f: [] for f in CampaignParams.__dataclass_fields__}
        return cls(rng, ExternalIds(rng), first_day, last_day, [], [], params)

    def campaign_params(self) -> CampaignParams:
        """The generation parameters gathered so far, as aligned arrays."""
        p = self.params
        return CampaignParams(
            client=np.array(p["client"], dtype=np.int64),
            market=np.array(p["market"], dtype=np.int64),
            base_spend=np.array(p["base_spend"]),
            cpa=np.array(p["cpa"]),
            cpa_max=np.array(p["cpa_max"]),
            cpc=np.array(p["cpc"]),
            ctr=np.array(p["ctr"]),
            roas=np.array(p["roas"]),
            budget=np.array(p["budget"]),
            week=np.array(p["week"]).reshape(-1, 7),
            growth=np.array(p["growth"]),
            peak_sensitivity=np.array(p["peak_sensitivity"]),
            sigma=np.array(p["sigma"]),
            has_goal=np.array(p["has_goal"]),
            start=np.array(p["start"], dtype=np.int64),
            stop=np.array(p["stop"], dtype=np.int64),
            problem=np.array(p["problem"], dtype=np.int64),
        )

    @property
    def n_days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def index(self, day: dt.date) -> int:
        return (day - self.first_day).days

    def account(self, client: dict[str, Any], platform: Platform, created_on: dt.date, label: str) -> dict[str, Any]:
        strategy, unit = pick(self.rng, PLATFORM_STRATEGIES[platform])
        row = {
            "key": len(self.accounts),
            "client_key": client["key"],
            "platform": platform,
            "external_id": self.ids.take(platform, "account"),
            "name": f"{client['short']} · {PLATFORM_LABEL[platform]} · {label}",
            "currency": client["currency"],
            "time_zone": client["time_zone"],
            "status": EntityStatus.ACTIVE,
            "paused_by_client_at": None,
            "created_on": created_on,
            "_strategy": (strategy, unit),
        }
        self.accounts.append(row)
        return row

    def campaign(
        self,
        client: dict[str, Any],
        account: dict[str, Any],
        econ: dict[str, Any],
        *,
        spend: float,
        created_on: dt.date,
        number: int,
        initiative: str | None = None,
        problem: int = NONE,
        stop: int | None = None,
        steady: bool = False,
    ) -> dict[str, Any]:
        market, industry = MARKETS[client["market"]], INDUSTRY[client["industry"]]
        # One draw per campaign: numpy's per-call overhead, not arithmetic, is what 100,000 campaigns cost.
        u, z = self.rng.random(20), self.rng.standard_normal(2)
        if initiative is None:
            seasonal = SEASONAL_INITIATIVES[market.code]
            if not steady and u[0] < 0.15:
                initiative = seasonal[int(u[1] * len(seasonal))]
            else:
                initiative = INITIATIVES[min(int(np.searchsorted(INITIATIVE_CUMULATIVE, u[1])), len(INITIATIVES) - 1)]
        goal = industry.goals[int(u[2] * len(industry.goals))]
        geo = _geo(market, u[3], u[4:10])
        cpa = econ["cpa"] * (0.97 + 0.06 * u[10] if steady else 0.88 + 0.24 * u[10])
        cpc = min(econ["cpc"] * math.exp(0.1 * z[0]), 0.5 * cpa)
        spend = max(spend, MIN_CONVERSIONS_PER_DAY * cpa)
        budget = nice(spend * (1.25 + 0.35 * u[11]))
        strategy, unit = account["_strategy"]
        bid = cpa * (0.9 + 0.2 * u[12]) if unit == "cpa" else cpc * (1.1 + 0.4 * u[12])
        # Planted problems ignore market peaks, so their shape holds whatever day as_of falls on.
        sensitivity = 0.0 if steady or problem != NONE else industry.peak_sensitivity * econ["peak_jitter"]
        if initiative in ("618", "double-11", "black-friday", "christmas", "8-march"):
            sensitivity *= 1.6
        start = max(0, self.index(created_on))
        stop = self.n_days if stop is None else stop
        edited_at = None
        if not steady and problem == NONE and u[13] < 0.3:
            edited = self.last_day - dt.timedelta(days=2 + int(u[14] * 58))
            if edited > created_on:
                edited_at = at_local(edited, dt.time(10 + int(u[15] * 8), int(u[16] * 60)), client["time_zone"])
        low, high = PLATFORM_CTR[account["platform"]]
        row = {
            "key": len(self.campaigns),
            "account_key": account["key"],
            "external_id": self.ids.take(account["platform"], "campaign"),
            "name": _campaign_name(market, initiative, goal, geo, number),
            "status": EntityStatus.ACTIVE if stop >= self.n_days else EntityStatus.PAUSED,
            "daily_budget": money(budget),
            "bid": Decimal(f"{bid:.2f}"),
            "bid_strategy": strategy,
            "geo_targeting": geo,
            "conversion_goal": goal[0],
            "initiative": initiative,
            "created_on": created_on,
            "edited_at": edited_at,
        }
        self.campaigns.append(row)
        p = self.params
        p["client"].append(client["key"])
        p["market"].append(MARKET_INDEX[market.code])
        p["base_spend"].append(spend)
        p["cpa"].append(cpa)
        p["cpa_max"].append(econ["cpa_max"])
        p["cpc"].append(cpc)
        p["ctr"].append(low + (high - low) * u[17])
        p["roas"].append(econ["roas"] * math.exp(0.08 * z[1]))
        p["budget"].append(budget)
        p["week"].append(econ["week"])
        p["growth"].append(econ["growth"])
        p["peak_sensitivity"].append(sensitivity)
        p["sigma"].append(0.04 if steady else 0.07 + 0.05 * u[18])
        p["has_goal"].append(1.0)
        p["start"].append(start)
        p["stop"].append(stop)
        p["problem"].append(problem)
        return row


def economics(client: dict[str, Any], rng: np.random.Generator, steady: bool, growth: float) -> dict[str, Any]:
    """A client's unit economics in its own currency and the weekly shape of its demand."""
    market, industry = MARKETS[client["market"]], INDUSTRY[client["industry"]]
    cpa = industry.cpa_usd * market.cost * market.fx * float(rng.lognormal(0, 0.2))
    cpc = industry.cpc_usd * market.cost * market.fx * float(rng.lognormal(0, 0.15))
    week = np.array(industry.week) * (1 if steady else rng.uniform(0.98, 1.02, 7))
    daily = {Tier.STRATEGIC: (4000, 20000), Tier.POTENTIAL: (1000, 4500), Tier.REGULAR: (250, 1200)}[client["tier"]]
    return {
        "cpa": cpa,
        "cpc": cpc,
        "cpa_min": float(cpa * 0.7),
        "cpa_max": float(cpa * 1.4),
        "roas": industry.roas * float(rng.lognormal(0, 0.15)),
        "week": week / week.mean(),
        "growth": 0.0 if steady else growth,
        "peak_jitter": float(rng.uniform(0.8, 1.2)),
        "daily_spend": float(np.exp(rng.uniform(*np.log(daily)))) * market.scale * market.fx,
    }


def plan_accounts(
    build: Builder, client: dict[str, Any], econ: dict[str, Any], campaigns_per_client: int | None, *, steady: bool
) -> None:
    rng, market = build.rng, MARKETS[client["market"]]
    n_accounts = int(
        rng.integers(*{Tier.STRATEGIC: (2, 4), Tier.POTENTIAL: (1, 3), Tier.REGULAR: (1, 3)}[client["tier"]])
    )
    per_account = {Tier.STRATEGIC: (4, 7), Tier.POTENTIAL: (3, 6), Tier.REGULAR: (2, 5)}[client["tier"]]
    if campaigns_per_client is not None:
        n_accounts = min(n_accounts, campaigns_per_client)
        counts = [
            campaigns_per_client // n_accounts + (i < campaigns_per_client % n_accounts) for i in range(n_accounts)
        ]
    else:
        counts = [int(rng.integers(*per_account)) for _ in range(n_accounts)]
    shares = rng.dirichlet(np.full(sum(counts), 2.0))
    cooperation = client["cooperation_start"]
    latest = build.last_day - dt.timedelta(days=60)
    number = 0
    for a, count in enumerate(counts):
        platform = market.platforms[0] if a == 0 else pick(rng, market.platforms)
        opened = min(cooperation + dt.timedelta(days=int(rng.integers(0, 21))), latest)
        if steady:
            opened = min(opened, build.first_day - dt.timedelta(days=14))
        account = build.account(
            client, platform, opened, "主账户" if a == 0 and market.code == "CN" else f"{a + 1:02d}"
        )
        for c in range(count):
            created = opened + dt.timedelta(days=int(rng.integers(0, 10)))
            if not steady and rng.random() < 0.2 and build.n_days > 120:
                created = max(created, build.first_day + dt.timedelta(days=int(rng.integers(0, build.n_days - 60))))
            stop = None
            earliest, latest_stop = max(build.index(created) + 30, 30), build.n_days - 60
            # Paused long ago, so no detector mistakes it for something that happened this month.
            if not steady and c > 0 and earliest < latest_stop and rng.random() < 0.08:
                stop = int(rng.integers(earliest, latest_stop))
            build.campaign(
                client,
                account,
                econ,
                spend=float(shares[number]) * econ["daily_spend"],
                created_on=created,
                number=number + 1,
                stop=stop,
                steady=steady,
            )
            number += 1


def plant(
    build: Builder, client: dict[str, Any], econ: dict[str, Any], problem: tuple[str, str | None, int]
) -> dict[str, Any]:
    """Add the dedicated campaign or account that carries one injected problem, and describe it."""
    detector, variant, code = problem
    rng, last_day = build.rng, build.last_day
    long_ago = build.first_day - dt.timedelta(days=7)
    main = next(a for a in build.accounts if a["client_key"] == client["key"])
    number = sum(1 for c in build.campaigns if build.accounts[c["account_key"]]["client_key"] == client["key"]) + 1
    if code in (TRACKING, COLLAPSE, PAUSED):
        label = f"{sum(1 for a in build.accounts if a['client_key'] == client['key']) + 1:02d}"
        account = build.account(client, main["platform"], long_ago - dt.timedelta(days=30), label)
        for i in range(int(rng.integers(2, 4))):
            build.campaign(
                client,
                account,
                econ,
                spend=econ["cpa"] * rng.uniform(8, 20),
                created_on=long_ago,
                number=number + i,
                initiative=pick(rng, INITIATIVES),
                problem=code,
            )
        if code == PAUSED:
            account["status"] = EntityStatus.PAUSED
            account["paused_by_client_at"] = at_local(last_day, dt.time(20, 30), client["time_zone"])
        return {
            "detector": detector,
            "variant": variant,
            "client": client["slug"],
            "account": account["external_id"],
            "campaign": None,
        }
    bids = [float(c["bid"]) for c in build.campaigns if c["account_key"] == main["key"]]
    created = long_ago
    if code in (LAUNCH_GEO, LAUNCH_GOAL):
        created = last_day
    elif code == UNDERDELIVERY:
        created = last_day - dt.timedelta(days=40)
    row = build.campaign(
        client,
        main,
        econ,
        spend=econ["cpa"] * rng.uniform(15, 30),
        created_on=created,
        number=number,
        initiative="new-product-launch" if code in (LAUNCH_GEO, LAUNCH_GOAL, UNDERDELIVERY) else "performance",
        problem=code,
    )
    p = build.params
    if code == UNDERDELIVERY:
        # Spend well under the lower CPA edge: barely any delivery, and never "spend without conversions".
        p["base_spend"][-1] = min(0.06 * p["budget"][-1], 0.5 * econ["cpa_min"])
        row["bid"] = Decimal(f"{float(np.median(bids)) * rng.uniform(0.3, 0.4):.2f}")
    if code in (LAUNCH_GEO, LAUNCH_GOAL):
        row["edited_at"] = at_local(last_day, dt.time(11, int(rng.integers(0, 60))), client["time_zone"])
        if code == LAUNCH_GEO:
            row["geo_targeting"] = []
        else:
            row["conversion_goal"] = None
            p["has_goal"][-1] = 0.0
    return {
        "detector": detector,
        "variant": variant,
        "client": client["slug"],
        "account": main["external_id"],
        "campaign": row["external_id"],
    }
