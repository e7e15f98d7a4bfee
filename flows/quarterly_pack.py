"""First working day of the quarter: the strategy pack (PDF + short email) for strategic and opted-in clients."""

from __future__ import annotations

from typing import Annotated

from prefect import flow
from prefect.runtime import flow_run

from tasks.clock import agency_today
from tasks.forms import (TODAY, AgencyDay, ChunkClients, ComposeEmails, DispatchNow, Names, PdfWorkers, day_or_today,
                         form)
from tasks.messaging.edges import dispatch_outbox
from tasks.reports.build import DEFAULT_CHUNK_CLIENTS
from tasks.reports.edges import plan_report_chunks, publish_reports, report_chunk
from tasks.reports.periods import previous_quarter
from tasks.today import refresh_today


def _run_name() -> str:
    return f"pack-{previous_quarter(day_or_today(flow_run.parameters.get('as_of'), agency_today())).label}"


@flow(name="quarterly-strategy-pack", flow_run_name=_run_name, log_prints=True)
def quarterly_strategy_pack(
    as_of: Annotated[AgencyDay, form(
        "Run as on (agency date)", "YYYY-MM-DD or today (the agency's time zone); reports the last complete "
        "quarter before that day")] = TODAY,
    clients: Annotated[Names, form(
        "Clients", "client slugs (`cadence client list`); empty: strategic clients and those who asked for one; "
        "a client named here gets one whatever its tier")] = (),
    chunk_clients: ChunkClients = DEFAULT_CHUNK_CLIENTS,
    pdf_workers: PdfWorkers = 0,
    send: ComposeEmails = True,
    dispatch: DispatchNow = True,
) -> dict:
    """Pack the last complete quarter before `as_of`; named clients get one whatever their tier."""
    as_of = day_or_today(as_of, agency_today())
    clients, pdf_workers = list(clients or []) or None, pdf_workers or None
    period = previous_quarter(as_of)
    chunks = plan_report_chunks("strategy_pack", clients, chunk_clients)
    results = [report_chunk("strategy_pack", chunk, period.label, as_of, index, pdf_workers, send)
               for index, chunk in enumerate(chunks)]
    publish_reports(f"pack-{period.label.lower()}", f"Quarterly strategy pack {period.label}", results)
    dispatched = dispatch_outbox() if send and dispatch else None
    refresh_today(as_of)
    return {"period": period.label, "chunks": results, "dispatch": dispatched}
