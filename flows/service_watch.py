"""Every 15 minutes: 1-3-7 clocks, write first, unresponsive clients, key dates, approvals, incidents, tiers, outbox."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from models.base import utcnow
from tasks.clock import agency_zone
from tasks.escalation_edges import incident_clocks, open_incidents, publish_incident_timeline
from tasks.forms import NOW, AgencyMoment, form, local_stamp, moment_or_now
from tasks.messaging.edges import approvals_changed, dispatch_outbox, outbox_has_work, publish_awaiting
from tasks.sla import WatchResult, did_something, service_clocks, watch_markdown
from tasks.tiering_edges import recompute_tiers_if_due, tiers_due
from tasks.today import refresh_today

# The watch's period: the awaiting-approval list is published when something moved since the last pass.
PASS = dt.timedelta(minutes=15)


def _now() -> dt.datetime:
    return utcnow().replace(second=0, microsecond=0)


def _run_name() -> str:
    """The moment watched, on the agency's clock with its offset: watch-2026-11-28T07:45+08."""
    zone = agency_zone()
    return f"watch-{local_stamp(moment_or_now(flow_run.parameters.get('as_of'), _now(), zone), zone)}"


@task(name="publish-watch-artifacts", cache_policy=NO_CACHE)
def publish_watch_artifacts(as_of: dt.datetime, clocks: dict, escalations: list, tiers: dict, sent: dict) -> None:
    """The run's summary, and the tier changes when there are any, under stable keys."""
    result = WatchResult(**clocks)
    create_markdown_artifact(watch_markdown(as_of, result, escalations, tiers, sent), key="service-watch",
                             description="What the service watch found and did")
    if tiers.get("changes"):
        create_table_artifact(tiers["changes"], key="tier-changes", description="Clients whose computed tier changed")


@flow(name="service-watch", flow_run_name=_run_name, log_prints=True)
def service_watch(
    as_of: Annotated[AgencyMoment, form(
        "Watch as at", "now, or YYYY-MM-DD HH:MM (the agency's time zone unless an offset is given, "
        "e.g. 2026-11-28T07:45+08:00): every clock is judged at that moment")] = NOW,
    send: Annotated[bool, form(
        "Send", "on: dispatch the outbox at that moment (held mail whose business hours opened goes out); "
        "off: clocks and reminders only")] = True,
) -> dict:
    """Run every service clock at `as_of` (default: now, to the minute); a pass that finds nothing writes nothing.

    The outbox is dispatched at `as_of` too: business-hour holds and retry times are judged at that moment.
    """
    as_of = moment_or_now(as_of, _now(), agency_zone())
    clocks = service_clocks(as_of)
    # Steps with nothing to do are skipped by a cheap look first: a quiet pass is one task run, not four.
    escalations = incident_clocks(as_of) if open_incidents(as_of) else []
    tiers = recompute_tiers_if_due(as_of) if tiers_due(as_of) else {"recomputed": 0, "changes": []}
    sent = dispatch_outbox(now=as_of) if send and outbox_has_work(as_of) else {}
    touched = sorted({e["incident_id"] for e in escalations} | {i["incident_id"] for i in clocks["incidents"]})
    for incident_id in touched:
        publish_incident_timeline(incident_id)
    busy = did_something(WatchResult(**clocks), escalations, tiers, sent)
    if busy:
        publish_watch_artifacts(as_of, clocks, escalations, tiers, sent)
    approvals = (any(q["kind"].startswith("approval-") for q in clocks["queued"])
                 or approvals_changed(as_of, as_of - PASS))
    if approvals:
        publish_awaiting(as_of)
    # A quiet pass stays one task run: the today view changes only when the pass did something.
    if busy or approvals:
        refresh_today(as_of)
    return {"as_of": as_of.isoformat(), **clocks, "escalations": escalations, "tiers": tiers, "outbox": sent}
