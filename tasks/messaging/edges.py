"""The Prefect steps flows call: dispatch the outbox with the configured transport."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy.orm import Session

from tasks.errors import CadenceError
from tasks.messaging.outbox import dispatch
from tasks.messaging.review import awaiting, awaiting_markdown, decide
from tasks.resources import configured_engine, configured_transport


@task(name="dispatch-outbox", cache_policy=NO_CACHE)
def dispatch_outbox(limit: int | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """Send what is due at `now` (default: the wall clock); never retried by Prefect, since the outbox states
    already make a re-run safe."""
    report = dispatch(configured_engine(), configured_transport(), now=now, limit=limit)
    get_run_logger().info(
        "outbox: %d sent, %d failed, %d dead, %d uncertain, %d held, %d manual",
        report.sent, report.failed, report.dead, report.uncertain + report.recovered_uncertain, report.held,
        report.manual,
    )
    return report.as_dict()


@task(name="decide-messages", cache_policy=NO_CACHE)
def decide_messages(message_ids: list[int], action: str, by: str, now: dt.datetime, subject: str | None = None,
                    body: str | None = None, note: str | None = None) -> list[str]:
    """The AM's decision on messages awaiting approval, in one transaction; bad input fails at once, never retried."""
    if len(set(message_ids)) != len(message_ids):
        raise CadenceError(f"message ids repeated: {message_ids}")
    if action == "edit" and len(message_ids) > 1:
        raise CadenceError("an edit is for one message: leave `more message ids` empty")
    with Session(configured_engine()) as s, s.begin():
        lines = [decide(s, i, action, by, now, subject=subject, body=body, note=note).line() for i in message_ids]
    for line in lines:
        get_run_logger().info(line)
    return lines


@task(name="publish-awaiting-approval", cache_policy=NO_CACHE)
def publish_awaiting(as_of: dt.datetime) -> int:
    """The messages still awaiting approval, as a markdown table under the stable key `awaiting-approval`."""
    with Session(configured_engine()) as s:
        waiting = awaiting(s)
    create_markdown_artifact(awaiting_markdown(waiting, as_of), key="awaiting-approval",
                             description="Client messages waiting for an AM's approval")
    return len(waiting)
