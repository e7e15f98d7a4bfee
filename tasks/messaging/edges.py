"""The Prefect steps flows call: dispatch the outbox with the configured transport."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from models.base import utcnow
from tasks.messaging.outbox import dispatch, has_work


def outbox_has_work(now: dt.datetime | None = None) -> bool:
    """A cheap look before the task: is anything due to send (or to recover) at `now`?"""
    from cadence.wiring import get_engine  # the composition root picks the edges at run time

    return has_work(get_engine(), now or utcnow())


@task(name="dispatch-outbox", cache_policy=NO_CACHE)
def dispatch_outbox(limit: int | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """Send what is due at `now` (default: the wall clock); never retried by Prefect, since the outbox states
    already make a re-run safe."""
    from cadence.wiring import get_engine, get_transport  # the composition root picks the edges at run time

    report = dispatch(get_engine(), get_transport(), now=now, limit=limit)
    get_run_logger().info(
        "outbox: %d sent, %d failed, %d dead, %d uncertain, %d held, %d manual",
        report.sent, report.failed, report.dead, report.uncertain + report.recovered_uncertain, report.held,
        report.manual,
    )
    return report.as_dict()
