"""How runs run: the sweep's task runner (threads, or Dask when the settings name a scheduler), bounded
submission, and run tags."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from tasks.errors import CadenceError
from tasks.settings import get_settings

# Threads share the flow's process: two chunks in memory at once, one read while the other is detected.
THREAD_CHUNKS_IN_FLIGHT = 2

T = TypeVar("T")


class ChunkProcessPool(ProcessPoolTaskRunner):
    """Prefect's pool of worker processes, saying how many it has: the sweep keeps that many chunks in flight, as
    more queued at once measured slower (bench/README.md: 94-97 s against 82-85 s for a million campaigns)."""

    @property
    def processes(self) -> int:
        return int(self._max_workers)


def sweep_task_runner(address: str | None = None, processes: int | None = None) -> TaskRunner:
    """Where the sweep's chunks run: a DaskTaskRunner on `address` (default: the settings' dask_address,
    CADENCE_DASK_ADDRESS); else a pool of `processes` worker processes (default: the settings' sweep_processes,
    CADENCE_SWEEP_PROCESSES); with 0, Prefect's thread pool in the flow's own process.

    Processes, not threads, by default: a chunk's read (ADBC, numpy) and detection (pandas) hold the GIL often
    enough that two chunks on threads barely overlap (bench/README.md: a million campaigns in 82 s on two
    processes, 109 s on threads).
    """
    # Read when the flow module is imported, i.e. in each run's own process, so no secret or
    # address is ever baked into prefect.yaml.
    settings = get_settings()
    address = address or settings.dask_address or None
    if address is not None:
        from prefect_dask import DaskTaskRunner  # an optional extra: only needed once a cluster is named

        return DaskTaskRunner(address=address)
    processes = settings.sweep_processes if processes is None else processes
    return ChunkProcessPool(max_workers=processes) if processes > 0 else ThreadPoolTaskRunner()


def sync_task_runner() -> TaskRunner:
    """Where the platform sync's chunks run: the Dask cluster the settings name, else threads (its chunks wait on
    the platforms' APIs, not on the CPU)."""
    address = get_settings().dask_address or None
    return sweep_task_runner(address, processes=0) if address is None else sweep_task_runner(address)


def chunks_in_flight(requested: int | None) -> int | None:
    """How many chunks may be unfinished at once: `requested`, or when 0 (automatic) one per worker process, 2 on
    threads, and no bound on Dask.

    On the process pool or Dask the chunks run in other processes, each holding one chunk at a time, so the flow's
    own process holds no frames; on Dask the cluster's scheduler is the bound.
    """
    if requested:
        if requested < 0:
            raise ValueError(f"in_flight is a number of chunks, or 0 for automatic; got {requested}")
        return requested
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    runner = context.task_runner if context is not None else None
    if isinstance(runner, ChunkProcessPool):
        return runner.processes
    return THREAD_CHUNKS_IN_FLIGHT if runner is None or isinstance(runner, ThreadPoolTaskRunner) else None


def submit_bounded(submit: Callable[[int, T], PrefectFuture[Any]], items: Sequence[T],
                   in_flight: int | None) -> list[PrefectFuture[Any]]:
    """`submit(index, item)` for every item, never more than `in_flight` unfinished (None: all at once).

    Returns the futures in item order; a failed one fails on its `.result()`, after the others have run.
    """
    futures: list[PrefectFuture[Any]] = []
    pending: set[PrefectFuture[Any]] = set()
    for index, item in enumerate(items):
        if in_flight is not None and len(pending) >= in_flight:
            pending.discard(next(as_completed(list(pending))))
        future = submit(index, item)
        futures.append(future)
        pending.add(future)
    return futures


def tag_current_flow_run(tag: str) -> None:
    """Add `tag` to the flow run this code runs in, keeping the tags it has (the deployment's)."""
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    with get_client(sync_client=True) as api:
        run = api.read_flow_run(flow_run.id)
        # update_flow_run replaces the tags, so send the run's own with the new one.
        api.update_flow_run(run.id, tags=sorted({*run.tags, tag}))


def transient(_task: Any, _task_run: Any, state: Any) -> bool:
    """Retry only what may succeed next time: a CadenceError (bad input, unknown row) never will."""
    try:
        state.result()
    except CadenceError:
        return False
    except Exception:  # noqa: BLE001 - anything else (a dropped connection) is worth another try
        return True
    return True
