"""The daily sweep's chunks on a two-worker Dask cluster find exactly what the thread runner finds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from e2e_support import missing
from prefect.task_runners import ThreadPoolTaskRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from cadence.demo.write import generate_agency
from flows.daily_sweep import daily_account_sweep
from models import Finding
from tasks import resources
from tasks.runners import sweep_task_runner

AS_OF = dt.date(2026, 11, 25)


@pytest.fixture
def local_cluster(db_url: str) -> Iterator[Any]:
    """Two single-threaded worker processes, started after db_url so they inherit CADENCE_DATABASE_URL."""
    try:
        import prefect_dask  # noqa: F401 - only asks whether it is installed
        from distributed import LocalCluster
    except ImportError as exc:
        missing(f"Dask scale-out not tested: {exc.name} is not installed (pip install prefect-dask)")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1", silence_logs=40) as cluster:
        yield cluster


def snapshot(engine) -> list[tuple]:
    with Session(engine) as s:
        return sorted((f.client_id, f.account_id, f.subject, f.detector, f.day, f.status.value, f.severity.value,
                       sorted(f.evidence.items()), f.recommendation) for f in s.scalars(select(Finding)))


def test_the_runner_follows_cadence_dask_address(monkeypatch):
    monkeypatch.delenv("CADENCE_DASK_ADDRESS", raising=False)
    resources.reset()
    assert isinstance(sweep_task_runner(), ThreadPoolTaskRunner)
    assert isinstance(daily_account_sweep.task_runner, ThreadPoolTaskRunner)
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:
        missing("Dask scale-out not tested: prefect-dask is not installed")
    monkeypatch.setenv("CADENCE_DASK_ADDRESS", "tcp://127.0.0.1:8786")
    resources.reset()
    runner = sweep_task_runner()
    assert isinstance(runner, DaskTaskRunner) and runner.address == "tcp://127.0.0.1:8786"


# Dask workers on other machines cannot share a SQLite file: scale-out means PostgreSQL.
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_sweep_on_a_two_worker_cluster_finds_what_threads_find(engine, local_cluster, prefect_harness):
    from distributed import Client, get_task_stream

    generate_agency(engine, as_of=AS_OF, seed=11, clients=12, days=60)
    threads = daily_account_sweep(as_of=AS_OF, chunk_campaigns=25)
    by_threads = snapshot(engine)
    assert by_threads and len(threads["chunks"]) >= 3
    with Session(engine) as s, s.begin():
        s.query(Finding).delete()

    on_dask = daily_account_sweep.with_options(task_runner=sweep_task_runner(local_cluster.scheduler_address))
    with Client(local_cluster) as client, get_task_stream(client) as stream:
        result = on_dask(as_of=AS_OF, chunk_campaigns=25)
    workers = {t["worker"] for t in stream.data}
    assert len(workers) == 2, f"chunks ran on {workers}"
    assert len(stream.data) >= len(result["chunks"])

    assert [c["campaigns"] for c in result["chunks"]] == [c["campaigns"] for c in threads["chunks"]]
    assert sum(c["critical_events"] for c in result["chunks"]) == sum(c["critical_events"] for c in threads["chunks"])
    assert snapshot(engine) == by_threads
