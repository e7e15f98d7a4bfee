"""Ad hoc, for managers: a client dossier for a period, as a report and an artifact, sent only when asked."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Self

from prefect import flow
from prefect.runtime import flow_run
from pydantic import BaseModel, ConfigDict, Field, model_validator

from tasks.client_check import CONTROL_SLUG
from tasks.clock import agency_today
from tasks.form_checks import check_client_slug
from tasks.forms import TODAY, AgencyDay, OptionalDay, OptionalText, day_or_today, form
from tasks.messaging.edges import dispatch_outbox
from tasks.reports.edges import client_review_task, tag_review_tier
from tasks.today import refresh_today


class ReviewRequest(BaseModel):
    """What a manager fills in on the deployment's form."""

    # Empty text boxes, never `date | None`: an optional type makes the UI's form ask for a type first.
    model_config = ConfigDict(validate_default=True)

    client: str = Field(title="Client", description="the client's slug, as `cadence client list` shows it "
                        f"(in the demo agency, e.g. {CONTROL_SLUG})", min_length=1)
    first_day: OptionalDay = Field("", title="First day",
                                   description="YYYY-MM-DD; empty: the 30 days ending on Last day")
    last_day: OptionalDay = Field("", title="Last day", description="YYYY-MM-DD; empty: the day before As of")
    detail: Literal["summary", "campaign"] = Field(
        "summary", title="Detail", description="summary: the account at a glance; campaign: adds a table per campaign")
    send_to: OptionalText = Field("", title="Send to", description="a manager's staff email: the dossier is also "
                                  "queued to them, and only to them; empty: the run's artifact and report only")

    def period(self, as_of: dt.date) -> tuple[dt.date, dt.date]:
        """The first and last day: the named ones, else the 30 days ending the day before `as_of`."""
        last = self.last_day or as_of - dt.timedelta(days=1)
        return self.first_day or last - dt.timedelta(days=29), last

    @model_validator(mode="after")
    # Self, not the class name: `prefect deploy` execs this class alone, without the __future__ import.
    def _ordered(self) -> Self:
        if self.first_day and self.last_day and self.last_day < self.first_day:
            raise ValueError("last_day is before first_day")
        return self


def _run_name() -> str:
    """The client and the period reviewed: review-acme-2026-10-29..2026-11-27."""
    params = flow_run.parameters
    request = params.get("request") or {}
    try:
        if isinstance(request, dict):
            request = ReviewRequest.model_validate(request)
        first, last = request.period(day_or_today(params.get("as_of"), agency_today()))
    except ValueError:
        return f"review-{request.get('client') if isinstance(request, dict) else 'client'}"  # the run reports why
    return f"review-{request.client}-{first}..{last}"


@flow(name="client-review", flow_run_name=_run_name, log_prints=True)
def client_review(
    request: Annotated[ReviewRequest, form("Review", "which client, which period, how much detail")],
    as_of: Annotated[AgencyDay, form(
        "As of (agency date)", "YYYY-MM-DD or today (the agency's time zone): the default period ends the day "
        "before")] = TODAY,
    dispatch: Annotated[bool, form(
        "Send the email now", "with Send to filled in: off (the default) leaves the dossier's email queued for "
        "the service watch's next pass (within 15 minutes); on sends it at once. Nothing goes to the client "
        "either way")] = False,
) -> dict:
    """Build the dossier for `request.client` over the requested period (default: the last 30 days)."""
    # A wrong slug fails here, at once and with the nearest slugs, not after the review task's retry.
    check_client_slug(request.client)
    # return_state: a tag the UI filters by must not fail the review.
    tag_review_tier(request.client, return_state=True)
    as_of = day_or_today(as_of, agency_today())
    first, last = request.period(as_of)
    result = client_review_task(request.client, first, last, request.detail, as_of, request.send_to or None)
    if result["new_messages"] and dispatch:
        dispatch_outbox()
        refresh_today(as_of)
    return result
