"""A crisis: open one incident per cause, tell the crisis group, draft the four-hour document, and act on it."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from prefect import flow
from prefect.runtime import flow_run

from models.base import utcnow
from tasks.escalation import (
    incident_action_task,
    incident_clocks,
    open_incident_task,
    publish_incident_timeline,
    tag_incident_tier,
)
from tasks.messaging.edges import dispatch_outbox
from tasks.today import refresh_today


def _now() -> dt.datetime:
    return utcnow()


def _run_name() -> str:
    params = flow_run.parameters
    finding = params.get("finding") or {}
    if finding:
        return f"crisis-{finding.get('detector')}-client-{finding.get('client_id')}-{finding.get('day')}"
    return f"crisis-{params.get('client') or 'manual'}"


def _action_run_name() -> str:
    params = flow_run.parameters
    return f"incident-{params.get('incident_id')}-{params.get('action')}"


@flow(name="crisis-escalation", flow_run_name=_run_name, log_prints=True)
def crisis_escalation(finding: dict[str, Any] | None = None, client: str | None = None, cause: str | None = None,
                      as_of: dt.datetime | None = None, send: bool = True) -> dict[str, Any]:
    """From the sweep's critical-finding event payload, or by hand for a client with a cause."""
    as_of = (as_of or _now()).astimezone(dt.timezone.utc)
    # return_state: a tag the UI filters by must not hold up a crisis.
    tag_incident_tier(finding, client, return_state=True)
    opened = open_incident_task(as_of, finding=finding, client=client, cause=cause)
    escalations = incident_clocks(as_of)
    sent = dispatch_outbox(now=as_of) if send else {}
    publish_incident_timeline(opened["incident_id"])
    refresh_today(as_of)
    return {**opened, "escalations": escalations, "outbox": sent}


@flow(name="incident-action", flow_run_name=_action_run_name, log_prints=True)
def incident_action(incident_id: int, action: Literal["acknowledge", "advance"], by: str,
                    stage: Literal["facts", "solution", "prevention", "closed"] | None = None,
                    notes: list[str] | None = None, as_of: dt.datetime | None = None,
                    send: bool = True) -> list[str]:
    """The Prefect UI's form for acknowledging an incident or moving it to its next stage."""
    as_of = (as_of or _now()).astimezone(dt.timezone.utc)
    done = incident_action_task(incident_id, action, by, as_of, stage, notes or [])
    if send:
        dispatch_outbox(now=as_of)
    publish_incident_timeline(incident_id)
    refresh_today(as_of)
    return done
