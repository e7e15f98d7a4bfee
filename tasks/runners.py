"""How runs run: the sweep's task runner (threads, or Dask when CADENCE_DASK_ADDRESS names one) and run tags."""

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


def tag_current_flow_run(tag: str) -> None:
    """Add `tag` to the flow run this code runs in, keeping the tags it has (the deployment's)."""
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    with get_client(sync_client=True) as api:
        run = api.read_flow_run(flow_run.id)
        # update_flow_run replaces the tags, so send the run's own with the new one.
        api.update_flow_run(run.id, tags=sorted({*run.tags, tag}))
