"""Monday and Thursday mornings: an internal summary per AM, then the client updates due at this stand-up."""

from __future__ import annotations

import datetime as dt

from prefect import flow
from prefect.runtime import flow_run

from tasks.clock import agency_today
from tasks.messaging.edges import dispatch_outbox
from tasks.reports.edges import (
    compose_standup_summaries,
    plan_report_chunks,
    publish_standup,
    standup_chunk,
)
from tasks.today import refresh_today


def _run_name() -> str:
    return f"standup-{flow_run.parameters.get('as_of') or agency_today()}"


@flow(name="standup-summary", flow_run_name=_run_name, log_prints=True)
def standup_summary(
    as_of: dt.date | None = None,
    clients: list[str] | None = None,
    chunk_clients: int = 200,
    send: bool = True,
    dispatch: bool = True,
) -> dict:
    """KPIs since the previous stand-up, problems and clocks per client; updates to the clients due today."""
    as_of = as_of or agency_today()
    chunks = plan_report_chunks("standup", clients, chunk_clients)
    futures = [standup_chunk.submit(chunk, as_of, index, send) for index, chunk in enumerate(chunks)]
    results = [f.result() for f in futures]
    rows = [row for result in results for row in result["rows"]]
    summaries = compose_standup_summaries(rows, as_of) if send else {"summaries": 0, "new": 0}
    updates = sum(r["updates"] for r in results)
    publish_standup(as_of, rows, updates, summaries)
    dispatched = dispatch_outbox() if send and dispatch else None
    refresh_today(as_of)
    return {"as_of": as_of.isoformat(), "clients": len(rows), "updates": updates,
            "new_updates": sum(r["new_messages"] for r in results), "summaries": summaries, "dispatch": dispatched}
