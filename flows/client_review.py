"""Ad hoc, for managers: a client dossier for a period, as a report and an artifact, sent only when asked."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from prefect import flow
from prefect.runtime import flow_run
from pydantic import BaseModel, Field, model_validator

from tasks.clock import agency_today
from tasks.messaging.edges import dispatch_outbox
from tasks.reports.edges import client_review_task, tag_review_tier
from tasks.today import refresh_today


class ReviewRequest(BaseModel):
    """What a manager fills in on the deployment's form."""

    client: str = Field(description="the client's slug, e.g. qingquan-shangmao")
    first_day: dt.date | None = Field(None, description="first day of the period; default: 30 days before as_of")
    last_day: dt.date | None = Field(None, description="last day of the period; default: the day before as_of")
    detail: Literal["summary", "campaign"] = Field("summary", description="campaign adds a table per campaign")
    send_to: str | None = Field(None, description="a manager's email (staff): the dossier is queued only to them")

    @model_validator(mode="after")
    def _ordered(self) -> ReviewRequest:
        if self.first_day and self.last_day and self.last_day < self.first_day:
            raise ValueError("last_day is before first_day")
        return self


def _run_name() -> str:
    request = flow_run.parameters.get("request") or {}
    client = request.get("client") if isinstance(request, dict) else getattr(request, "client", "client")
    return f"review-{client}-{flow_run.parameters.get('as_of') or agency_today()}"


@flow(name="client-review", flow_run_name=_run_name, log_prints=True)
def client_review(request: ReviewRequest, as_of: dt.date | None = None, dispatch: bool = True) -> dict:
    """Build the dossier for `request.client` over the requested period (default: the last 30 days)."""
    # return_state: a tag the UI filters by must not fail the review.
    tag_review_tier(request.client, return_state=True)
    as_of = as_of or agency_today()
    last = request.last_day or as_of - dt.timedelta(days=1)
    first = request.first_day or last - dt.timedelta(days=29)
    result = client_review_task(request.client, first, last, request.detail, as_of,
                                str(request.send_to) if request.send_to else None)
    if result["new_messages"] and dispatch:
        dispatch_outbox()
        refresh_today(as_of)
    return result
