"""The daily sweep's task runner: threads on one machine, a Dask cluster when CADENCE_DASK_ADDRESS names one."""

from __future__ import annotations

import os

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

DASK_ADDRESS_ENV = "CADENCE_DASK_ADDRESS"


def sweep_task_runner(address: str | None = None) -> TaskRunner:
    """A DaskTaskRunner on `address` (default: $CADENCE_DASK_ADDRESS), else Prefect's default thread pool."""
    # Read when the flow module is imported, i.e. in each run's own process, so no secret or
    # address is ever baked into prefect.yaml.
    address = address or os.environ.get(DASK_ADDRESS_ENV) or None
    if address is None:
        return ThreadPoolTaskRunner()
    from prefect_dask import DaskTaskRunner  # an optional extra: only needed once a cluster is named

    return DaskTaskRunner(address=address)
