"""What the sweep concludes, scored against labels it cannot see: true problems and planted look-alikes.

    .venv/bin/python bench/detect_quality.py

Generates a clean demo agency (no generator problems) whose swept day is Black Friday, plants one cause per
account (true problems and look-alikes, see CAUSES), writes the labels to a manifest file outside the database,
runs the daily-account-sweep flow on a temporary Prefect API, reads the findings back from the database and
prints `name: value` lines: recall, precision, false_critical, findings_per_cause, missed. Definitions in
bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SEVERITIES = ("info", "warning", "critical")
# Black Friday 2026 is the swept day: the western clients' surge is there whatever else is planted.
AS_OF = dt.date(2026, 11, 28)
MANIFEST = "detect-quality-manifest.json"


@dataclass(frozen=True)
class Expect:
    """A finding that answers a cause: this detector on the account itself or on the labelled campaign."""

    detector: str
    subject: str = "account"  # "account", "campaign" (the labelled one) or "any" (anything in the cause's scope)
    severities: tuple[str, ...] = SEVERITIES


@dataclass(frozen=True)
class Cause:
    """One planted cause: where it is (client, account or all the client's accounts, campaign), what answers it."""

    name: str
    kind: str  # "problem" (must be found) or "lookalike" (must not alarm)
    client: str
    account: str | None  # None: every account of the client
    campaign: str | None = None
    expect: tuple[Expect, ...] = ()  # for a problem: one of these is the finding that counts
    allow: tuple[Expect, ...] = ()  # findings that are right but not required (an "as expected" info)
    critical_ok: bool = False
    note: str = ""


@dataclass(frozen=True)
class Found:
    """One finding as stored, with the external ids a label uses."""

    id: int
    client: str
    account: str
    campaign: str | None  # None for an account-level finding
    detector: str
    severity: str
    folded: int = 0  # how many findings the cause folded under it (evidence["folded"]["count"])


def _matches(e: Expect, cause: Cause, f: Found) -> bool:
    if f.detector != e.detector or f.severity not in e.severities:
        return False
    if e.subject == "account":
        return f.campaign is None
    if e.subject == "campaign":
        return f.campaign is not None and f.campaign == cause.campaign
    return True


def _in_scope(cause: Cause, f: Found) -> bool:
    return f.client == cause.client and (cause.account is None or f.account == cause.account)


@dataclass
class Score:
    recall: float
    precision: float
    false_critical: int
    findings_per_cause: float
    true_problems: int
    found_problems: int
    scoped_findings: int
    correct_findings: int
    background_findings: int
    background_critical: int
    missed: list[str] = field(default_factory=list)
    strays: list[str] = field(default_factory=list)
    criticals: list[str] = field(default_factory=list)
    background: dict[str, int] = field(default_factory=dict)


def score(causes: list[Cause], findings: list[Found]) -> Score:
    """Score the findings against the causes (see bench/README.md for the definitions)."""
    problems = [c for c in causes if c.kind == "problem"]
    hit: dict[str, int] = Counter()
    per_cause: dict[str, int] = Counter()
    correct = scoped = false_critical = background_critical = 0
    strays, criticals, background = [], [], Counter()
    for f in findings:
        mine = [c for c in causes if _in_scope(c, f)]
        if not mine:
            background[f"{f.detector}:{f.severity}"] += 1
            background_critical += f.severity == "critical"
            continue
        scoped += 1
        answers = [c for c in mine if any(_matches(e, c, f) for e in c.expect)]
        allowed = [c for c in mine if any(_matches(e, c, f) for e in c.allow)]
        for c in answers:
            hit[c.name] += 1
        for c in mine:
            per_cause[c.name] += 1
        where = f"{f.detector}@{f.account}/{f.campaign or 'account'} {f.severity}"
        if answers or allowed:
            correct += 1
        else:
            strays.append(f"{'+'.join(c.name for c in mine)}: {where}")
        if f.severity == "critical" and not any(c.critical_ok for c in answers):
            false_critical += 1
            criticals.append(f"{'+'.join(c.name for c in mine)}: {where}")
    found = [c for c in problems if hit[c.name]]
    noticed = [c for c in problems if per_cause[c.name]]
    missed = [f"{c.name} ({' or '.join(f'{e.detector}@{e.subject}' for e in c.expect)})"
              for c in problems if not hit[c.name]]
    return Score(
        recall=len(found) / len(problems) if problems else 1.0,
        precision=correct / scoped if scoped else 1.0,
        false_critical=false_critical,
        # Over the true problems that drew any finding, answered or not: 13 per-campaign warnings for one
        # account-wide drop are 13 findings for one cause even when the account-level one is missing.
        findings_per_cause=(sum(per_cause[c.name] for c in noticed) / len(noticed)) if noticed else 0.0,
        true_problems=len(problems),
        found_problems=len(found),
        scoped_findings=scoped,
        correct_findings=correct,
        background_findings=sum(background.values()),
        background_critical=background_critical,
        missed=missed,
        strays=strays,
        criticals=criticals,
        background=dict(sorted(background.items())),
    )


def report(s: Score) -> list[str]:
    lines = [
        f"recall: {s.recall:.3f}",
        f"precision: {s.precision:.3f}",
        f"false_critical: {s.false_critical}",
        f"findings_per_cause: {s.findings_per_cause:.2f}",
        f"true_problems: {s.true_problems}",
        f"found_problems: {s.found_problems}",
        f"scoped_findings: {s.scoped_findings}",
        f"correct_findings: {s.correct_findings}",
        f"missed: {', '.join(s.missed) if s.missed else 'none'}",
    ]
    missed_by = Counter(m.split(" (")[1].split("@")[0] for m in s.missed)
    lines += [f"missed_{d}: {n}" for d, n in sorted(missed_by.items())]
    lines += [f"stray: {x}" for x in s.strays]
    lines += [f"false_critical_finding: {x}" for x in s.criticals]
    lines.append(f"background_findings: {s.background_findings}"
                 + (f" ({', '.join(f'{k} {v}' for k, v in s.background.items())})" if s.background else ""))
    lines.append(f"background_critical: {s.background_critical}")
    return lines


# ---------------------------------------------------------------------------------------------------------------
# Planting: the labels go to the manifest only; the database holds metrics and settings as an export would.


def _plant(engine, day: dt.date) -> list[Cause]:
    """Pick an account per cause from the clean agency and plant it; returns the labels."""
    import pandas as pd
    from sqlalchemy import delete, insert, select, update

    from models import AdAccount, Campaign, Client, DailyMetric

    with engine.connect() as conn:
        clients = pd.DataFrame(conn.execute(select(Client.id, Client.slug, Client.market, Client.cpa_max)).all(),
                               columns=["client_id", "slug", "market", "cpa_max"])
        accounts = pd.DataFrame(conn.execute(select(AdAccount.id, AdAccount.client_id, AdAccount.external_id,
                                                    AdAccount.currency)).all(),
                                columns=["account_id", "client_id", "account", "currency"])
        campaigns = pd.DataFrame(conn.execute(select(Campaign.id, Campaign.account_id, Campaign.external_id,
                                                     Campaign.status)).all(),
                                 columns=["campaign_id", "account_id", "campaign", "status"])
        first = day - dt.timedelta(days=27)
        metrics = pd.DataFrame(conn.execute(
            select(DailyMetric.campaign_id, DailyMetric.day, DailyMetric.spend, DailyMetric.conversions,
                   DailyMetric.clicks)
            .where(DailyMetric.day >= first, DailyMetric.day <= day)).all(),
            columns=["campaign_id", "day", "spend", "conversions", "clicks"])
    for col in ("spend", "conversions", "clicks"):
        metrics[col] = metrics[col].astype("float64")
    clients["cpa_max"] = clients["cpa_max"].astype("float64")
    # A campaign is steady when it spent and converted on most of the last 28 days.
    per = metrics.groupby("campaign_id").agg(days=("day", "nunique"), spend=("spend", "mean"),
                                             spent_days=("spend", lambda s: int((s > 0).sum())),
                                             conv=("conversions", "mean"), clicks=("clicks", "mean"))
    camps = campaigns.merge(per, left_on="campaign_id", right_index=True).merge(accounts, on="account_id") \
        .merge(clients, on="client_id")
    camps = camps[(camps["status"].map(lambda s: getattr(s, "value", s)) == "active") & (camps["days"] >= 28)
                  & (camps["spent_days"] >= 27)]
    western = {"US", "GB", "DE"}
    quiet = camps[~camps["market"].isin(western | {"RU"})]  # no Black Friday surge on the swept day
    steady = quiet[quiet["conv"] >= 2.0]
    by_account = steady.groupby("account_id").size()
    client_spend = camps.groupby("client_id")["spend"].sum()
    used_accounts: set[int] = set()
    used_clients: set[int] = set()

    def take_account(min_campaigns: int, prefer_big: bool = False) -> pd.DataFrame:
        ok = [a for a, n in by_account.items() if n >= min_campaigns and a not in used_accounts]
        if not ok:
            raise SystemExit(f"no free account with {min_campaigns} steady campaigns: raise --clients")
        spend = steady[steady["account_id"].isin(ok)].groupby("account_id")["spend"].sum()
        chosen = int(spend.idxmax() if prefer_big else spend.index[len(spend) // 2])
        used_accounts.add(chosen)
        used_clients.add(int(steady.loc[steady["account_id"] == chosen, "client_id"].iat[0]))
        return steady[steady["account_id"] == chosen]

    causes: list[Cause] = []
    dm = DailyMetric.__table__
    d1 = day - dt.timedelta(days=1)
    with engine.begin() as conn:
        # 1. Tracking broke under every campaign of one account: conversions stop for two days, clicks go on.
        acc = take_account(5, prefer_big=True)
        conn.execute(update(dm).where(dm.c.campaign_id.in_(acc["campaign_id"].tolist()), dm.c.day.in_([d1, day]))
                     .values(conversions=0, conversion_value=0))
        causes.append(Cause("tracking_break", "problem", acc["slug"].iat[0], acc["account"].iat[0],
                            expect=(Expect("tracking_broken"),), critical_ok=True,
                            note=f"{len(acc)} campaigns, conversions 0 on {d1} and {day}, clicks unchanged"))

        # 2. An account-wide drop: every campaign at a fifth of its volume on the day.
        acc = take_account(5)
        ids = acc["campaign_id"].tolist()
        conn.execute(update(dm).where(dm.c.campaign_id.in_(ids), dm.c.day == day).values(
            impressions=dm.c.impressions / 5, clicks=dm.c.clicks / 5, spend=dm.c.spend / 5,
            conversions=dm.c.conversions / 5, conversion_value=dm.c.conversion_value / 5))
        causes.append(Cause("account_drop", "problem", acc["slug"].iat[0], acc["account"].iat[0],
                            expect=(Expect("anomaly"),), critical_ok=True,
                            note=f"{len(ids)} campaigns at 20 % of their volume on {day}"))

        # 3. Blank export rows with spend: impressions, clicks and conversions left blank, spend arrived.
        acc = take_account(3)
        c = acc.iloc[0]
        conn.execute(update(dm).where(dm.c.campaign_id == int(c["campaign_id"]), dm.c.day == day).values(
            impressions=None, clicks=None, conversions=None, conversion_value=None))
        causes.append(Cause("blank_export", "problem", c["slug"], c["account"], c["campaign"],
                            expect=(Expect("data_quality", "campaign"),),
                            note="spend arrived, impressions/clicks/conversions blank: export incomplete, not a "
                                 "spend-without-conversions"))

        # 4. A back-filled day: campaigns created after the swept day, without geo or goal, have no finding on it.
        acc = take_account(3)
        a = acc.iloc[0]
        later = day + dt.timedelta(days=2)
        edited = dt.datetime.combine(later, dt.time(3, 0), tzinfo=dt.UTC)
        new_ids = []
        for i in range(3):
            new_ids.append(conn.execute(insert(Campaign.__table__).values(
                account_id=int(a["account_id"]), external_id=f"{a['account']}-new-{i}", name=f"Spring launch {i}",
                status="active", daily_budget=100, bid=1, geo_targeting=[] if i != 1 else ["CN"],
                conversion_goal=None if i != 0 else "purchase", initiative="new-product-launch",
                created_on=later, edited_at=edited)).inserted_primary_key[0])
        conn.execute(insert(dm), [{"campaign_id": cid, "day": later + dt.timedelta(days=k), "impressions": 900,
                                   "clicks": 20, "spend": 30, "conversions": 0, "conversion_value": 0}
                                  for cid in new_ids for k in range(2)])
        causes.append(Cause("backfill_before_launch", "lookalike", a["slug"], a["account"],
                            note=f"3 campaigns created {later}, after the swept day {day}, no geo or goal"))

        # 5. A campaign that delivered every day stops: no row at all on the day.
        acc = take_account(3)
        c = acc.iloc[0]
        conn.execute(delete(dm).where(dm.c.campaign_id == int(c["campaign_id"]), dm.c.day == day))
        causes.append(Cause("stopped_no_rows", "problem", c["slug"], c["account"], c["campaign"],
                            expect=(Expect("stopped_delivering", "campaign"),),
                            note=f"delivered on each of the 27 days before {day}, no row on it"))

        # 6. An impression spike with clicks on trend (CTR collapses): bot or placement traffic.
        acc = take_account(3)
        c = acc.sort_values("clicks").iloc[-1]
        conn.execute(update(dm).where(dm.c.campaign_id == int(c["campaign_id"]), dm.c.day == day)
                     .values(impressions=dm.c.impressions * 15))
        causes.append(Cause("impression_spike", "problem", c["slug"], c["account"], c["campaign"],
                            expect=(Expect("anomaly", "campaign"),),
                            note="impressions x15 on the day, clicks, spend and conversions unchanged"))

        # 7. A small-money zero-conversion day: spend over 2x the maximum CPA but a sliver of the client's spend.
        pool = quiet[quiet["conv"] >= 1.0].copy()
        pool = pool[~pool["account_id"].isin(used_accounts) & ~pool["client_id"].isin(used_clients)]
        pool["spend_at"] = 2.2 * pool["cpa_max"]
        pool["share"] = pool["spend_at"] / pool["client_id"].map(client_spend)
        pool = pool[(pool["share"] < 0.05) & (pool["cpa_max"] > 0)].sort_values("conv")
        if not len(pool):
            raise SystemExit("no campaign for the small-money case: raise --clients")
        c = pool.iloc[0]  # the fewest conversions: a zero day is least surprising there
        used_accounts.add(int(c["account_id"]))
        conn.execute(update(dm).where(dm.c.campaign_id == int(c["campaign_id"]), dm.c.day == day)
                     .values(spend=round(float(c["spend_at"]), 2), conversions=0, conversion_value=0))
        causes.append(Cause("small_money_zero_conversions", "lookalike", c["slug"], c["account"], c["campaign"],
                            # Either reading is right at warning or below; a crisis is not.
                            allow=(Expect("spend_without_conversions", "campaign", ("info", "warning")),
                                   Expect("anomaly", "campaign", ("info", "warning"))),
                            note=f"{float(c['spend_at']):.2f} {c['currency']} with no conversion = "
                                 f"{float(c['share']):.1%} of the client's daily spend: not material"))

        # 8. Black Friday: a western client (its market's key date) surges as it did last year.
        west = camps[camps["market"].isin(western) & ~camps["client_id"].isin(used_clients)]
        if not len(west):
            raise SystemExit("no western client for the Black Friday case: raise --clients or change --seed")
        slug = west.groupby("slug")["spend"].sum().idxmax()
        causes.append(Cause("black_friday_surge", "lookalike", slug, None,
                            allow=(Expect("anomaly", "any", ("info",)),),
                            note=f"{day} is Black Friday; the generator's surge (x2 on the day) as last year"))
    return causes


def _findings(engine, day: dt.date) -> list[Found]:
    from sqlalchemy import select

    from models import AdAccount, Campaign, Client, Finding
    from models.enums import FindingStatus

    with engine.connect() as conn:
        rows = conn.execute(
            select(Finding.id, Client.slug, AdAccount.external_id, Campaign.external_id, Finding.detector,
                   Finding.severity, Finding.evidence)
            .join(Client, Client.id == Finding.client_id)
            .join(AdAccount, AdAccount.id == Finding.account_id)
            .outerjoin(Campaign, Campaign.id == Finding.campaign_id)
            .where(Finding.day == day, Finding.status != FindingStatus.RESOLVED)
            .order_by(Finding.id)).all()
    found = []
    for r in rows:
        folded = (r.evidence or {}).get("folded") if isinstance(r.evidence, dict) else None
        count = int(folded.get("count", 0)) if isinstance(folded, dict) else 0
        found.append(Found(int(r.id), r.slug, r.external_id, r[3], r.detector,
                           getattr(r.severity, "value", r.severity), count))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--campaigns-per-client", type=int, default=14)
    parser.add_argument("--days", type=int, default=400, help="history (400: last year's Black Friday included)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--workdir", type=Path, help="default: a fresh temporary folder")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cadence-detect-quality-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ["CADENCE_HOME"] = str(workdir)
    os.environ["CADENCE_DATABASE_URL"] = f"sqlite:///{workdir / 'bench.db'}"
    os.environ.setdefault("PREFECT_HOME", str(workdir / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.pop("PREFECT_API_URL", None)

    from prefect.testing.utilities import prefect_test_harness

    from cadence.demo.write import generate_agency
    from flows.daily_sweep import daily_account_sweep
    from tasks.resources import ready_engine

    day = AS_OF - dt.timedelta(days=1)
    engine = ready_engine()
    started = time.perf_counter()
    generate_agency(engine, as_of=AS_OF, seed=args.seed, clients=args.clients, days=args.days,
                    campaigns_per_client=args.campaigns_per_client, inject_problems=False)
    causes = _plant(engine, day)
    manifest = workdir / MANIFEST
    manifest.write_text(json.dumps({"day": day.isoformat(), "causes": [asdict(c) for c in causes]}, indent=2,
                                   ensure_ascii=False), encoding="utf-8")
    prepared = time.perf_counter()
    with prefect_test_harness(server_startup_timeout=120):
        result = daily_account_sweep(as_of=AS_OF)
    swept = time.perf_counter()
    if result["day"] != day.isoformat():
        raise SystemExit(f"the sweep swept {result['day']}, not {day}")
    # The labels are read back from the manifest only now, after the sweep.
    labels = json.loads(manifest.read_text(encoding="utf-8"))
    causes = [Cause(**{**c, "expect": tuple(Expect(**e) for e in c["expect"]),
                       "allow": tuple(Expect(**{**e, "severities": tuple(e["severities"])}) for e in c["allow"])})
              for c in labels["causes"]]
    for line in report(score(causes, _findings(engine, day))):
        print(line)
    print(f"day: {day.isoformat()}")
    print(f"causes: {', '.join(f'{c.name}({c.kind})' for c in causes)}")
    print(f"prepare_s: {prepared - started:.1f}")
    print(f"sweep_s: {swept - prepared:.1f}")
    print(f"manifest: {manifest}")


if __name__ == "__main__":
    main()
