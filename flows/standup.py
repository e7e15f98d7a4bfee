"""Monday and Thursday mornings: an internal summary per AM, then the client updates due at this stand-up."""

from __future__ import annotations

from typing import Annotated

from prefect import flow
from prefect.runtime import flow_run

from tasks.clock import agency_today
from tasks.forms import TODAY, AgencyDay, Names, day_or_today, form
from tasks.messaging.edges import dispatch_outbox
from tasks.reports.edges import (
    compose_standup_summaries,
    plan_report_chunks,
    publish_standup,
    standup_chunk,
)
from tasks.reports.summaries import standup_counts
from tasks.today import refresh_today


def _run_name() -> str:
    return f"standup-{day_or_today(flow_run.parameters.get('as_of'), agency_today())}"


@flow(name="standup-summary", flow_run_name=_run_name, log_prints=True)
def standup_summary(
    as_of: Annotated[AgencyDay, form(
        "Stand-up day (agency date)", "YYYY-MM-DD or today (the agency's time zone): KPIs since the previous "
        "stand-up, and the client updates due that day")] = TODAY,
    clients: Annotated[Names, form(
        "Clients", "client slugs (`cadence client list`); empty: every active client")] = (),
    chunk_clients: Annotated[int, form(
        "Clients per chunk", "how many clients one task prepares; the default suits one machine", ge=1)] = 200,
    send: Annotated[bool, form(
        "Compose emails", "on: queue the AMs' summaries and the client updates (once: a re-run queues nothing "
        "twice); off: the artifact only")] = True,
    dispatch: Annotated[bool, form(
        "Dispatch", "on: send what is queued now (client mail still waits for business hours or an AM's "
        "approval); off: leave it for the service watch")] = True,
) -> dict:
    """KPIs since the previous stand-up, problems and clocks per client; updates to the clients due today."""
    as_of = day_or_today(as_of, agency_today())
    clients = list(clients or []) or None
    chunks = plan_report_chunks("standup", clients, chunk_clients)
    futures = [standup_chunk.submit(chunk, as_of, index, send) for index, chunk in enumerate(chunks)]
    results = [f.result() for f in futures]
    summaries = compose_standup_summaries(results, as_of) if send else {"summaries": 0, "new": 0}
    publish_standup(as_of, results, summaries)
    dispatched = dispatch_outbox() if send and dispatch else None
    refresh_today(as_of)
    return {"as_of": as_of.isoformat(), **standup_counts(results), "summaries": summaries, "dispatch": dispatched}
