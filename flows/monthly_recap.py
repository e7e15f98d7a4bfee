"""Early each month: a light recap per client (HTML email + PDF with charts), conclusion first."""

from __future__ import annotations

from typing import Annotated

from prefect import flow
from prefect.runtime import flow_run

from tasks.clock import agency_today
from tasks.forms import (
    TODAY,
    AgencyDay,
    ChunkClients,
    ComposeEmails,
    DispatchNow,
    Names,
    PdfWorkers,
    day_or_today,
    form,
)
from tasks.reports.build import DEFAULT_CHUNK_CLIENTS
from tasks.reports.periodic import RECAP, make_reports


def _run_name() -> str:
    return RECAP.name(day_or_today(flow_run.parameters.get("as_of"), agency_today()))


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
    return make_reports(RECAP, as_of, list(clients or []) or None, chunk_clients, pdf_workers or None, send, dispatch)
