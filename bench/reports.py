"""Monthly recaps (HTML + PDF + charts) for a demo agency; prints clients, s_per_client, peak_rss_mb and more."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

AS_OF = dt.date(2026, 12, 2)
NOW = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--days", type=int, default=430, help="days of metrics: 430 gives every recap a YoY month")
    parser.add_argument("--chunk", type=int, default=50)
    parser.add_argument("--workers", type=int, default=None, help="PDF processes (default: every core)")
    parser.add_argument("--database-url", default=None, help="default: a SQLite file in a temporary folder")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="cadence-bench-reports-"))
    os.environ["CADENCE_HOME"] = str(home)
    os.environ["CADENCE_DATABASE_URL"] = args.database_url or f"sqlite:///{home / 'cadence.db'}"
    from cadence.demo.write import generate_agency
    from models.db import upgrade
    from tasks.reports.build import build_chunk
    from tasks.reports.periods import previous_month
    from tasks.resources import configured_engine
    from tasks.settings import get_settings

    engine = configured_engine()
    upgrade(engine)
    started = time.perf_counter()
    generate_agency(engine, as_of=AS_OF, seed=5, clients=args.clients, days=args.days, replace=True)
    print(f"generate_s: {time.perf_counter() - started:.1f}")

    period = previous_month(AS_OF)
    ids = list(range(1, args.clients + 1))
    started = time.perf_counter()
    settings = get_settings()
    results = [build_chunk(engine, settings, "recap", ids[i:i + args.chunk], period, AS_OF, pdf_workers=args.workers,
                           now=NOW)
               for i in range(0, len(ids), args.chunk)]
    wall = time.perf_counter() - started
    reports = [r for result in results for r in result["reports"]]
    pages = [r["pages"] for r in reports]
    stage = {k: sum(r["timings"][k] for r in results) for k in results[0]["timings"]}
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"clients: {args.clients}")
    print(f"reports: {len(reports)}")
    print(f"failures: {sum(len(r['failures']) for r in results)}")
    print(f"pdfs_page_checked: {sum(p is not None for p in pages)}")
    print(f"pages_max: {max(pages)}")
    print(f"compact: {sum(r['compact'] for r in reports)}")
    print(f"messages: {sum(r['new_messages'] for r in results)}")
    print(f"wall_s: {wall:.1f}")
    print(f"s_per_client: {wall / args.clients:.3f}")
    print(f"s_per_report: {wall / max(1, len(reports)):.3f}")
    for key, value in stage.items():
        print(f"{key}: {value:.1f}")
    print(f"workers: {args.workers or os.cpu_count()}")
    print(f"peak_rss_mb: {own:.0f}")
    print(f"peak_rss_worker_mb: {children:.0f}")


if __name__ == "__main__":
    main()
