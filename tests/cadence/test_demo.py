"""The demo agency: deterministic, realistic in shape, and every planted problem holds in the stored data."""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cadence.demo.write import DemoSummary, generate_agency
from models import (
    AdAccount,
    Campaign,
    Client,
    ClientRequest,
    Contact,
    DailyMetric,
    Finding,
    Interaction,
    KeyDate,
    OptimisationNote,
    Staff,
)
from models.db import make_engine
from models.enums import (
    Direction,
    EntityStatus,
    KeyDateKind,
    Language,
    Severity,
    StaffRole,
)
from tasks import market_calendar
from tasks.client_check import CONTROL_SLUG
from tasks.errors import CadenceError

AS_OF = dt.date(2026, 11, 25)
D = AS_OF - dt.timedelta(days=1)
SMALL = {"clients": 12, "days": 400}
DETECTORS = {
    "spend_without_conversions",
    "cpa_above_band",
    "underdelivery_low_bid",
    "launch_guard",
    "budget_pacing",
    "anomaly",
    "tracking_broken",
    "churn_signal",
}


@dataclass(frozen=True)
class Agency:
    """A generated agency read back from the database as frames."""

    summary: DemoSummary
    engine: Engine
    metrics: pd.DataFrame
    campaigns: pd.DataFrame
    accounts: pd.DataFrame
    clients: pd.DataFrame


def _frame(engine: Engine, query: Any) -> pd.DataFrame:
    with Session(engine) as s:
        result = s.execute(query)
        return pd.DataFrame(result.all(), columns=list(result.keys()))


def load(engine: Engine, summary: DemoSummary) -> Agency:
    metrics = _frame(
        engine,
        select(
            DailyMetric.day,
            DailyMetric.impressions,
            DailyMetric.clicks,
            DailyMetric.spend,
            DailyMetric.conversions,
            DailyMetric.conversion_value,
            Campaign.external_id.label("campaign"),
            AdAccount.external_id.label("account"),
            Client.slug.label("client"),
        )
        .join(Campaign, DailyMetric.campaign_id == Campaign.id)
        .join(AdAccount)
        .join(Client),
    )
    for column in ("spend", "conversions", "conversion_value"):
        metrics[column] = metrics[column].astype(float)
    campaigns = _frame(
        engine,
        select(
            Campaign.external_id.label("campaign"),
            AdAccount.external_id.label("account"),
            Client.slug.label("client"),
            Campaign.daily_budget,
            Campaign.bid,
            Campaign.geo_targeting,
            Campaign.conversion_goal,
            Campaign.initiative,
            Campaign.created_on,
            Campaign.edited_at,
            Campaign.status,
            Campaign.name,
        )
        .join(AdAccount, Campaign.account_id == AdAccount.id)
        .join(Client),
    )
    campaigns["daily_budget"] = campaigns["daily_budget"].astype(float)
    campaigns["bid"] = campaigns["bid"].astype(float)
    accounts = _frame(
        engine,
        select(
            AdAccount.external_id.label("account"),
            Client.slug.label("client"),
            AdAccount.status,
            AdAccount.paused_by_client_at,
            AdAccount.time_zone,
            AdAccount.platform,
            Client.market,
        ).join(Client),
    )
    clients = _frame(
        engine,
        select(
            Client.slug.label("client"),
            Client.name,
            Client.market,
            Client.tier,
            Client.industry,
            Client.currency,
            Client.time_zone,
            Client.cpa_min,
            Client.cpa_max,
            Client.target_roas,
            Client.monthly_budget,
            Client.cooperation_start,
            Client.owner_am_id,
            Client.team_lead_id,
            Client.director_id,
        ),
    )
    for column in ("cpa_min", "cpa_max", "monthly_budget"):
        clients[column] = clients[column].astype(float)
    return Agency(summary, engine, metrics, campaigns, accounts.set_index("account"), clients.set_index("client"))


@pytest.fixture(scope="module")
def agency(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agency]:
    """The small demo agency, generated once into SQLite (the determinism test shows PostgreSQL holds the same)."""
    engine = _fresh_sqlite(sqlite_template, tmp_path_factory.mktemp("demo") / "demo.db")
    yield load(engine, generate_agency(engine, as_of=AS_OF, **SMALL))
    engine.dispose()


def _days(a: Agency, rows: pd.DataFrame, first: dt.date, last: dt.date) -> pd.DataFrame:
    return rows[(rows["day"] >= first) & (rows["day"] <= last)]


def _daily(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.groupby("day")[["impressions", "clicks", "spend", "conversions"]].sum()


def _same_weekday_mean(series: pd.Series, day: dt.date) -> float:
    return float(series.reindex([day - dt.timedelta(days=7 * k) for k in range(1, 5)]).fillna(0).mean())


def _projection(a: Agency, slug: str) -> float:
    d = a.summary.last_day
    rows = a.metrics[a.metrics["client"] == slug]
    month = _days(a, rows, d.replace(day=1), d)["spend"].sum()
    return month / d.day * calendar.monthrange(d.year, d.month)[1] / a.clients.loc[slug, "monthly_budget"]


def _problem(a: Agency, detector: str, variant: str | None = None) -> dict[str, Any]:
    found = [p for p in a.summary.problems if p["detector"] == detector and p.get("variant") == variant]
    assert len(found) == 1, f"{detector}/{variant}: {found}"
    return found[0]


def _campaign_days(a: Agency, campaign: str) -> pd.DataFrame:
    return a.metrics[a.metrics["campaign"] == campaign].set_index("day").sort_index()


def sniff(a: Agency, slug: str) -> list[str]:
    """Loose versions of every sweep detector over one client: what a clean client must trigger none of."""
    D, hits = a.summary.last_day, []
    client = a.clients.loc[slug]
    rows = a.metrics[a.metrics["client"] == slug]
    for campaign, days in rows.groupby("campaign"):
        days = days.set_index("day").sort_index()
        last2, last7 = days.loc[D - dt.timedelta(days=1) : D], days.loc[D - dt.timedelta(days=6) : D]
        info = a.campaigns.set_index("campaign").loc[campaign]
        if ((last2["conversions"] == 0) & (last2["spend"] >= client["cpa_min"])).any():
            hits.append(f"spend_without_conversions:{campaign}")
        if last7["conversions"].sum() == 0 or last7["spend"].sum() / last7["conversions"].sum() > client["cpa_max"]:
            hits.append(f"cpa_above_band:{campaign}")
        if (last7["spend"] < 0.15 * info["daily_budget"]).any() or len(last7) < 7:
            hits.append(f"underdelivery_low_bid:{campaign}")
        if not info["geo_targeting"] or info["conversion_goal"] is None:
            hits.append(f"launch_guard:{campaign}")
        for metric in ("spend", "clicks"):
            baseline = _same_weekday_mean(days[metric], D)
            ratio = days.loc[D, metric] / baseline if D in days.index and baseline > 0 else float("inf")
            if not 0.5 <= ratio <= 2.0:
                hits.append(f"anomaly:{campaign}:{metric}")
    for account, days in rows.groupby("account"):
        daily = _daily(days)
        if daily.loc[D, "conversions"] == 0:
            hits.append(f"tracking_broken:{account}")
        trailing = daily.loc[D - dt.timedelta(days=30) : D - dt.timedelta(days=3), "spend"].mean()
        if daily.loc[D - dt.timedelta(days=2) : D, "spend"].mean() < 0.5 * trailing:
            hits.append(f"churn_signal:{account}")
        if a.accounts.loc[account, "status"].value != "active":
            hits.append(f"churn_signal:{account}:status")
    if not 0.8 <= _projection(a, slug) <= 1.2:
        hits.append("budget_pacing")
    return hits


def _fingerprint(engine: Engine) -> str:
    """A hash of every metric row and every client, keyed by external ids rather than database ids."""
    digest = hashlib.sha256()
    with Session(engine) as s:
        rows = s.execute(
            select(
                Campaign.external_id,
                DailyMetric.day,
                DailyMetric.impressions,
                DailyMetric.clicks,
                DailyMetric.spend,
                DailyMetric.conversions,
                DailyMetric.conversion_value,
            ).join(Campaign, DailyMetric.campaign_id == Campaign.id)
        ).all()
        for row in sorted(
            (r[0], r[1].isoformat(), r[2], r[3], f"{r[4]:.2f}", f"{r[5]:.2f}", f"{r[6]:.2f}") for r in rows
        ):
            digest.update(repr(row).encode())
        for row in s.execute(
            select(Client.slug, Client.name, Client.monthly_budget, Client.cpa_max).order_by(Client.slug)
        ):
            digest.update(repr((row[0], row[1], f"{row[2]:.2f}", f"{row[3]:.2f}")).encode())
    return digest.hexdigest()


def _fresh_sqlite(template: Path, path: Path) -> Engine:
    shutil.copyfile(template, path)
    return make_engine(f"sqlite:///{path}")


@pytest.mark.slow  # three demo agencies
def test_same_seed_gives_identical_rows_on_either_database_and_another_seed_differs(
    engine: Engine, sqlite_template: Path, tmp_path: Path
) -> None:
    first = generate_agency(engine, as_of=AS_OF, **SMALL)
    again, other = (
        _fresh_sqlite(sqlite_template, tmp_path / "again.db"),
        _fresh_sqlite(sqlite_template, tmp_path / "other.db"),
    )
    try:
        second = generate_agency(again, as_of=AS_OF, **SMALL)
        generate_agency(other, as_of=AS_OF, seed=8, **SMALL)
        assert second == first
        assert _fingerprint(again) == _fingerprint(engine)
        assert _fingerprint(other) != _fingerprint(engine)
    finally:
        again.dispose()
        other.dispose()


def test_refuses_a_database_with_clients_and_replaces_everything_on_request(engine: Engine) -> None:
    generate_agency(engine, as_of=AS_OF, **SMALL)
    with Session(engine) as s, s.begin():
        account = s.scalars(select(AdAccount)).first()
        s.add(
            Finding(
                client_id=account.client_id,
                account_id=account.id,
                detector="manual",
                day=D,
                severity=Severity.INFO,
                recommendation="left over",
            )
        )
    with pytest.raises(CadenceError) as refused:
        generate_agency(engine, as_of=AS_OF, **SMALL)
    assert "\n" not in str(refused.value) and "replace" in str(refused.value)

    summary = generate_agency(engine, as_of=AS_OF, seed=8, clients=5, days=60, replace=True)
    with Session(engine) as s:
        stored = {
            "staff": s.scalar(select(func.count()).select_from(Staff)),
            "clients": s.scalar(select(func.count()).select_from(Client)),
            "contacts": s.scalar(select(func.count()).select_from(Contact)),
            "accounts": s.scalar(select(func.count()).select_from(AdAccount)),
            "campaigns": s.scalar(select(func.count()).select_from(Campaign)),
            "metric_rows": s.scalar(select(func.count()).select_from(DailyMetric)),
            "key_dates": s.scalar(select(func.count()).select_from(KeyDate)),
            "notes": s.scalar(select(func.count()).select_from(OptimisationNote)),
            "interactions": s.scalar(select(func.count()).select_from(Interaction)),
            "requests": s.scalar(select(func.count()).select_from(ClientRequest)),
        }
        assert s.scalar(select(func.count()).select_from(Finding)) == 0
        assert s.scalar(select(func.min(DailyMetric.day))) == AS_OF - dt.timedelta(days=60)
    assert stored == summary.counts
    assert stored["clients"] == 5


def test_refuses_sizes_that_cannot_hold_every_problem(engine: Engine) -> None:
    with pytest.raises(CadenceError, match="at least 4 clients"):
        generate_agency(engine, as_of=AS_OF, clients=3)
    with pytest.raises(CadenceError, match="at least 42 days"):
        generate_agency(engine, as_of=AS_OF, clients=12, days=30)
    assert generate_agency(engine, as_of=AS_OF, clients=2, days=10, inject_problems=False).problems == []


def test_counts_tiers_markets_languages_and_every_detector(agency: Agency) -> None:
    summary, clients = agency.summary, agency.clients
    assert summary.counts["clients"] == 12 == len(clients)
    assert summary.counts["metric_rows"] == len(agency.metrics)
    assert {t.value for t in clients["tier"]} == {"strategic", "potential", "regular"}
    assert set(clients["market"]) == {"CN", "RU", "US", "DE", "GB", "KZ"}
    assert set(clients["currency"]) == {"CNY", "RUB", "USD", "EUR", "GBP", "KZT"}
    assert {p["detector"] for p in summary.problems} == DETECTORS
    assert len(summary.problems) == 12
    assert CONTROL_SLUG not in {p["client"] for p in summary.problems}
    assert (summary.first_day, summary.last_day) == (AS_OF - dt.timedelta(days=400), D)
    days = sorted(set(agency.metrics["day"]))
    assert (days[0], days[-1], len(days)) == (summary.first_day, D, 400)
    assert len({(d.year, d.month) for d in days}) >= 13


def test_clients_contacts_and_staff_look_like_a_real_agency(agency: Agency) -> None:
    clients = agency.clients
    assert (clients["cpa_min"] < clients["cpa_max"]).all()
    assert (clients["monthly_budget"] > 0).all() and clients["target_roas"].notna().all()
    cjk, cyrillic = re.compile(r"[\u4e00-\u9fff]"), re.compile(r"[\u0400-\u04ff]")
    for slug, client in clients.iterrows():
        assert re.fullmatch(r"[a-z0-9-]+", slug)
        if client["market"] == "CN":
            assert cjk.search(client["name"])
        if client["market"] in ("RU", "KZ"):
            assert cyrillic.search(client["name"])
        assert client["cooperation_start"] < D
    with Session(agency.engine) as s:
        staff = {m.id: m for m in s.scalars(select(Staff))}
        assert {m.role for m in staff.values()} >= {
            StaffRole.AM,
            StaffRole.OPTIMISER,
            StaffRole.TEAM_LEAD,
            StaffRole.DIRECTOR,
        }
        assert len({m.team for m in staff.values() if m.role is StaffRole.AM}) == 3
        assert all(m.email.endswith("@agency.example") for m in staff.values())
        for client in s.scalars(select(Client)):
            ladder = (staff[client.owner_am_id].role, staff[client.team_lead_id].role, staff[client.director_id].role)
            assert ladder == (StaffRole.AM, StaffRole.TEAM_LEAD, StaffRole.DIRECTOR)
            language = {"CN": Language.ZH, "RU": Language.RU, "KZ": Language.RU}.get(client.market, Language.EN)
            assert 1 <= len(client.contacts) <= 3
            assert client.contacts[0].role.value == "decision_maker"
            assert all(c.language is language and c.email.endswith(".example") for c in client.contacts)
            assert ZoneInfo(client.time_zone) and client.business_hours_start < client.business_hours_end
        channels = {c.channel.value for c in s.scalars(select(Contact))}
        assert {"email", "wechat", "telegram"} <= channels
        # Name parts make the greeting: given and family name and an honorific for all, a patronymic for most ru.
        contacts = s.scalars(select(Contact)).all()
        assert all(c.given_name and c.family_name and c.honorific for c in contacts)
        assert all(c.given_name in c.name and c.family_name in c.name for c in contacts)
        russian = [c for c in contacts if c.language is Language.RU]
        assert russian and any(c.patronymic for c in russian)
        assert [c.slug for c in s.scalars(select(Client).where(Client.is_test.is_(True)))] == [CONTROL_SLUG]


def test_campaigns_are_fully_configured_on_platforms_that_fit_the_market(agency: Agency) -> None:
    planted = {p["campaign"] for p in agency.summary.problems if p["detector"] == "launch_guard"}
    normal = agency.campaigns[~agency.campaigns["campaign"].isin(planted)]
    assert (normal["daily_budget"] > 0).all() and (normal["bid"] > 0).all()
    assert normal["geo_targeting"].map(len).gt(0).all()
    assert normal["conversion_goal"].notna().all()
    assert set(agency.campaigns["initiative"]) <= {
        "brand",
        "performance",
        "retargeting",
        "new-product-launch",
        "618",
        "double-11",
        "black-friday",
        "christmas",
        "8-march",
    }
    fits = {
        "CN": {"ocean_engine", "google_ads"},
        "RU": {"yandex_direct", "vk"},
        "KZ": {"google_ads", "meta", "yandex_direct"},
    }
    for account in agency.accounts.itertuples():
        assert account.platform.value in fits.get(account.market, {"google_ads", "meta"})
    per_client = agency.campaigns.groupby("client")["campaign"].count()
    assert (per_client >= 2).all()


def test_spend_without_conversions_holds(agency: Agency) -> None:
    problem = _problem(agency, "spend_without_conversions")
    days = _campaign_days(agency, problem["campaign"])
    cpa_max = agency.clients.loc[problem["client"], "cpa_max"]
    for day in (D - dt.timedelta(days=1), D):
        assert days.loc[day, "spend"] >= 1.5 * cpa_max
        assert days.loc[day, "conversions"] == 0
    assert (days.loc[D - dt.timedelta(days=29) : D - dt.timedelta(days=2), "conversions"] > 0).all()


def test_cpa_above_band_holds(agency: Agency) -> None:
    problem = _problem(agency, "cpa_above_band")
    last7 = _campaign_days(agency, problem["campaign"]).loc[D - dt.timedelta(days=6) : D]
    cpa_max = agency.clients.loc[problem["client"], "cpa_max"]
    assert len(last7) == 7 and (last7["conversions"] > 0).all()
    assert 1.7 * cpa_max <= last7["spend"].sum() / last7["conversions"].sum() <= 2.3 * cpa_max


def test_underdelivery_with_a_low_bid_holds(agency: Agency) -> None:
    problem = _problem(agency, "underdelivery_low_bid")
    campaigns = agency.campaigns.set_index("campaign")
    mine = campaigns.loc[problem["campaign"]]
    last7 = _campaign_days(agency, problem["campaign"]).loc[D - dt.timedelta(days=6) : D]
    assert len(last7) == 7 and (last7["spend"] < 0.15 * mine["daily_budget"]).all()
    siblings = campaigns[(campaigns["account"] == problem["account"]) & (campaigns.index != problem["campaign"])]
    assert mine["bid"] < 0.5 * siblings["bid"].median()


@pytest.mark.parametrize("variant", ["no_geo", "no_goal"])
def test_launch_guard_holds(agency: Agency, variant: str) -> None:
    problem = _problem(agency, "launch_guard", variant)
    campaign = agency.campaigns.set_index("campaign").loc[problem["campaign"]]
    assert campaign["created_on"] == D
    zone = ZoneInfo(agency.accounts.loc[problem["account"], "time_zone"])
    assert campaign["edited_at"].astimezone(zone).date() == D
    if variant == "no_geo":
        assert campaign["geo_targeting"] == [] and campaign["conversion_goal"]
    else:
        assert campaign["conversion_goal"] is None and campaign["geo_targeting"]
    days = _campaign_days(agency, problem["campaign"])
    assert list(days.index) == [D]
    assert days.loc[D, "spend"] < agency.clients.loc[problem["client"], "cpa_min"]


@pytest.mark.parametrize(("variant", "low", "high"), [("overspend", 1.3, 9.9), ("underspend", 0.0, 0.6)])
def test_budget_pacing_holds(agency: Agency, variant: str, low: float, high: float) -> None:
    problem = _problem(agency, "budget_pacing", variant)
    assert low <= _projection(agency, problem["client"]) <= high


@pytest.mark.parametrize(("variant", "low", "high"), [("spike", 2.7, 3.3), ("drop", 0.15, 0.25)])
def test_anomaly_against_the_same_weekday_holds(agency: Agency, variant: str, low: float, high: float) -> None:
    problem = _problem(agency, "anomaly", variant)
    days = _campaign_days(agency, problem["campaign"])
    for metric in ("spend", "clicks"):
        baseline = _same_weekday_mean(days[metric], D)
        assert low <= days.loc[D, metric] / baseline <= high
        before = days[metric].reindex([D - dt.timedelta(days=7 * k) for k in range(1, 5)])
        assert before.between(0.6 * baseline, 1.5 * baseline).all()


def test_tracking_broken_holds(agency: Agency) -> None:
    problem = _problem(agency, "tracking_broken")
    daily = _daily(agency.metrics[agency.metrics["account"] == problem["account"]])
    before = daily.loc[D - dt.timedelta(days=29) : D - dt.timedelta(days=2)]
    for day in (D - dt.timedelta(days=1), D):
        assert daily.loc[day, "conversions"] == 0
        assert daily.loc[day, "clicks"] >= 0.5 * before["clicks"].mean()
    assert (before["conversions"] > 0).all()


def test_churn_signals_hold(agency: Agency) -> None:
    collapse = _problem(agency, "churn_signal", "collapse")
    daily = _daily(agency.metrics[agency.metrics["account"] == collapse["account"]])
    trailing = daily.loc[D - dt.timedelta(days=30) : D - dt.timedelta(days=3), "spend"].mean()
    assert (daily.loc[D - dt.timedelta(days=2) : D, "spend"] < 0.1 * trailing).all()
    assert len(daily.loc[D - dt.timedelta(days=2) : D]) == 3

    paused = _problem(agency, "churn_signal", "paused_by_client")
    account = agency.accounts.loc[paused["account"]]
    assert account["status"].value == "paused"
    assert account["paused_by_client_at"].astimezone(ZoneInfo(account["time_zone"])).date() == D


def test_every_planted_problem_shows_on_its_own_client_and_the_control_shows_nothing(agency: Agency) -> None:
    assert sniff(agency, CONTROL_SLUG) == []
    assert 0.9 <= _projection(agency, CONTROL_SLUG) <= 1.1
    control = agency.campaigns[agency.campaigns["client"] == CONTROL_SLUG]
    assert (control["created_on"] < D - dt.timedelta(days=30)).all() and control["edited_at"].isna().all()
    for campaign in control["campaign"]:
        spend = _campaign_days(agency, campaign)["spend"]
        for offset in range(7):
            day = D - dt.timedelta(days=offset)
            assert abs(spend[day] / _same_weekday_mean(spend, day) - 1) < 0.25, (campaign, day)
    for problem in agency.summary.problems:
        hits = sniff(agency, problem["client"])
        assert any(h.startswith(problem["detector"]) for h in hits), problem


@pytest.mark.slow  # a 40-client demo agency
def test_clients_without_planted_problems_trigger_nothing_on_an_ordinary_day(
    sqlite_template: Path, tmp_path: Path
) -> None:
    engine = _fresh_sqlite(sqlite_template, tmp_path / "ordinary.db")
    try:
        ordinary = load(engine, generate_agency(engine, as_of=dt.date(2026, 9, 16), clients=40, days=60))
    finally:
        engine.dispose()
    hosts = {p["client"] for p in ordinary.summary.problems}
    normal = [slug for slug in ordinary.clients.index if slug not in hosts]
    assert len(normal) == 28
    assert {slug: sniff(ordinary, slug) for slug in normal if sniff(ordinary, slug)} == {}


def test_normal_campaigns_stay_inside_their_client_band(agency: Agency) -> None:
    planted = {p["campaign"] for p in agency.summary.problems} | {
        p["account"] for p in agency.summary.problems if p["campaign"] is None and p["detector"] != "budget_pacing"
    }
    rows = agency.metrics[~agency.metrics["campaign"].isin(planted) & ~agency.metrics["account"].isin(planted)]
    month = _days(agency, rows, D - dt.timedelta(days=29), D).groupby("client")[["spend", "conversions"]].sum()
    cpa = month["spend"] / month["conversions"]
    bands = agency.clients.loc[cpa.index]
    assert ((cpa >= bands["cpa_min"]) & (cpa <= bands["cpa_max"])).all(), cpa / bands["cpa_max"]


def test_weekly_seasonality_market_peaks_and_yearly_trends_show_in_aggregates(agency: Agency) -> None:
    # Like for like: campaigns live through the whole history, leaving out the control and the planted ones,
    # which are flat by design.
    planted = {p["campaign"] for p in agency.summary.problems} | {
        p["account"] for p in agency.summary.problems if p["campaign"] is None
    }
    campaigns = agency.campaigns
    steady = campaigns[
        (campaigns["created_on"] < agency.summary.first_day)
        & (campaigns["status"] == EntityStatus.ACTIVE)
        & (campaigns["client"] != CONTROL_SLUG)
        & ~campaigns["campaign"].isin(planted)
        & ~campaigns["account"].isin(planted)
    ]
    rows = agency.metrics[agency.metrics["campaign"].isin(steady["campaign"])].merge(
        agency.clients[["market", "industry"]], left_on="client", right_index=True
    )
    rows["weekend"] = [d.weekday() >= 5 for d in rows["day"]]

    def weekend_lift(industries: set[str]) -> float:
        daily = rows[rows["industry"].isin(industries)].groupby(["day", "weekend"])["spend"].sum().reset_index()
        means = daily.groupby("weekend")["spend"].mean()
        return means[True] / means[False]

    assert weekend_lift({"retail", "e-commerce", "fmcg", "gaming"}) > 1.05
    assert weekend_lift({"finance", "education", "auto", "healthcare", "real-estate"}) < 0.95

    cn = rows[rows["market"] == "CN"]
    singles_day = _days(agency, cn, dt.date(2026, 11, 1), dt.date(2026, 11, 11))["spend"].sum()
    before = _days(agency, cn, dt.date(2026, 10, 1), dt.date(2026, 10, 11))["spend"].sum()
    # The least seasonal industry moves about 12% over these windows; consumer ones far more.
    assert singles_day > 1.05 * before
    west = rows[rows["market"].isin(["US", "GB", "DE"])]
    cyber_week = _days(agency, west, dt.date(2025, 11, 24), dt.date(2025, 12, 1))["spend"].sum()
    early_november = _days(agency, west, dt.date(2025, 11, 3), dt.date(2025, 11, 10))["spend"].sum()
    assert cyber_week > 1.05 * early_november

    def autumn(year: int) -> pd.Series:
        return _days(agency, rows, dt.date(year, 10, 22), dt.date(year, 11, 18)).groupby("client")["spend"].sum()

    growth = (autumn(2026) / autumn(2025)).dropna()
    assert len(growth) >= 8
    assert growth.max() > 1.1 and growth.min() < 0.9


def test_service_record_is_placed_around_as_of(agency: Agency) -> None:
    summary, engine = agency.summary, agency.engine
    cases = {c["case"]: c["client"] for c in summary.service_cases}
    end_of_as_of = dt.datetime.combine(AS_OF, dt.time(23, 59), tzinfo=ZoneInfo("Asia/Shanghai"))
    with Session(engine) as s:
        slugs = dict(s.execute(select(Client.id, Client.slug)).all())
        peaks = s.scalars(select(KeyDate).where(KeyDate.kind == KeyDateKind.MARKET_PEAK)).all()
        assert {k.scope for k in peaks} == {f"market:{m}" for m in ("CN", "RU", "US", "DE", "GB", "KZ")}
        assert any(k.title == "618" and k.rule == "fixed:06-18" and "KOL" in k.note for k in peaks)
        # Every peak carries the rule its next occurrence is computed from, and sits on that rule's day.
        assert all(k.rule and market_calendar.occurrence(k.rule, k.on_date.year) == k.on_date for k in peaks)
        assert {k.title for k in peaks} >= {"双11", "8 Марта", "Черная пятница", "Black Friday / Cyber Monday"}
        own = s.scalars(select(KeyDate).where(KeyDate.client_id.is_not(None))).all()
        assert all(k.scope == slugs[k.client_id] for k in own)
        kinds = {k.kind for k in own}
        assert {KeyDateKind.BIRTHDAY, KeyDateKind.ANNIVERSARY, KeyDateKind.RENEWAL, KeyDateKind.LAUNCH} <= kinds
        assert any(k.kind is KeyDateKind.LAUNCH and AS_OF <= k.on_date <= AS_OF + dt.timedelta(days=14) for k in own)

        last_outbound = dict(
            s.execute(
                select(Client.slug, func.max(Interaction.occurred_at))
                .join(Interaction, Interaction.client_id == Client.id)
                .where(Interaction.direction == Direction.OUTBOUND)
                .group_by(Client.slug)
            ).all()
        )
        since = {slug: (end_of_as_of - at).days for slug, at in last_outbound.items()}
        assert since[cases["not_contacted"]] >= 14
        assert sorted(since.values())[-2] < 14
        assert since[CONTROL_SLUG] <= 7
        inbound = s.execute(
            select(func.max(Interaction.occurred_at))
            .join(Client)
            .where(Client.slug == cases["unresponsive"], Interaction.direction == Direction.INBOUND)
        ).scalar()
        assert 21 <= (end_of_as_of - inbound).days <= 30
        waiting = s.scalars(select(Interaction).where(Interaction.needs_reply, Interaction.replied_at.is_(None))).all()
        assert {slugs[i.client_id] for i in waiting if i.direction is Direction.INBOUND} >= {cases["needs_reply"]}

        requests = s.scalars(select(ClientRequest)).all()
        overdue = [
            r
            for r in requests
            if r.delivered_at is None
            and ((r.planned_at is None and r.plan_due_at < end_of_as_of) or r.deliver_due_at < end_of_as_of)
        ]
        assert [slugs[r.client_id] for r in overdue] == [cases["request_overdue"]]
        assert sum(r.delivered_at is None for r in requests) >= 3

        control = s.scalars(select(Client).where(Client.slug == CONTROL_SLUG)).one()
        assert not [r for r in requests if r.client_id == control.id and r.delivered_at is None]
        notes = s.scalars(select(OptimisationNote).join(Client).where(Client.market == "CN")).all()
        assert notes and all(re.search(r"[\u4e00-\u9fff]", n.action) for n in notes)
        assert any(n.day >= D - dt.timedelta(days=14) for n in s.scalars(select(OptimisationNote)))


def test_progress_reports_every_chunk_and_ends_complete(engine: Engine) -> None:
    seen: list[tuple[str, int, int]] = []
    summary = generate_agency(
        engine, as_of=AS_OF, clients=6, days=42, campaigns_per_client=100, progress=lambda *event: seen.append(event)
    )
    metrics = [e for e in seen if e[0] == "metrics"]
    campaigns = summary.counts["campaigns"]
    assert campaigns > 600
    assert [e[1] for e in metrics] == [0, *range(500, campaigns, 500), campaigns]
    assert {e[0] for e in seen} == {"agency", "metrics", "service record"}
