"""Benchmark of the platform sync: N accounts x D days pulled through local platform fakes, figures printed.

    .venv/bin/python bench/sync.py --accounts 1000 --days 30 --latency-ms 150 --platforms yandex_direct

Phase 1 back-fills D days for every account (the `platform-sync` flow with `days=D`); phase 2 is a morning pull
(each account's yesterday plus the restatement window) over the same accounts, timed and projected to
--project accounts. Every pulled row is checked against the database: rows_lost must be 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _latency(args: argparse.Namespace):
    """The network's round trip, served by every fake before each answer (--latency-ms)."""
    seconds = args.latency_ms / 1000
    return (lambda: time.sleep(seconds)) if seconds > 0 else None


def yandex_fake(args: argparse.Namespace, logins: list[str], first: dt.date, last: dt.date):
    """The Yandex Direct fake with `logins` as an agency's clients, some days without impressions."""
    from cadence.demo.fakes.yandex_server import FakeCampaign, FakeClient, FakeYandexDirect, Scripted

    fake = FakeYandexDirect("y0_bench", offline_polls=args.offline_polls, retry_in=args.retry_in,
                            delay=_latency(args))
    rng = random.Random(7)
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    for n, login in enumerate(logins):
        client = FakeClient(login=login, campaigns=[FakeCampaign(n * 100 + c, f"Campaign {c}", start=first)
                                                    for c in range(args.campaigns)])
        for campaign in client.campaigns:
            for day in days:
                if rng.random() < 0.9:  # the rest are days Yandex leaves out: pulled as explicit zeros
                    impressions = rng.randint(1, 5000)
                    client.stats[(campaign.id, day)] = (impressions, impressions // 20,
                                                        Decimal(rng.randint(100, 900_000)) / 100,
                                                        Decimal(rng.randint(0, 9)), Decimal(rng.randint(0, 9000)))
        fake.add_client(client)
        if args.quota_every and n % args.quota_every == 0:
            fake.script(login, Scripted(400, 9000, retry_in=args.retry_in))
    fake.__enter__()
    return fake, {"agency": True, "base_url": fake.url}, {"token": "y0_bench"}, logins


def google_fake(args: argparse.Namespace, logins: list[str], first: dt.date, last: dt.date):
    """The Google Ads gRPC fake (TLS, OAuth token endpoint) with one manager over len(logins) client accounts."""
    from cadence.demo.fakes.google_ads_server import FakeGoogleAds, generated_agency

    agency = generated_agency(len(logins), args.campaigns, (last - first).days + 1, last, seed=7)
    fake = FakeGoogleAds(agency=agency, delay=_latency(args),
                         quota_every=args.quota_every * 2 if args.quota_every else 0)
    fake.__enter__()
    return fake, fake.settings(), fake.secrets(), [str(a.id) for a in agency.accounts if not a.manager]


def meta_fake(args: argparse.Namespace, logins: list[str], first: dt.date, last: dt.date):
    """The Meta Graph API fake (async Insights jobs) with len(logins) ad accounts of a system user."""
    from cadence.demo.fakes.meta_graph_server import FakeMetaGraph, seeded

    fake = FakeMetaGraph(delay=_latency(args))
    fake.__enter__()
    seeded(fake, len(logins), [first + dt.timedelta(days=i) for i in range((last - first).days + 1)], args.campaigns)
    ids = [f"act_{10_000_000 + a}" for a in range(len(logins))]
    return fake, {"base_url": fake.url, "poll_s": 0.05, "backoff_s": 0.5}, {"access_token": fake.token}, ids


# platform -> (args, logins, first, last) -> (started fake, connection options, secrets, account external ids)
FAKES = {"yandex_direct": yandex_fake, "google_ads": google_fake, "meta": meta_fake}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--campaigns", type=int, default=5, help="campaigns per account")
    parser.add_argument("--latency-ms", type=float, default=150.0, help="injected per request, server side")
    parser.add_argument("--offline-polls", type=int, default=1, help="202 answers after the 201 of each report")
    parser.add_argument("--retry-in", type=int, default=1, help="the fake's retryIn seconds")
    parser.add_argument("--quota-every", type=int, default=50, help="every Nth account first gets error 9000")
    parser.add_argument("--chunk", type=int, default=50, help="accounts per sync task")
    parser.add_argument("--workers", type=int, default=16, help="task threads")
    parser.add_argument("--platforms", default="yandex_direct", help=f"comma-separated: {', '.join(FAKES)}")
    parser.add_argument("--project", type=int, default=2000, help="accounts to project the morning pull to")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 11, 25))
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="cadence-bench-sync-"))
    os.environ["CADENCE_HOME"] = str(workdir)
    os.environ["CADENCE_DATABASE_URL"] = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    os.environ.setdefault("PREFECT_HOME", str(workdir / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ["PREFECT_TASK_RUNNER_THREAD_POOL_MAX_WORKERS"] = str(args.workers)

    from prefect.testing.utilities import prefect_test_harness
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from flows.platform_sync import platform_sync
    from models import AdAccount, Client, DailyMetric, PlatformConnection, Staff
    from models.enums import Platform, StaffRole
    from tasks.resources import ready_engine

    platforms = [p.strip() for p in args.platforms.split(",") if p.strip()]
    unknown = sorted(set(platforms) - set(FAKES))
    if unknown:
        sys.exit(f"no fake for {', '.join(unknown)} (have: {', '.join(FAKES)})")
    engine = ready_engine()
    last = args.as_of - dt.timedelta(days=1)
    first = last - dt.timedelta(days=args.days - 1)
    per_platform = [args.accounts // len(platforms) + (i < args.accounts % len(platforms))
                    for i in range(len(platforms))]
    fakes = []
    with Session(engine) as s, s.begin():
        am = Staff(email="am@agency.example", name="An AM", role=StaffRole.AM)
        client = Client(slug="bench", name="Bench", industry="retail", market="RU", time_zone="Europe/Moscow",
                        currency="RUB", cooperation_start=dt.date(2024, 1, 1), owner_am=am)
        for platform, count in zip(platforms, per_platform, strict=True):
            logins = [f"{platform[:2]}-client-{i:05d}" for i in range(count)]
            fake, options, secrets, logins = FAKES[platform](args, logins, first, args.as_of)
            fakes.append(fake)
            refs = {}
            for role, value in secrets.items():  # read at run time from the environment, as in production
                os.environ[f"BENCH_{platform.upper()}_{role.upper()}"] = value
                refs[role] = f"env:BENCH_{platform.upper()}_{role.upper()}"
            connection = PlatformConnection(platform=Platform(platform), label="bench", secrets=refs, options=options)
            for login in logins:
                s.add(AdAccount(client=client, platform=Platform(platform), external_id=login, name=login,
                                currency="RUB", time_zone="Europe/Moscow", created_on=first, connection=connection))
    expected = args.accounts * args.campaigns * args.days

    with prefect_test_harness(server_startup_timeout=120):
        started = time.perf_counter()
        backfill = platform_sync(as_of=args.as_of, days=args.days, chunk_accounts=args.chunk)
        backfill_s = time.perf_counter() - started
        started = time.perf_counter()
        morning = platform_sync(as_of=args.as_of + dt.timedelta(days=1), chunk_accounts=args.chunk)
        morning_s = time.perf_counter() - started
    for fake in fakes:
        fake.__exit__(None, None, None)
    with Session(engine) as s:
        stored = s.scalar(select(func.count()).select_from(DailyMetric).where(DailyMetric.day.between(first, last)))
    quota_errors = sum(getattr(f, "quota_errors", 0) for f in fakes)
    figures = {
        "accounts": args.accounts, "days": args.days, "campaigns_per_account": args.campaigns,
        "latency_ms": args.latency_ms, "platforms": ",".join(platforms),
        "synced": backfill["synced"], "failed": len(backfill["failed"]),
        "backfill_s": round(backfill_s, 1),
        "accounts_per_s": round(args.accounts / backfill_s, 1),
        "rows_per_s": round(backfill["rows"] / backfill_s),
        "rows_pulled": backfill["rows"], "rows_stored": stored,
        "rows_lost": backfill["rows_lost"] + (expected - stored),
        "quota_errors": quota_errors,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "morning_s": round(morning_s, 1), "morning_synced": morning["synced"], "morning_rows": morning["rows"],
        f"projected_morning_{args.project}_s": round(morning_s * args.project / args.accounts, 1),
    }
    for key, value in figures.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
