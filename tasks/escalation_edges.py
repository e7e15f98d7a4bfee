"""The Prefect steps of the crisis flow and the service watch: incidents opened, escalated, acted on and shown.

The rules are in tasks/escalation.py (no Prefect there); each step here opens a session on the configured
database, calls them, and logs or publishes what they did.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Client, Incident
from models.enums import IncidentSource, IncidentStage
from tasks.errors import CadenceError
from tasks.escalation import (
    acknowledge,
    advance,
    escalate_due,
    finding_cause,
    finding_dedupe_key,
    incident_id_help,
    next_stage,
    open_incident,
    open_incident_choices,
    timeline_markdown,
)
from tasks.forms import unknown_slug_message
from tasks.resources import configured_engine
from tasks.runners import transient
from tasks.settings import get_settings


@task(name="incident-clocks", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5, retry_condition_fn=transient)
def incident_clocks(as_of: dt.datetime) -> list[dict[str, Any]]:
    """Climb the ladder for every open incident whose timeouts have passed at `as_of`."""
    with Session(configured_engine()) as s, s.begin():
        return escalate_due(s, as_of)


@task(name="open-incident", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5, retry_condition_fn=transient)
def open_incident_task(as_of: dt.datetime, finding: dict[str, Any] | None = None, client: str | None = None,
                       cause: str | None = None, dedupe_key: str | None = None) -> dict[str, Any]:
    """From a critical finding's event payload, or by hand for a client slug with a cause."""
    with Session(configured_engine()) as s, s.begin():
        if finding is not None:
            key, finding_id = finding_dedupe_key(s, finding)
            title, facts = finding_cause(s, finding)
            opened = open_incident(s, client_id=int(finding["client_id"]), source=IncidentSource.FINDING,
                                   dedupe_key=key, cause=title, now=as_of, finding_id=finding_id, facts=facts)
        else:
            if not client or not cause:
                raise CadenceError("a manual incident needs a client and a cause")
            client_id = s.scalar(select(Client.id).where(Client.slug == client))
            if client_id is None:
                raise CadenceError(unknown_slug_message(client, s.scalars(select(Client.slug))))
            opened = open_incident(s, client_id=client_id, source=IncidentSource.MANUAL,
                                   dedupe_key=dedupe_key or f"manual:{uuid.uuid4().hex}", cause=cause, now=as_of,
                                   facts=[cause])
        return {"incident_id": opened.incident_id, "created": opened.created}


@task(name="tag-incident-tier", cache_policy=NO_CACHE)
def tag_incident_tier(finding: dict[str, Any] | None = None, client: str | None = None) -> str | None:
    """Add the client's `tier:<tier>` tag to the current flow run, so the UI can filter crises by tier."""
    from tasks.runners import tag_current_flow_run

    with Session(configured_engine()) as s:
        if finding is not None:
            row = s.get(Client, int(finding["client_id"]))
        else:
            row = s.scalar(select(Client).where(Client.slug == client)) if client else None
        if row is None:
            return None  # opening the incident reports the missing client
        tag = f"tier:{row.effective_tier.value}"
    tag_current_flow_run(tag)
    return tag


@task(name="incident-action", cache_policy=NO_CACHE)
def incident_action_task(incident_id: int, action: str, by: str, as_of: dt.datetime,
                         stage: str | None = None, notes: list[str] | None = None) -> list[str]:
    """Acknowledge or advance an incident, as `cadence incident ack|advance` does."""
    with Session(configured_engine()) as s, s.begin():
        if action == "acknowledge":
            return ["acknowledged" if acknowledge(s, incident_id, by, as_of) else "already acknowledged"]
        if action == "advance":
            if stage is None:
                raise CadenceError("advance needs a stage")
            return advance(s, incident_id, IncidentStage(stage), by, as_of, notes or [],
                           agency_name=get_settings().agency_name)
        raise CadenceError(f"unknown action {action!r}: acknowledge or advance")


@task(name="publish-incident-timeline", cache_policy=NO_CACHE)
def publish_incident_timeline(incident_id: int) -> str:
    """The incident's state and timeline as a markdown artifact under a stable key."""
    with Session(configured_engine()) as s:
        markdown = timeline_markdown(s, incident_id)
    create_markdown_artifact(markdown, key=f"incident-{incident_id}", description=f"Incident #{incident_id} timeline")
    return markdown


@task(name="check-incident-action", cache_policy=NO_CACHE)
def check_incident_action(incident_id: int, action: str, stage: str) -> str | None:
    """Before anything is written: the incident is open and the stage is its next; the resolved stage for an advance."""
    with Session(configured_engine()) as s:
        row = s.execute(select(Incident.stage, Client.slug).join(Client, Client.id == Incident.client_id)
                        .where(Incident.id == incident_id)).first()
        if row is None or (row.stage == IncidentStage.CLOSED and action == "acknowledge"):
            choices = open_incident_choices(s)
            state = "is closed" if row is not None else "does not exist"
            raise CadenceError(f"incident #{incident_id} {state}; open incidents: "
                               + (", ".join(choices) if choices else "none"))
        if action != "advance":
            return None
        return next_stage(incident_id, row.slug, row.stage, stage).value


INCIDENT_FORM = "incident-action/incident-action"


@task(name="refresh-incident-form", cache_policy=NO_CACHE)
def refresh_incident_form() -> bool:
    """Write the open incidents into the incident-action form's description; no such deployment: nothing to do."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import DeploymentUpdate
    from prefect.exceptions import ObjectNotFound

    with Session(configured_engine()) as s:
        text = incident_id_help(open_incident_choices(s))
    with get_client(sync_client=True) as client:
        try:
            deployment = client.read_deployment_by_name(INCIDENT_FORM)
        except ObjectNotFound:
            return False  # run without a deployment (a test, `cadence demo`): no form to keep current
        schema = dict(deployment.parameter_openapi_schema or {})
        field = (schema.get("properties") or {}).get("incident_id")
        if field is None or field.get("description") == text:
            return False
        field["description"] = text
        client.update_deployment(deployment.id, DeploymentUpdate(parameter_openapi_schema=schema))
    return True
