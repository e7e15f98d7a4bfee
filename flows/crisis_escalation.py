"""A crisis: open one incident per cause, tell the crisis group, draft the four-hour document, and act on it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from prefect import flow
from prefect.runtime import flow_run

from models.base import utcnow
from tasks.clock import agency_zone
from tasks.escalation import INCIDENT_ID_HELP
from tasks.escalation_edges import (
    check_incident_action,
    incident_action_task,
    incident_clocks,
    open_incident_task,
    publish_incident_timeline,
    refresh_incident_form,
    tag_incident_tier,
)
from tasks.forms import NOW, AgencyMoment, form, local_stamp, moment_or_now
from tasks.messaging.edges import dispatch_outbox
from tasks.today import refresh_today

STAGES = Literal["next", "facts", "solution", "prevention", "closed"]


def _now() -> dt.datetime:
    return utcnow()


def _stamp() -> str:
    zone = agency_zone()
    return local_stamp(moment_or_now(flow_run.parameters.get("as_of"), _now(), zone), zone)


def _run_name() -> str:
    """A finding's crisis names its client, detector, subject and day; one by hand its client and the moment."""
    params = flow_run.parameters
    finding = params.get("finding") or {}
    if finding:
        subject = str(finding.get("subject") or "client").replace(":", "-")
        return f"crisis-client-{finding.get('client_id')}-{finding.get('detector')}-{subject}-{finding.get('day')}"
    return f"crisis-{params.get('client') or 'manual'}-{_stamp()}"


def _action_run_name() -> str:
    params = flow_run.parameters
    step = params.get("action") if params.get("action") != "advance" else f"to-{params.get('stage') or 'next'}"
    return f"incident-{params.get('incident_id')}-{step}-{_stamp()}"


@flow(name="crisis-escalation", flow_run_name=_run_name, log_prints=True)
def crisis_escalation(
    finding: Annotated[dict[str, Any], form(
        "Critical finding", "filled in by the sweep's cadence.finding.critical event; leave it empty to open "
        "an incident by hand with Client and Cause")] = {},  # noqa: B006 - never mutated
    client: Annotated[str, form("Client", "by hand: the client's slug (`cadence client list`)")] = "",
    cause: Annotated[str, form("Cause", "by hand: what went wrong, in a sentence the crisis group will read")] = "",
    as_of: Annotated[AgencyMoment, form(
        "Opened at", "now, or YYYY-MM-DD HH:MM in the agency's time zone; the golden four hours run from it")] = NOW,
    send: Annotated[bool, form(
        "Send now", "on: tell the crisis group at once; off: queue the messages for the service watch")] = True,
) -> dict[str, Any]:
    """From the sweep's critical-finding event payload, or by hand for a client with a cause."""
    as_of = moment_or_now(as_of, _now(), agency_zone())
    finding = finding or None
    # return_state: a tag the UI filters by must not hold up a crisis.
    tag_incident_tier(finding, client or None, return_state=True)
    opened = open_incident_task(as_of, finding=finding, client=client or None, cause=cause or None)
    escalations = incident_clocks(as_of)
    sent = dispatch_outbox(now=as_of) if send else {}
    publish_incident_timeline(opened["incident_id"])
    refresh_incident_form(return_state=True)
    refresh_today(as_of)
    return {**opened, "escalations": escalations, "outbox": sent}


@flow(name="incident-action", flow_run_name=_action_run_name, log_prints=True, retries=0)
def incident_action(
    incident_id: Annotated[int, form("Incident", INCIDENT_ID_HELP, gt=0)],
    by: Annotated[str, form("By", "your staff email: the owner AM, team lead or director")],
    action: Annotated[Literal["acknowledge", "advance"], form(
        "Action", "acknowledge: you have it (stops the climb up the ladder); advance: move it to its next "
        "stage (acknowledges too)")] = "acknowledge",
    stage: Annotated[STAGES, form(
        "Stage", "advance only: next, or the next stage by name (opened -> facts -> solution -> prevention -> "
        "closed); facts, solution and prevention are sent to the client at once")] = "next",
    notes: Annotated[list[str], form(
        "Notes", "what the client is told at this stage, one item per point; facts, solution and prevention "
        "need at least one")] = (),
    as_of: Annotated[AgencyMoment, form(
        "At", "now, or YYYY-MM-DD HH:MM in the agency's time zone (to record something done earlier)")] = NOW,
    send: Annotated[bool, form(
        "Send now", "on: the client's and the crisis group's messages go out at once; off: the service watch "
        "sends them")] = True,
) -> list[str]:
    """The Prefect UI's form for acknowledging an incident or moving it to its next stage."""
    as_of = moment_or_now(as_of, _now(), agency_zone())
    # Checked before anything is written: a wrong stage or number fails the run at once, naming the choices.
    to = check_incident_action(incident_id, action, stage)
    done = incident_action_task(incident_id, action, by, as_of, to, list(notes or []))
    if send:
        dispatch_outbox(now=as_of)
    publish_incident_timeline(incident_id)
    refresh_incident_form(return_state=True)
    refresh_today(as_of)
    return done
