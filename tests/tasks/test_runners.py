"""Bounded submission: never more chunks unfinished than asked, every item run once, futures in order."""

from __future__ import annotations

import datetime as dt
import os
import threading

import pytest
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from models.base import utcnow
from tasks import resources
from tasks.clock import simulated_time
from tasks.runners import (
    POOL_MIN_CHUNKS,
    THREAD_CHUNKS_IN_FLIGHT,
    chunks_in_flight,
    run_chunks,
    submit_bounded,
    sweep_task_runner,
)


@pytest.mark.parametrize("in_flight", [1, 2, 4])
def test_at_most_in_flight_items_run_at_once_and_each_runs_once(prefect_harness, in_flight):
    lock, running, peak, seen = threading.Lock(), [0], [0], []
    # Each group of `in_flight` items must be running together to pass: the bound is reached, not just kept.
    together = threading.Barrier(in_flight, timeout=120)

    @task(cache_policy=NO_CACHE)
    def work(index: int, item: str) -> str:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            seen.append(index)
        together.wait()
        with lock:
            running[0] -= 1
        return item.upper()

    @flow
    def bounded(items: list[str]) -> list[str]:
        futures = submit_bounded(lambda i, item: work.submit(i, item), items, in_flight)
        return [f.result() for f in futures]

    items = [f"chunk-{i}" for i in range(4 * in_flight)]
    assert bounded(items) == [i.upper() for i in items]
    assert peak[0] == in_flight
    assert sorted(seen) == list(range(len(items)))


def test_chunks_in_flight_is_two_on_threads_when_automatic_and_refuses_a_negative_count(prefect_harness):
    @flow
    def ask(requested: int) -> int | None:
        return chunks_in_flight(requested)

    assert ask(0) == THREAD_CHUNKS_IN_FLIGHT == 2
    assert ask(3) == 3
    with pytest.raises(ValueError, match="in_flight is a number of chunks, or 0 for automatic; got -1"):
        chunks_in_flight(-1)


@task(cache_policy=NO_CACHE)
def where_and_when(item: int) -> tuple[int, float]:
    """The process a task ran in, and Cadence's "now" there."""
    return os.getpid(), utcnow().timestamp()


def test_many_chunks_run_in_worker_processes_on_the_same_clock_and_a_few_on_threads(prefect_harness, monkeypatch):
    monkeypatch.delenv("CADENCE_DASK_ADDRESS", raising=False)
    monkeypatch.setenv("CADENCE_SWEEP_PROCESSES", "2")
    resources.reset()

    @flow(task_runner=sweep_task_runner())
    def chunked(items: list[int]) -> list[tuple[int, float]]:
        return run_chunks(where_and_when, [{"item": item} for item in items], 0)

    moment = dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
    with simulated_time(moment):
        many = chunked(list(range(POOL_MIN_CHUNKS)))
        few = chunked(list(range(POOL_MIN_CHUNKS - 1)))
    pids = {pid for pid, _ in many}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2, pids
    assert {pid for pid, _ in few} == {os.getpid()}, "too few chunks to pay for starting processes"
    # A simulated month's clock reaches the worker processes: "now" there is the simulated moment, not today.
    assert all(abs(at - moment.timestamp()) < 120 for _, at in many), [at - moment.timestamp() for _, at in many]

    monkeypatch.setenv("CADENCE_SWEEP_PROCESSES", "0")
    resources.reset()
    assert {pid for pid, _ in chunked(list(range(POOL_MIN_CHUNKS)))} == {os.getpid()}
