"""Benchmark of the daily sweep: a synthetic agency of a given size, swept end to end, figures printed.

    .venv/bin/python bench/sweep.py --clients 2000 --campaigns-per-client 50 --days 56
"""

from __future__ import annotations

import argparse
import multiprocessing
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _generate(args: argparse.Namespace) -> None:
    from cadence.wiring import ready_engine
    from tasks.demo import generate_agency

    generate_agency(ready_engine(), as_of=args.as_of, clients=args.clients, days=args.days,
                    campaigns_per_client=args.campaigns_per_client)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--campaigns-per-client", type=int, default=50)
    parser.add_argument("--days", type=int, default=56)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 11, 25))
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--naive-sample", type=int, default=20, help="accounts swept one task each")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="cadence-bench-"))
    os.environ["CADENCE_HOME"] = str(workdir)
    os.environ["CADENCE_DATABASE_URL"] = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    os.environ.setdefault("PREFECT_HOME", str(workdir / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE
    from prefect.testing.utilities import prefect_test_harness
    from sqlalchemy import select

    from cadence.wiring import ready_engine
    from flows.daily_sweep import daily_account_sweep
    from models import AdAccount
    from tasks.detect import run_detectors
    from tasks.findings import persist_findings
    from tasks.metrics import SWEEP_WINDOW_DAYS, active_client_ids, load_sweep_frames, read_metric_window

    engine = ready_engine()
    print(f"generating {args.clients} clients x {args.campaigns_per_client} campaigns x {args.days} days ...",
          file=sys.stderr)
    started = time.perf_counter()
    # Generated in a child process, so the peak RSS printed below is the sweep's alone.
    child = multiprocessing.get_context("fork").Process(target=_generate, args=(args,))
    child.start()
    child.join()
    if child.exitcode != 0:
        sys.exit(f"generation failed with exit code {child.exitcode}")
    engine.dispose()
    print(f"generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    day = args.as_of - dt.timedelta(days=1)

    with prefect_test_harness(server_startup_timeout=120):
        t0 = time.perf_counter()
        result = daily_account_sweep(as_of=args.as_of, notify=True)  # the same work as a morning run
        flow_s = time.perf_counter() - t0
        chunks = result["chunks"]

        # The floor: the fastest read of the same window (Arrow-native, ADBC) plus bare detection on it.
        frames = load_sweep_frames(engine, active_client_ids(engine), day)
        first = day - dt.timedelta(days=SWEEP_WINDOW_DAYS - 1)
        t0 = time.perf_counter()
        window = read_metric_window(engine, frames.campaigns[["campaign_id", "account_id", "client_id"]], first, day)
        read_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        run_detectors(window, frames.campaigns, frames.accounts, frames.clients, day)
        bare_detect_s = time.perf_counter() - t0
        floor_s = read_s + bare_detect_s

        @task(name="naive-sweep-account", cache_policy=NO_CACHE)
        def naive_account(client_id: int, account_id: int) -> int:
            f = load_sweep_frames(engine, [client_id], day)
            keep = f.metrics["account_id"] == account_id
            found = run_detectors(f.metrics[keep], f.campaigns[f.campaigns["account_id"] == account_id],
                                  f.accounts[f.accounts["account_id"] == account_id], f.clients, day)
            persist_findings(engine, [client_id], day, found)
            return len(found)

        @flow(name="naive-sweep")
        def naive_sweep(pairs: list[tuple[int, int]]) -> None:
            for client_id, account_id in pairs:
                naive_account(client_id, account_id)

        with engine.connect() as conn:
            accounts = conn.execute(select(AdAccount.client_id, AdAccount.id).order_by(AdAccount.id)).all()
        sample = [tuple(a) for a in accounts[: args.naive_sample]]
        t0 = time.perf_counter()
        naive_sweep(sample)
        naive_per_account = (time.perf_counter() - t0) / max(1, len(sample))
        naive_s = naive_per_account * len(accounts)

    campaigns = sum(c["campaigns"] for c in chunks)
    figures = {
        "metric_rows": sum(c["metric_rows"] for c in chunks),
        "campaigns": campaigns,
        "accounts": len(accounts),
        "chunks": len(chunks),
        "findings": sum(c["findings"] for c in chunks),
        "load_s": round(sum(c["load_s"] for c in chunks), 2),
        "detect_s": round(sum(c["detect_s"] for c in chunks), 2),
        "persist_s": round(sum(c["persist_s"] for c in chunks), 2),
        "flow_s": round(flow_s, 2),
        "floor_read_s": round(read_s, 2),
        "floor_detect_s": round(bare_detect_s, 2),
        "floor_s": round(floor_s, 2),
        "campaigns_per_s": round(campaigns / flow_s),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "floor_ratio": round(flow_s / floor_s, 2),
        "naive_s_per_account": round(naive_per_account, 3),
        "naive_ratio": round(naive_s / flow_s, 1),
    }
    for name, value in figures.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
