"""Benchmark of the daily sweep: a synthetic agency of a given size, swept end to end, figures printed.

    .venv/bin/python bench/sweep.py --clients 2000 --campaigns-per-client 50 --days 56
    .venv/bin/python bench/sweep.py --clients 20000 --database-url postgresql+psycopg://…/bench --keep
    .venv/bin/python bench/sweep.py --clients 20000 --database-url postgresql+psycopg://…/bench --reuse --dask-workers 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SAMPLE_EVERY_S = 0.1


def _generate(args: argparse.Namespace) -> None:
    from cadence.demo.write import generate_agency
    from tasks.resources import ready_engine

    started, seen = time.perf_counter(), set()

    def stage(name: str, done: int, total: int) -> None:  # each stage's start, so the time each took can be read
        if name not in seen:
            seen.add(name)
            print(f"  {time.perf_counter() - started:7.1f} s  {name}", file=sys.stderr, flush=True)

    generate_agency(ready_engine(), as_of=args.as_of, clients=args.clients, days=args.days,
                    campaigns_per_client=args.campaigns_per_client, progress=stage)


class TreeRss:
    """Peak resident memory of this process plus the children started after it was made (readers, workers).

    Sampled every SAMPLE_EVERY_S, so a peak shorter than that can be missed; ru_maxrss is this process's exact peak.
    """

    def __init__(self) -> None:
        import psutil

        self._me = psutil.Process()
        self._before = {c.pid for c in self._me.children(recursive=True)}  # Prefect's test server: not the sweep's
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        import psutil

        total = self._me.memory_info().rss
        for child in self._me.children(recursive=True):
            if child.pid not in self._before:
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass  # ended between listing and reading
        return total

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self.peak = max(self.peak, self._sample())

    def __enter__(self) -> TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _prepare(args: argparse.Namespace, engine) -> None:
    """Generate the agency (in a child process, so the peak RSS is the sweep's alone), or check the one reused."""
    from sqlalchemy import delete

    from cadence.demo.write import held_clients
    from models import Finding, OutboundMessage

    held = held_clients(engine)
    if args.reuse:
        if not held:
            sys.exit(f"--reuse: {engine.url.render_as_string()} holds no agency; make one first with --keep")
        # The sweep's own outputs go, so the run does a first morning's work (new findings, new digests).
        with engine.begin() as conn:
            conn.execute(delete(OutboundMessage).where(OutboundMessage.flow == "daily-account-sweep"))
            conn.execute(delete(Finding))
        print(f"reusing the agency of {held} clients in {engine.url.render_as_string()}", file=sys.stderr)
        return
    if held:
        sys.exit(f"{engine.url.render_as_string()} already holds {held} clients: pass --reuse, or name an empty "
                 "database")
    print(f"generating {args.clients} clients x {args.campaigns_per_client} campaigns x {args.days} days ...",
          file=sys.stderr)
    started = time.perf_counter()
    child = multiprocessing.get_context("fork").Process(target=_generate, args=(args,))
    child.start()
    child.join()
    if child.exitcode != 0:
        sys.exit(f"generation failed with exit code {child.exitcode}")
    engine.dispose()
    print(f"generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def _write_findings(engine, path: Path) -> None:
    """Every finding as one JSON line, sorted, with what identifies it and what it says (not its timestamps)."""
    import json

    from sqlalchemy import select

    from models import Finding

    with engine.connect() as conn:
        rows = conn.execute(select(Finding.client_id, Finding.account_id, Finding.subject, Finding.detector,
                                   Finding.day, Finding.severity, Finding.status, Finding.evidence,
                                   Finding.recommendation)).all()
    lines = sorted(json.dumps([*(str(v) for v in r[:7]), r.evidence, r.recommendation], sort_keys=True,
                              ensure_ascii=False, default=str) for r in rows)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--campaigns-per-client", type=int, default=50)
    parser.add_argument("--days", type=int, default=56)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 11, 25))
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--chunk-campaigns", type=int, help="default: the flow's own")
    parser.add_argument("--in-flight", type=int, help="chunks unfinished at once; default: the flow's own")
    parser.add_argument("--processes", type=int,
                        help="CADENCE_SWEEP_PROCESSES: from tasks.runners.POOL_MIN_CHUNKS chunks, run them on this "
                        "many worker processes (0: threads in the flow's process); default: the environment's")
    parser.add_argument("--dask-workers", type=int, default=0,
                        help="run the chunks on a Dask LocalCluster of this many single-threaded workers")
    parser.add_argument("--naive-sample", type=int, default=20, help="accounts swept one task each (0: skip)")
    parser.add_argument("--findings-out", type=Path,
                        help="write the day's findings here, one sorted JSON line each (to compare runs)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the generated agency (and the temporary SQLite folder) for --reuse")
    parser.add_argument("--reuse", action="store_true",
                        help="sweep the agency already in --database-url instead of generating one")
    args = parser.parse_args()
    if args.reuse and not args.database_url:
        parser.error("--reuse needs --database-url (the database a --keep run printed)")
    if args.processes is not None and args.processes < 0:
        parser.error(f"--processes must be 0 (threads) or more, got {args.processes}")
    for name in ("clients", "campaigns_per_client", "days", "chunk_campaigns", "in_flight"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1, got {value}")

    workdir = Path(tempfile.mkdtemp(prefix="cadence-bench-"))
    os.environ["CADENCE_HOME"] = str(workdir)
    os.environ["CADENCE_DATABASE_URL"] = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    if args.processes is not None:
        os.environ["CADENCE_SWEEP_PROCESSES"] = str(args.processes)
    os.environ.setdefault("PREFECT_HOME", str(workdir / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE
    from prefect.testing.utilities import prefect_test_harness
    from sqlalchemy import select

    from cadence.demo.write import clear_agency
    from flows.daily_sweep import DEFAULT_CHUNK_CAMPAIGNS, daily_account_sweep
    from models import AdAccount
    from tasks.detect.run import run_detectors
    from tasks.findings import persist_findings
    from tasks.metrics import active_client_ids, chunk_clients, load_sweep_frames, read_metric_window
    from tasks.resources import ready_engine
    from tasks.rules import WINDOW_DAYS
    from tasks.runners import POOL_MIN_CHUNKS, sweep_task_runner
    from tasks.settings import get_settings

    engine = ready_engine()
    processes = get_settings().sweep_processes
    _prepare(args, engine)
    day = args.as_of - dt.timedelta(days=1)
    chunk_campaigns = args.chunk_campaigns or DEFAULT_CHUNK_CAMPAIGNS
    worker_peaks: list[int] = []

    with prefect_test_harness(server_startup_timeout=120):
        sweep = daily_account_sweep
        cluster = None
        tree = TreeRss()
        if args.dask_workers:
            from distributed import LocalCluster

            # Started after CADENCE_DATABASE_URL is set: each worker reads its chunks' windows itself.
            cluster = LocalCluster(n_workers=args.dask_workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, host="127.0.0.1", silence_logs=40)
            sweep = daily_account_sweep.with_options(task_runner=sweep_task_runner(cluster.scheduler_address))
        with tree:
            t0 = time.perf_counter()
            result = sweep(as_of=args.as_of, notify=True, chunk_campaigns=chunk_campaigns,
                           in_flight=args.in_flight or 0)  # the same work as a morning run
            flow_s = time.perf_counter() - t0
        chunks = result["chunks"]
        if cluster is not None:
            from distributed import Client

            with Client(cluster) as client:
                worker_peaks = list(client.run(
                    lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024).values())
            cluster.close()

        if args.findings_out:
            _write_findings(engine, args.findings_out)

        # The floor, chunk by chunk as the flow holds them: the fastest read of each chunk's window (the frames
        # are loaded first, untimed, so it is a second, warm read) plus bare detection on it, one chunk at a time.
        first = day - dt.timedelta(days=WINDOW_DAYS - 1)
        read_s = bare_detect_s = 0.0
        for client_ids in chunk_clients(engine, active_client_ids(engine), chunk_campaigns):
            frames = load_sweep_frames(engine, client_ids, day)
            t0 = time.perf_counter()
            window = read_metric_window(engine, frames.campaigns[["campaign_id", "account_id", "client_id"]],
                                        first, day)
            read_s += time.perf_counter() - t0
            t0 = time.perf_counter()
            run_detectors(window, frames.campaigns, frames.accounts, frames.clients, day)
            bare_detect_s += time.perf_counter() - t0
            del frames, window
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
        naive_per_account = None
        if args.naive_sample:
            sample = [tuple(a) for a in accounts[: args.naive_sample]]
            t0 = time.perf_counter()
            naive_sweep(sample)
            naive_per_account = (time.perf_counter() - t0) / max(1, len(sample))

    campaigns = sum(c["campaigns"] for c in chunks)
    figures = {
        "metric_rows": sum(c["metric_rows"] for c in chunks),
        "campaigns": campaigns,
        "accounts": len(accounts),
        "chunks": len(chunks),
        "runner": f"dask:{args.dask_workers}" if args.dask_workers else
        f"processes:{processes}" if processes and len(chunks) >= POOL_MIN_CHUNKS else "threads",
        "in_flight": args.in_flight or ("unbounded" if args.dask_workers else "default"),
        "dask_workers": args.dask_workers,
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
        "peak_tree_rss_mb": round(tree.peak / 2**20),
        "floor_ratio": round(flow_s / floor_s, 2),
    }
    if worker_peaks:
        figures["worker_peak_rss_mb"] = " ".join(str(p) for p in sorted(worker_peaks))
    if naive_per_account is not None:
        figures["naive_s_per_account"] = round(naive_per_account, 3)
        figures["naive_ratio"] = round(naive_per_account * len(accounts) / flow_s, 1)
    for name, value in figures.items():
        print(f"{name}: {value}")

    kept = args.keep or args.reuse
    if kept:
        print(f"kept: --database-url {engine.url.render_as_string(hide_password=False)} --reuse", file=sys.stderr)
    elif args.database_url:
        with engine.begin() as conn:
            clear_agency(conn)
    engine.dispose()
    if not (kept and not args.database_url):  # the work folder holds the kept SQLite file, else only Prefect's home
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
