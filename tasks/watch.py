"""The service watch's own steps: the clocks with a cheap look at what else a pass must do, and its artifacts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tasks.escalation import any_open_incident
from tasks.messaging.outbox import has_work
from tasks.messaging.review import approvals_moved
from tasks.resources import configured_engine
from tasks.runners import transient
from tasks.service_clocks import run_service_clocks
from tasks.sla import WatchResult, did_something, watch_markdown
from tasks.tiering import due_for_recompute

# The watch's period: the awaiting-approval list is published when something moved since the last pass.
PASS = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class Due:
    """What the rest of a pass has to do, by a cheap look at the rows: a quiet pass does none of it."""

    incidents: bool  # an incident is open: its ladder may climb
    tiers: bool  # some client's tier was not computed this month
    outbox: bool  # a message is due to send, or a claim to recover
    approvals: bool  # a message started waiting for approval, or was decided, since the last pass


@dataclass(frozen=True)
class PassDone:
    """What a pass leaves to show: the incidents whose timeline moved, its summary, the awaiting-approval list."""

    incidents: list[int]
    busy: bool
    approvals: bool


def look(engine: Engine, as_of: dt.datetime) -> Due:
    """One cheap query per step, each stopping at the first row it finds."""
    with Session(engine) as s:
        return Due(incidents=any_open_incident(s, as_of), tiers=due_for_recompute(s, as_of),
                   outbox=has_work(engine, as_of), approvals=approvals_moved(s, as_of - PASS, as_of))


@task(name="service-clocks", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5,
      retry_condition_fn=transient)
def service_clocks(as_of: dt.datetime) -> tuple[dict[str, Any], Due]:
    """Requests, write-first, unresponsive clients, replies owed and key dates: alerts into the outbox; then
    the look at what else is due, in the same task run (a quiet pass stays one task run)."""
    from tasks.settings import get_settings  # read at run time, never at import

    engine = configured_engine()
    with Session(engine) as s, s.begin():
        clocks = run_service_clocks(s, as_of, get_settings().agency_time_zone).as_dict()
    return clocks, look(engine, as_of)


@task(name="look-again", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5, retry_condition_fn=transient)
def look_again(as_of: dt.datetime) -> Due:
    """The look after the ladder or the tiers ran: either may have queued mail."""
    return look(configured_engine(), as_of)


def pass_done(clocks: dict[str, Any], escalations: Sequence[dict[str, Any]], tiers: dict[str, Any],
              sent: dict[str, Any], due: Due) -> PassDone:
    """An approval reminder queued by the clocks changes the awaiting-approval list as much as a decision."""
    moved = {e["incident_id"] for e in escalations} | {i["incident_id"] for i in clocks["incidents"]}
    reminded = any(q["kind"].startswith("approval-") for q in clocks["queued"])
    return PassDone(incidents=sorted(moved), busy=did_something(WatchResult(**clocks), escalations, tiers, sent),
                    approvals=reminded or due.approvals)


@task(name="publish-watch-artifacts", cache_policy=NO_CACHE)
def publish_watch_artifacts(as_of: dt.datetime, clocks: dict[str, Any], escalations: list[dict[str, Any]],
                            tiers: dict[str, Any], sent: dict[str, Any]) -> None:
    """The run's summary, and the tier changes when there are any, under stable keys."""
    result = WatchResult(**clocks)
    create_markdown_artifact(watch_markdown(as_of, result, escalations, tiers, sent), key="service-watch",
                             description="What the service watch found and did")
    if tiers.get("changes"):
        create_table_artifact(tiers["changes"], key="tier-changes", description="Clients whose computed tier changed")
