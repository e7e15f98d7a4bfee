"""Every active account, every day: detectors over all campaigns in chunks, findings, digests, artifacts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from prefect import flow
from prefect.runtime import flow_run

from tasks.clock import agency_today
from tasks.forms import TODAY, AgencyDay, Names, Notify, day_or_today, form, notify_choice
from tasks.runners import run_chunks, sweep_task_runner
from tasks.sweep import compose_digests, plan_chunks, publish_artifacts, should_notify, sweep_chunk
from tasks.today import refresh_today

DEFAULT_CHUNK_CAMPAIGNS = 20_000


def _run_name() -> str:
    """The day swept (the agency's date), not the day of the run: sweep-2026-11-27 runs on the 28th."""
    return f"sweep-{day_or_today(flow_run.parameters.get('as_of'), agency_today()) - dt.timedelta(days=1)}"


@flow(name="daily-account-sweep", flow_run_name=_run_name, task_runner=sweep_task_runner(), log_prints=True)
def daily_account_sweep(
    as_of: Annotated[AgencyDay, form(
        "Run as on (agency date)", "YYYY-MM-DD or today (the agency's time zone, CADENCE_AGENCY_TIME_ZONE); "
        "the sweep covers the day before it, the last complete day: today sweeps yesterday")] = TODAY,
    clients: Annotated[Names, form(
        "Clients", "client slugs to sweep (`cadence client list`); empty: every active client")] = (),
    chunk_campaigns: Annotated[int, form(
        "Campaigns per chunk", "how many campaigns one task sweeps at once; the default suits one machine", ge=1)
    ] = DEFAULT_CHUNK_CAMPAIGNS,
    notify: Annotated[Notify, form(
        "Notify", "auto: digests and crisis events only when sweeping the latest day; yes: also for an earlier "
        "day (a back-fill); no: findings and artifacts only")] = "auto",
    in_flight: Annotated[int, form(
        "Chunks in flight", "how many chunks may be read and detected at once, each holding its metric window "
        "in memory; 0: automatic (one per worker process, 2 on threads, as many as the Dask cluster's workers "
        "take)", ge=0)] = 0,
) -> dict:
    """Sweep the last complete day before `as_of` (default: today in the agency's zone).

    A back-fill (an earlier day) writes its findings quietly: no digest, no crisis event, unless `notify`.
    One chunk runs in the flow's process; many on the flow's task runner (threads, or Dask), or on worker
    processes when CADENCE_SWEEP_PROCESSES asks for them and there are enough chunks to pay for starting them;
    at most `in_flight` unfinished at once (0: one per worker process, 2 on threads, the cluster's workers on Dask).
    """
    today = agency_today()
    as_of = day_or_today(as_of, today)
    clients = list(clients or []) or None
    day = as_of - dt.timedelta(days=1)
    loud = should_notify(as_of, today, notify_choice(notify))
    chunks = plan_chunks(clients, chunk_campaigns)
    results = run_chunks(sweep_chunk, [{"client_ids": chunk, "day": day, "index": index, "notify": loud}
                                       for index, chunk in enumerate(chunks)], in_flight)
    digests = compose_digests(day, clients, latest=as_of >= today) if loud else {"digests": 0, "new": 0}
    publish_artifacts(day, results, [cid for chunk in chunks for cid in chunk], digests, loud)
    refresh_today(as_of)
    return {"day": day.isoformat(), "notified": loud, "chunks": results, "digests": digests}
