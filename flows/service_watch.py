"""Every 15 minutes: 1-3-7 clocks, write first, unresponsive clients, key dates, approvals, incidents, tiers, outbox."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from prefect import flow
from prefect.runtime import flow_run

from models.base import utcnow
from tasks.clock import agency_zone
from tasks.escalation_edges import incident_clocks, publish_incident_timeline
from tasks.forms import NOW, AgencyMoment, form, local_stamp, moment_or_now
from tasks.messaging.edges import dispatch_outbox, publish_awaiting
from tasks.tiering_edges import recompute_tiers_if_due
from tasks.today import refresh_today
from tasks.watch import look_again, pass_done, publish_watch_artifacts, service_clocks


def _now() -> dt.datetime:
    return utcnow().replace(second=0, microsecond=0)


def _run_name() -> str:
    """The moment watched, on the agency's clock with its offset: watch-2026-11-28T07:45+08."""
    zone = agency_zone()
    return f"watch-{local_stamp(moment_or_now(flow_run.parameters.get('as_of'), _now(), zone), zone)}"


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
    clocks, due = service_clocks(as_of)
    # Steps with nothing to do are skipped by the look the clocks' task took: a quiet pass is one task run.
    escalations = incident_clocks(as_of) if due.incidents else []
    tiers = recompute_tiers_if_due(as_of) if due.tiers else {"recomputed": 0, "changes": []}
    if due.incidents or due.tiers:
        due = look_again(as_of)
    sent = dispatch_outbox(now=as_of) if send and due.outbox else {}
    done = pass_done(clocks, escalations, tiers, sent, due)
    for incident_id in done.incidents:
        publish_incident_timeline(incident_id)
    if done.busy:
        publish_watch_artifacts(as_of, clocks, escalations, tiers, sent)
    if done.approvals:
        publish_awaiting(as_of)
    # A quiet pass stays one task run: the today view changes only when the pass did something.
    if done.busy or done.approvals:
        refresh_today(as_of)
    return {"as_of": as_of.isoformat(), **clocks, "escalations": escalations, "tiers": tiers, "outbox": sent}
