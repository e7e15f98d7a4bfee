"""The demo agency decided by a seed alone: its staff, clients and contacts, accounts and campaigns, problems
planted among them, and its service record; metrics are drawn from the plan by `cadence.demo.metrics`."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from cadence.demo.accounts import (
    ACCOUNT_PROBLEMS,
    CAMPAIGN_PROBLEMS,
    Builder,
    CampaignParams,
    economics,
    plan_accounts,
    plant,
)
from cadence.demo.markets import INDUSTRIES, MARKET_WEIGHTS, MARKETS, SERVICES, TEAMS, Market, peak_curves
from cadence.demo.names import CONTROL_NAMES, company, person, person_parts, phone, pick, unique
from cadence.demo.record import service_record
from cadence.demo.values import at_local, money
from models.enums import Channel, ContactRole, Detail, Language, StaffRole, Tier, Tone
from tasks.client_check import CONTROL_SLUG
from tasks.errors import CadenceError

MIN_DAYS_WITH_PROBLEMS = 42
MIN_CLIENTS_WITH_PROBLEMS = 4
PACING = {"overspend": 1.5, "underspend": 0.45}


@dataclass(frozen=True)
class AgencyPlan:
    """Everything the demo agency holds except its metrics, with rows referring to each other by key."""

    seed: int
    as_of: dt.date
    first_day: dt.date
    last_day: dt.date
    staff: list[dict[str, Any]]
    clients: list[dict[str, Any]]
    contacts: list[dict[str, Any]]
    accounts: list[dict[str, Any]]
    campaigns: list[dict[str, Any]]
    params: CampaignParams
    curves: np.ndarray
    key_dates: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    interactions: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    problems: list[dict[str, Any]]
    service_cases: list[dict[str, Any]]
    pacing: np.ndarray
    display_names: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n_days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def day_of_week(self) -> np.ndarray:
        return (self.first_day.weekday() + np.arange(self.n_days)) % 7

    @property
    def month_start_index(self) -> int:
        return max(0, (self.last_day.replace(day=1) - self.first_day).days)


def _validate(clients: int, days: int, campaigns_per_client: int | None, inject_problems: bool) -> None:
    if clients < 1:
        raise CadenceError(f"the demo needs at least one client, got {clients}")
    if days < 1:
        raise CadenceError(f"the demo needs at least one day of metrics, got {days}")
    if campaigns_per_client is not None and campaigns_per_client < 1:
        raise CadenceError(f"campaigns per client must be at least 1, got {campaigns_per_client}")
    if inject_problems and clients < MIN_CLIENTS_WITH_PROBLEMS:
        raise CadenceError(f"injecting every problem needs at least {MIN_CLIENTS_WITH_PROBLEMS} clients, got {clients}")
    if inject_problems and days < MIN_DAYS_WITH_PROBLEMS:
        raise CadenceError(f"injecting every problem needs at least {MIN_DAYS_WITH_PROBLEMS} days, got {days}")


def _draw_markets(rng: np.random.Generator, n: int) -> list[str]:
    codes = list(MARKET_WEIGHTS)
    weights = np.array(list(MARKET_WEIGHTS.values()))
    # One of each market first, so even a small agency speaks all three languages.
    drawn = codes[:n] + [codes[i] for i in rng.choice(len(codes), size=max(0, n - len(codes)), p=weights)]
    return [drawn[i] for i in rng.permutation(n)]


def _draw_industries(rng: np.random.Generator, n: int) -> list[str]:
    names = [INDUSTRIES[i].name for i in rng.permutation(len(INDUSTRIES))]
    drawn = names[:n] + [names[i] for i in rng.integers(0, len(names), max(0, n - len(names)))]
    return [drawn[i] for i in rng.permutation(n)]


def _draw_tiers(rng: np.random.Generator, n: int) -> list[Tier]:
    strategic, potential = round(0.2 * n), round(0.3 * n)
    tiers = [Tier.STRATEGIC] * strategic + [Tier.POTENTIAL] * potential + [Tier.REGULAR] * (n - strategic - potential)
    return [tiers[i] for i in rng.permutation(n)]


def _roles(n: int, inject_problems: bool) -> list[dict[str, Any]]:
    """Which client is the control, which pace badly, and which host each injected problem."""
    roles: list[dict[str, Any]] = [{"control": False, "pacing": None, "problems": []} for _ in range(n)]
    roles[0]["control"] = True
    if not inject_problems:
        return roles
    roles[1]["pacing"] = "overspend"
    roles[2]["pacing"] = "underspend"
    hosts = list(range(3, n))
    for i, problem in enumerate(CAMPAIGN_PROBLEMS + ACCOUNT_PROBLEMS):
        roles[hosts[i % len(hosts)]]["problems"].append(problem)
    return roles


def _plan_staff(
    rng: np.random.Generator, markets: list[str]
) -> tuple[list[dict[str, Any]], dict[str, dict[str, list[int]]]]:
    """Directors, team leads, AMs and optimisers per team, sized to the team's clients, plus one ops."""
    staff: list[dict[str, Any]] = []
    emails: dict[str, None] = {}
    teams: dict[str, dict[str, list[int]]] = {}
    directors: dict[str, int] = {}
    name_market = {"greater-china": "CN", "cis": "RU", "international": "US"}

    def hire(role: StaffRole, team: str, manager: int | None, zone: str, language: Language, market: str) -> int:
        name, local = person(market, rng)
        staff.append(
            {
                "key": len(staff),
                "email": unique(local, emails) + "@agency.example",
                "name": name,
                "role": role,
                "team": team,
                "language": language,
                "time_zone": zone,
                "manager_key": manager,
                "is_active": True,
            }
        )
        return len(staff) - 1

    def member(role: StaffRole, team: str, manager: int) -> int:
        zone, language, _ = TEAMS[team]
        market = name_market[team]
        if team == "international" and rng.random() < 0.3:
            market = "DE"
        elif team == "cis" and rng.random() < 0.25:
            market = "KZ"
        return hire(role, team, manager, zone, language, market)

    for team, (_, _, director_of) in TEAMS.items():
        n_clients = sum(1 for m in markets if MARKETS[m].team == team)
        if not n_clients:
            continue
        if director_of not in directors:
            directors[director_of] = (
                hire(StaffRole.DIRECTOR, "leadership", None, "Asia/Shanghai", Language.ZH, "CN")
                if director_of == "east"
                else hire(StaffRole.DIRECTOR, "leadership", None, "Europe/London", Language.EN, "GB")
            )
        director = directors[director_of]
        n_am = max(1, math.ceil(n_clients / 6))
        leads = [member(StaffRole.TEAM_LEAD, team, director) for _ in range(max(1, math.ceil(n_am / 8)))]
        ams = [member(StaffRole.AM, team, leads[i // 8]) for i in range(n_am)]
        optimisers = [
            member(StaffRole.OPTIMISER, team, leads[i % len(leads)]) for i in range(max(1, math.ceil(n_clients / 5)))
        ]
        teams[team] = {"director": [director], "leads": leads, "ams": ams, "optimisers": optimisers}
    hire(StaffRole.OPS, "ops", None, "Asia/Shanghai", Language.ZH, "CN")
    return staff, teams


def _plan_clients(
    rng: np.random.Generator,
    *,
    as_of: dt.date,
    first_day: dt.date,
    n: int,
    campaigns_per_client: int | None,
    inject_problems: bool,
    staff_teams: dict[str, dict[str, list[int]]],
    markets: list[str],
    industries: list[str],
    tiers: list[Tier],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Builder, list[dict[str, Any]], np.ndarray]:
    """Clients with their contacts, accounts and campaigns, and the problems planted among them."""
    last_day = as_of - dt.timedelta(days=1)
    build = Builder.start(rng, first_day, last_day)
    roles = _roles(n, inject_problems)
    slugs: dict[str, None] = {CONTROL_SLUG: None}
    clients: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    pacing = np.ones(n)
    # Spread rather than drawn: even a small agency has clients growing and shrinking year over year.
    growths = rng.permutation(np.linspace(-0.25, 0.4, n)) + rng.uniform(-0.02, 0.02, n)
    round_robin: dict[str, int] = {}
    for key in range(n):
        role, market, industry, tier = roles[key], MARKETS[markets[key]], industries[key], tiers[key]
        team = staff_teams[market.team]
        turn = round_robin.get(market.team, 0)
        round_robin[market.team] = turn + 1
        am = team["ams"][turn % len(team["ams"])]
        client = _client(rng, key, role, market, industry, tier, team, am, as_of=as_of, first_day=first_day,
                         slugs=slugs)
        econ = economics(client, rng, steady=role["control"], growth=float(growths[key]))
        client.update(
            {
                "cpa_min": Decimal(f"{econ['cpa_min']:.0f}") if econ["cpa_min"] >= 10 else money(econ["cpa_min"]),
                "cpa_max": Decimal(f"{econ['cpa_max']:.0f}") if econ["cpa_max"] >= 10 else money(econ["cpa_max"]),
                "target_roas": Decimal(f"{econ['roas'] * rng.uniform(0.8, 0.95):.2f}"),
                "monthly_budget": None,
            }
        )
        # The stored band is what detectors read; keep generation on the same edges.
        econ["cpa_min"], econ["cpa_max"] = float(client["cpa_min"]), float(client["cpa_max"])
        if role["pacing"]:
            pacing[key] = PACING[role["pacing"]] * rng.uniform(0.97, 1.03)
        elif not role["control"]:
            pacing[key] = rng.uniform(0.92, 1.06)
        clients.append(client)
        contacts.extend(_contacts(client, rng, len(contacts)))
        plan_accounts(build, client, econ, campaigns_per_client, steady=role["control"])
        for problem in role["problems"]:
            problems.append(plant(build, client, econ, problem))
        if role["pacing"]:
            main = next(a for a in build.accounts if a["client_key"] == key)
            problems.append(
                {
                    "detector": "budget_pacing",
                    "variant": role["pacing"],
                    "client": client["slug"],
                    "account": main["external_id"],
                    "campaign": None,
                }
            )
    # One explicit override, as an AM would set for a small client with a big strategic upside.
    overridden = next((c for c in clients[1:] if c["tier"] is Tier.REGULAR), None)
    if overridden is not None:
        overridden["tier_override"] = Tier.POTENTIAL
    return clients, contacts, build, problems, pacing


def _client(
    rng: np.random.Generator,
    key: int,
    role: dict[str, Any],
    market: Market,
    industry: str,
    tier: Tier,
    team: dict[str, list[int]],
    am: int,
    *,
    as_of: dt.date,
    first_day: dt.date,
    slugs: dict[str, None],
) -> dict[str, Any]:
    """One client's row: name, place, services and people; a client cast in a role started well before the metrics."""
    special = role["control"] or role["pacing"] or role["problems"]
    years = {Tier.STRATEGIC: (2.0, 6.0), Tier.POTENTIAL: (0.5, 2.5), Tier.REGULAR: (0.2, 5.0)}[tier]
    start = as_of - dt.timedelta(days=int(rng.uniform(*years) * 365))
    if special:
        start = min(start, first_day - dt.timedelta(days=30 + int(rng.integers(0, 200))))
    if role["control"]:
        name, slug = CONTROL_NAMES[market.code], CONTROL_SLUG
    else:
        name, slug = company(market.code, industry, rng, slugs)
    zone = pick(rng, market.zones)
    services = sorted(
        rng.choice(
            len(SERVICES),
            size={Tier.STRATEGIC: 4, Tier.POTENTIAL: 3, Tier.REGULAR: 1}[tier] + int(rng.integers(0, 2)),
            replace=False,
        )
    )
    client = {
        "key": key,
        "slug": slug,
        "name": name,
        "short": name if market.code != "CN" else name.removesuffix("有限公司")[2:],
        "industry": industry,
        "market": market.code,
        "time_zone": zone,
        "business_hours_start": market.hours[0],
        "business_hours_end": market.hours[1],
        "currency": market.currency,
        "tier": tier,
        "tier_override": None,
        "services": [SERVICES[int(i)] for i in services],
        "cooperation_start": start,
        "owner_am_key": am,
        "team_lead_key": team["leads"][(team["ams"].index(am)) // 8],
        "director_key": team["director"][0],
        "created_at": at_local(start, dt.time(9, 0), zone),
        # The control client is the agency's own test account: swept like any other, never written to.
        "is_test": bool(role["control"]),
    }
    if market.code in ("RU", "KZ"):
        client["short"] = name.split("«", 1)[-1].rstrip("»")
    return client


def _contacts(client: dict[str, Any], rng: np.random.Generator, first_key: int) -> list[dict[str, Any]]:
    market = MARKETS[client["market"]]
    count = {Tier.STRATEGIC: (2, 3), Tier.POTENTIAL: (2, 2), Tier.REGULAR: (1, 2)}[client["tier"]]
    emails: dict[str, None] = {}
    rows = []
    for i in range(int(rng.integers(count[0], count[1] + 1))):
        role = ContactRole.DECISION_MAKER if i == 0 else ContactRole.OPERATOR
        name, local, parts = person_parts(market.code, rng)
        if market.code == "CN":
            channel = Channel.WECHAT if role is ContactRole.OPERATOR or rng.random() < 0.5 else Channel.EMAIL
        elif market.code in ("RU", "KZ"):
            channel = (
                Channel.TELEGRAM
                if role is ContactRole.OPERATOR
                else pick(rng, (Channel.EMAIL, Channel.PHONE, Channel.TELEGRAM))
            )
        else:
            channel = pick(rng, (Channel.EMAIL, Channel.EMAIL, Channel.EMAIL, Channel.PHONE, Channel.MESSENGER))
        handle = local.replace(".", "_")
        messenger = {
            Channel.WECHAT: f"wxid_{handle}",
            Channel.TELEGRAM: f"@{handle}",
            Channel.MESSENGER: f"slack:{local}",
        }.get(channel)
        zone = client["time_zone"] if rng.random() < 0.85 else pick(rng, market.zones)
        rows.append(
            {
                "key": first_key + len(rows),
                "client_key": client["key"],
                "name": name,
                **parts,
                "email": f"{unique(local, emails)}@{client['slug']}.example",
                "role": role,
                "language": market.language,
                "tone": (Tone.FORMAL if rng.random() < 0.8 else Tone.FRIENDLY)
                if role is ContactRole.DECISION_MAKER
                else (Tone.FRIENDLY if rng.random() < 0.7 else Tone.FORMAL),
                "detail": Detail.SUMMARY if role is ContactRole.DECISION_MAKER else Detail.CAMPAIGN,
                "channel": channel,
                "time_zone": zone,
                "business_hours_start": None,
                "business_hours_end": None,
                "phone": phone(market.code, rng),
                "messenger": messenger,
                "is_active": True,
            }
        )
    return rows


def plan_agency(
    *,
    seed: int,
    as_of: dt.date,
    clients: int,
    days: int,
    campaigns_per_client: int | None = None,
    inject_problems: bool = True,
) -> AgencyPlan:
    """The whole demo agency for `as_of`, decided by `seed` alone; metrics come from `metric_chunks`."""
    _validate(clients, days, campaigns_per_client, inject_problems)
    rng = np.random.default_rng(seed)
    first_day, last_day = as_of - dt.timedelta(days=days), as_of - dt.timedelta(days=1)
    markets = _draw_markets(rng, clients)
    industries = _draw_industries(rng, clients)
    tiers = _draw_tiers(rng, clients)
    staff, teams = _plan_staff(rng, markets)
    client_rows, contacts, build, problems, pacing = _plan_clients(
        rng,
        as_of=as_of,
        first_day=first_day,
        n=clients,
        campaigns_per_client=campaigns_per_client,
        inject_problems=inject_problems,
        staff_teams=teams,
        markets=markets,
        industries=industries,
        tiers=tiers,
    )
    record = service_record(rng, as_of, client_rows, contacts, teams, build, problems)
    return AgencyPlan(
        seed=seed,
        as_of=as_of,
        first_day=first_day,
        last_day=last_day,
        staff=staff,
        clients=client_rows,
        contacts=contacts,
        accounts=build.accounts,
        campaigns=build.campaigns,
        params=build.campaign_params(),
        curves=peak_curves(first_day, days),
        pacing=pacing,
        problems=problems,
        **record,
    )
