"""Bounded submission: never more chunks unfinished than asked, every item run once, futures in order."""

from __future__ import annotations

import threading

import pytest
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from tasks.runners import THREAD_CHUNKS_IN_FLIGHT, chunks_in_flight, submit_bounded


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
