"""A simulated month of the whole cadence: every scheduled flow run of prefect.yaml, in order, for a big agency.

Prints `name: value` lines: what ran, the invariants (every promise kept exactly once), wall time, peak RSS,
database size and a scan of the month's Prefect logs and artifacts for secrets and client email addresses.
Exit code 1 when an invariant fails.

    .venv/bin/python bench/month.py --clients 2000            # October 2026, 15-minute watch, as in prefect.yaml
    .venv/bin/python bench/month.py --clients 20 --days 3     # a quick look
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from cadence.demo.fakes.sendgrid_server import FakeSendGrid
from cadence.demo.leaks import find_leaks

KEY = "SG.month-bench-key"


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--first", type=dt.date.fromisoformat, default=dt.date(2026, 10, 1))
    parser.add_argument("--days", type=int, default=None, help="default: to the end of --first's month")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--problems", type=int, default=None, help="random problems planted (default: clients/20)")
    parser.add_argument("--watch-every", type=int, default=15, help="minutes between watch passes (15 = prefect.yaml)")
    parser.add_argument("--database-url", default=None, help="Cadence's database (default: a fresh SQLite file)")
    parser.add_argument("--prefect-postgres", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server for the Prefect server's own throwaway database ('' = SQLite)")
    parser.add_argument("--keep", action="store_true", help="keep the Cadence database and reports (path printed)")
    return parser.parse_args()


def _last_day(first: dt.date, days: int | None) -> dt.date:
    if days:
        return first + dt.timedelta(days=days - 1)
    following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


class PrefectServer:
    """`prefect server start` on a free port, its database on PostgreSQL (a throwaway one) or SQLite."""

    def __init__(self, home: Path, postgres: str) -> None:
        import socket

        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        self.home, self.admin = home, None
        home.mkdir(parents=True, exist_ok=True)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
               "PREFECT_UI_ENABLED": "false", "PREFECT_SERVER_API_HOST": "127.0.0.1"}
        env.pop("PREFECT_API_URL", None)
        if postgres:
            name = f"cadence_month_{uuid.uuid4().hex[:8]}"
            base = make_url(postgres)
            self.admin = create_engine(base.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))  # a generated identifier, not data
            self.db_name = name
            env["PREFECT_API_DATABASE_CONNECTION_URL"] = base.set(database=name).render_as_string(hide_password=False)
        self.log = (home / "server.log").open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                      "--port", str(self.port)], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.api = f"http://127.0.0.1:{self.port}/api"
        import urllib.request

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"error: the Prefect server exited; see {home / 'server.log'}")
            try:
                with urllib.request.urlopen(f"{self.api}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise SystemExit("error: the Prefect server did not answer /health within 120 s")

    def close(self) -> None:
        from sqlalchemy import text

        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
        if self.admin is not None:
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
            self.admin.dispose()


def _peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024


def main() -> int:
    args = _args()
    last = _last_day(args.first, args.days)
    work = Path(tempfile.mkdtemp(prefix="cadence-month-"))
    os.environ.update({
        "CADENCE_HOME": str(work / "cadence"),
        "CADENCE_DATABASE_URL": args.database_url or f"sqlite:///{work / 'cadence' / 'cadence.db'}",
        "CADENCE_SENDGRID_API_KEY": KEY,
        "PREFECT_HOME": str(work / "prefect-client"),
        "PREFECT_LOGGING_LEVEL": "WARNING",
    })
    server = PrefectServer(work / "prefect-server", args.prefect_postgres)
    os.environ["PREFECT_API_URL"] = server.api
    try:
        with FakeSendGrid(api_key=KEY, keep_bodies=False) as sendgrid:
            os.environ["CADENCE_SENDGRID_BASE_URL"] = sendgrid.url
            return _run(args, last, work, sendgrid)
    finally:
        server.close()
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _run(args: argparse.Namespace, last: dt.date, work: Path, sendgrid: FakeSendGrid) -> int:
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from cadence.demo import simulation as sim
    from tasks.resources import ready_engine

    engine = ready_engine()
    started = time.perf_counter()
    sim.prepare_agency(engine, args.first, clients=args.clients, seed=args.seed)
    prepared = time.perf_counter()
    problems = args.problems if args.problems is not None else max(2, args.clients // 20)
    feed = sim.PlatformFeed(engine, args.first, last, seed=args.seed, problems=problems)
    month = sim.MonthRun(engine, args.first, last, feed, seed=args.seed,
                         watch_every=dt.timedelta(minutes=args.watch_every))
    spent: dict[str, float] = defaultdict(float)
    # In-process runs need no heartbeat (it only tells a worker's server that a run is alive), and its thread's
    # join costs about a second per flow run here.
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        for moment in month.moments():
            began = time.perf_counter()
            try:
                month.step(moment)
            except Exception as exc:  # noqa: BLE001 - any failed run is recorded and run again, as a person would
                month.failures.append(f"{moment.label()}: {type(exc).__name__}: {str(exc)[:200]}")
                month.reruns[moment.deployment] += 1
                month.step(moment)
            spent[moment.deployment] += time.perf_counter() - began
        drained = month.drain()
    ran = time.perf_counter()
    invariants = sim.check_invariants(engine, args.first, last, sendgrid.deliveries, feed.problems,
                                      watch_every=month.watch_every)
    from sqlalchemy import select

    from models import Contact

    with engine.connect() as conn:
        emails = list(conn.scalars(select(Contact.email)))
    leaks = find_leaks(sim.prefect_texts(), secrets=[KEY], emails=emails)
    print(f"clients: {args.clients}")
    print(f"month: {args.first} .. {last}")
    for name, count in sorted(month.runs.items()):
        print(f"runs_{name}: {count}")
        print(f"mean_s_{name}: {spent[name] / max(1, count):.3f}")
    print(f"flow_runs: {sum(month.runs.values())}")
    print(f"reruns: {sum(month.reruns.values())}")
    for failure in month.failures[:10]:
        print(f"failure: {failure}")
    print(f"drain_passes: {drained}")
    for name, value in invariants.items():
        print(f"{name}: {value}")
    print(f"leaks: {len(leaks)}")
    for leak in leaks[:10]:
        print(f"leak: {leak}")
    print(f"prepare_s: {prepared - started:.1f}")
    print(f"month_s: {ran - prepared:.1f}")
    print(f"wall_s: {time.perf_counter() - started:.1f}")
    print(f"peak_rss_mb: {_peak_rss_mb():.0f}")
    print(f"database_mb: {sim.database_size_mb(engine):.1f}")
    broken = sim.failures(invariants)
    print(f"invariants_failed: {len(broken) + (1 if leaks else 0)}")
    return 1 if broken or leaks else 0


if __name__ == "__main__":
    sys.exit(main())
