"""The AM's form in the Prefect UI: approve, edit or reject a client message awaiting approval."""

from __future__ import annotations

from typing import Annotated, Literal

from prefect import flow
from prefect.runtime import flow_run
from pydantic import BaseModel, Field

from models.base import utcnow
from tasks.clock import agency_zone
from tasks.forms import NOW, AgencyMoment, form, moment_or_now
from tasks.messaging.edges import decide_messages, dispatch_outbox, publish_awaiting
from tasks.today import refresh_today


class ApprovalDecision(BaseModel):
    """What an AM fills in on the deployment's form; the ids are in the `awaiting-approval` artifact."""

    message_id: int = Field(title="Message", description="the message's id, from the awaiting-approval artifact "
                            "or `cadence outbox list --status awaiting_approval`", gt=0)
    decision: Literal["approve", "edit", "reject"] = Field(
        "approve", title="Decision", description="approve: send as it is; edit: send with the subject/body below; "
        "reject: never send it")
    by: str = Field(title="By", description="your staff email (the client's AM, team lead or director)")
    # Plain strings, empty when unused: an optional `str | None` makes the UI's form ask for a type first.
    subject: str = Field("", title="New subject", description="edit only: replaces the subject")
    body: str = Field("", title="New body", description="edit only: the full new plain-text body")
    note: str = Field("", title="Note", description="why; required to reject, kept with the decision")
    more_message_ids: list[int] = Field(default_factory=list, title="More messages",
                                        description="approve or reject these too, with the same decision")


def _run_name() -> str:
    decision = flow_run.parameters.get("decision") or {}
    get = decision.get if isinstance(decision, dict) else lambda k: getattr(decision, k, None)
    return f"{get('decision') or 'decide'}-message-{get('message_id')}"


@flow(name="message-approval", flow_run_name=_run_name, log_prints=True, retries=0)
def message_approval(
    decision: Annotated[ApprovalDecision, form("Decision", "the message, what you decide, and who you are")],
    as_of: Annotated[AgencyMoment, form(
        "Decided at", "now, or YYYY-MM-DD HH:MM in the agency's time zone (for recording a decision made "
        "earlier)")] = NOW,
    send: Annotated[bool, form(
        "Send now", "on: an approved message goes out at once, or when the client's business hours open; "
        "off: it waits for the service watch")] = True,
) -> list[str]:
    """Record the decision on each message (all or none), send what was approved, and list what still waits."""
    as_of = moment_or_now(as_of, utcnow(), agency_zone())
    done = decide_messages([decision.message_id, *decision.more_message_ids], decision.decision, decision.by,
                           as_of, decision.subject or None, decision.body or None, decision.note or None)
    if send and decision.decision != "reject":
        dispatch_outbox(now=as_of)
    publish_awaiting(as_of)
    refresh_today(as_of)
    return done
