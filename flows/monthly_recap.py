"""Early each month: a light recap per client (HTML email + PDF with charts), conclusion first."""

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
from tasks.reports.periods import previous_month
from tasks.today import refresh_today


def _run_name() -> str:
    return f"recap-{previous_month(day_or_today(flow_run.parameters.get('as_of'), agency_today())).label}"


@flow(name="monthly-recap", flow_run_name=_run_name, log_prints=True)
def monthly_recap(
    as_of: Annotated[AgencyDay, form(
        "Run as on (agency date)", "YYYY-MM-DD or today (the agency's time zone); reports the last complete "
        "month before that day")] = TODAY,
    clients: Annotated[Names, form(
        "Clients", "client slugs (`cadence client list`); empty: every active client")] = (),
    chunk_clients: ChunkClients = DEFAULT_CHUNK_CLIENTS,
    pdf_workers: PdfWorkers = 0,
    send: ComposeEmails = True,
    dispatch: DispatchNow = True,
) -> dict:
    """Recap the last complete month before `as_of` for every active client (or the named ones)."""
    as_of = day_or_today(as_of, agency_today())
    clients, pdf_workers = list(clients or []) or None, pdf_workers or None
    period = previous_month(as_of)
    chunks = plan_report_chunks("recap", clients, chunk_clients)
    # Chunks run one after another: each already renders its PDFs on every core.
    results = [report_chunk("recap", chunk, period.label, as_of, index, pdf_workers, send)
               for index, chunk in enumerate(chunks)]
    publish_reports(f"recap-{period.label.lower()}", f"Monthly recap {period.label}", results)
    dispatched = dispatch_outbox() if send and dispatch else None
    refresh_today(as_of)
    return {"period": period.label, "chunks": results, "dispatch": dispatched}
