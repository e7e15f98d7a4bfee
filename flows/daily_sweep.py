"""Every active account, every day: detectors over all campaigns in chunks, findings, digests, artifacts."""

from __future__ import annotations

import datetime as dt

from prefect import flow
from prefect.runtime import flow_run

from tasks.clock import agency_today
from tasks.runners import sweep_task_runner
from tasks.sweep import compose_digests, plan_chunks, publish_artifacts, should_notify, sweep_chunk
from tasks.today import refresh_today

DEFAULT_CHUNK_CAMPAIGNS = 20_000


def _run_name() -> str:
    return f"sweep-{flow_run.parameters.get('as_of') or agency_today()}"


@flow(name="daily-account-sweep", flow_run_name=_run_name, task_runner=sweep_task_runner(), log_prints=True)
def daily_account_sweep(
    as_of: dt.date | None = None,
    clients: list[str] | None = None,
    chunk_campaigns: int = DEFAULT_CHUNK_CAMPAIGNS,
    notify: bool | None = None,
) -> dict:
    """Sweep the last complete day before `as_of` (default: today in the agency's zone).

    A back-fill (an earlier day) writes its findings quietly: no digest, no crisis event, unless `notify`.
    """
    today = agency_today()
    as_of = as_of or today
    day = as_of - dt.timedelta(days=1)
    loud = should_notify(as_of, today, notify)
    chunks = plan_chunks(clients, chunk_campaigns)
    futures = [sweep_chunk.submit(chunk, day, index, loud) for index, chunk in enumerate(chunks)]
    results = [future.result() for future in futures]
    digests = compose_digests(day, clients, latest=as_of >= today) if loud else {"digests": 0, "new": 0}
    publish_artifacts(day, results, [cid for chunk in chunks for cid in chunk], digests, loud)
    refresh_today(as_of)
    return {"day": day.isoformat(), "notified": loud, "chunks": results, "digests": digests}
