"""The service watch's tier step: the monthly recompute, on the configured database (the rules: tasks/tiering.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.orm import Session

from tasks.resources import configured_engine
from tasks.runners import transient
from tasks.tiering import due_for_recompute, recompute_and_notify


@task(name="recompute-tiers-if-due", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5,
      retry_condition_fn=transient)
def recompute_tiers_if_due(as_of: dt.datetime) -> dict[str, Any]:
    """The first watch run of a month (or the first after a missed one) recomputes every tier."""
    with Session(configured_engine()) as s, s.begin():
        if not due_for_recompute(s, as_of):
            return {"recomputed": 0, "changes": []}
        return recompute_and_notify(s, as_of.date(), as_of)
