"""The monthly recap's and the quarterly pack's one sequence: plan chunks, build each, publish, dispatch."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tasks.messaging.edges import dispatch_outbox
from tasks.reports.edges import plan_report_chunks, publish_reports, report_chunk
from tasks.reports.periods import Period, previous_month, previous_quarter
from tasks.today import refresh_today


@dataclass(frozen=True)
class PeriodicReport:
    """A report made for the last complete period before a day: its kind, its period and its names."""

    kind: str
    period: Callable[[dt.date], Period]
    prefix: str  # of the run name and the artifact key: recap-2026-11
    heading: str

    def name(self, as_of: dt.date) -> str:
        return f"{self.prefix}-{self.period(as_of).label}"


RECAP = PeriodicReport("recap", previous_month, "recap", "Monthly recap")
PACK = PeriodicReport("strategy_pack", previous_quarter, "pack", "Quarterly strategy pack")


def make_reports(report: PeriodicReport, as_of: dt.date, clients: list[str] | None, chunk_clients: int,
                 pdf_workers: int | None, send: bool, dispatch: bool) -> dict[str, Any]:
    """Build `report` for the period before `as_of` in chunks, publish the run's artifact, then dispatch."""
    period = report.period(as_of)
    chunks = plan_report_chunks(report.kind, clients, chunk_clients)
    # Chunks run one after another: each already renders its PDFs on every core.
    results = [report_chunk(report.kind, chunk, period.label, as_of, index, pdf_workers, send)
               for index, chunk in enumerate(chunks)]
    publish_reports(report.name(as_of).lower(), f"{report.heading} {period.label}", results)
    dispatched = dispatch_outbox() if send and dispatch else None
    refresh_today(as_of)
    return {"period": period.label, "chunks": results, "dispatch": dispatched}
