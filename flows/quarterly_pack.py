"""First working day of the quarter: the strategy pack (PDF + short email) for strategic and opted-in clients."""

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
from tasks.reports.periodic import PACK, make_reports


def _run_name() -> str:
    return PACK.name(day_or_today(flow_run.parameters.get("as_of"), agency_today()))


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
    return make_reports(PACK, as_of, list(clients or []) or None, chunk_clients, pdf_workers or None, send, dispatch)
