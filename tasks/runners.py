"""How runs run: the sweep's task runner (threads, or Dask when the settings name a scheduler), bounded
submission, and run tags."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from prefect import Task
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from tasks.errors import CadenceError
from tasks.settings import get_settings

# Threads share the flow's process: two chunks in memory at once, one read while the other is detected.
THREAD_CHUNKS_IN_FLIGHT = 2

T = TypeVar("T")
R = TypeVar("R")


class ChunkProcessPool(ProcessPoolTaskRunner):
    """Prefect's pool of worker processes, saying how many it has: one chunk in flight per process, as more queued
    at once measured slower (bench/README.md: 94-97 s against 82-91 s for a million campaigns, ADBC's read)."""

    @property
    def processes(self) -> int:
        return int(self._max_workers)


# With CADENCE_SWEEP_PROCESSES set, from this many chunks the sweep runs them in worker processes rather than
# threads: two processes cost ~6 s to start (bench/README.md: 100,000 campaigns, 6 chunks, 17.0 s on processes
# against 11.2 s on threads). They paid while the client decoded every value of the read under the GIL (a million,
# 82-91 s against 96-109 s on threads); with the read packed by the server they no longer do on two cores (49-61 s on
# threads, 52-63 s on two processes), hence threads by default. Each chunk still holds the GIL for ~0.4 s (unpacking,
# detection), so a machine with many cores may want them again.
POOL_MIN_CHUNKS = 16


def sweep_task_runner(address: str | None = None) -> TaskRunner:
    """The flow's task runner for the sweep's and the sync's chunks: a DaskTaskRunner on `address` (default: the
    settings' dask_address, CADENCE_DASK_ADDRESS), else Prefect's thread pool (see run_chunks for the processes)."""
    # Read when the flow module is imported, i.e. in each run's own process, so no secret or
    # address is ever baked into prefect.yaml.
    address = address or get_settings().dask_address or None
    if address is None:
        return ThreadPoolTaskRunner()
    from prefect_dask import DaskTaskRunner  # an optional extra: only needed once a cluster is named

    return DaskTaskRunner(address=address)


def chunks_in_flight(requested: int | None) -> int | None:
    """How many chunks may be unfinished at once: `requested`, or when 0 (automatic) 2 on threads and no bound
    on Dask.

    On Dask the chunks run in the workers' processes, each worker one chunk per thread, so the flow's own
    process holds no frames and the cluster's scheduler is the bound.
    """
    if requested:
        if requested < 0:
            raise ValueError(f"in_flight is a number of chunks, or 0 for automatic; got {requested}")
        return requested
    return THREAD_CHUNKS_IN_FLIGHT if _on_threads() else None


def _on_threads() -> bool:
    """Whether the current flow's chunks would run on threads: Prefect's thread pool, or no flow at all."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    return context is None or isinstance(context.task_runner, ThreadPoolTaskRunner)


def chunk_pool(chunks: int) -> ChunkProcessPool | None:
    """A pool of worker processes for `chunks` chunks, when asked for and worth it: CADENCE_SWEEP_PROCESSES above 0,
    at least POOL_MIN_CHUNKS, the flow on threads (not on Dask)."""
    processes = get_settings().sweep_processes
    worth_it = processes and chunks >= POOL_MIN_CHUNKS and _on_threads()
    return ChunkProcessPool(max_workers=processes) if worth_it else None


def run_chunks(step: Task[..., R], parameters: Sequence[dict[str, Any]], in_flight: int | None) -> list[R]:
    """`step` once per chunk's parameters, the results in chunk order: a single chunk in the flow's own process,
    many on the flow's task runner (threads, or Dask), at most chunks_in_flight(in_flight) at once, or on a pool of
    worker processes when chunk_pool says so (one in flight per process unless `in_flight` says otherwise)."""
    bound = chunks_in_flight(in_flight)  # refuses a negative count whatever runs the chunks
    if len(parameters) == 1:
        return [step(**parameters[0])]
    pool = chunk_pool(len(parameters))
    if pool is not None:
        with pool:
            futures = submit_bounded(lambda _, p: pool.submit(step, p), parameters, in_flight or pool.processes)
            return [future.result() for future in futures]
    futures = submit_bounded(lambda _, p: step.submit(**p), parameters, bound)
    return [future.result() for future in futures]


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
