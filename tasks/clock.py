"""The agency's "today": every flow takes `as_of`, defaulting to today in the agency's time zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from models.base import set_clock_offset, utcnow


def today_in(zone: str) -> dt.date:
    return utcnow().astimezone(ZoneInfo(zone)).date()


def agency_zone() -> str:
    from cadence.settings import get_settings  # read at run time, never at import

    return get_settings().agency_time_zone


def agency_today() -> dt.date:
    return today_in(agency_zone())


@contextmanager
def simulated_time(at: dt.datetime) -> Iterator[None]:
    """Run Cadence's clock from `at` (aware) for the block, at the wall clock's pace; for simulations and tests.

    Process-wide on purpose: a flow's task threads must see the same "now" as the flow.
    """
    if at.tzinfo is None:
        raise ValueError("simulated_time needs an aware datetime")
    previous = set_clock_offset(at - dt.datetime.now(dt.timezone.utc))
    try:
        yield
    finally:
        set_clock_offset(previous)
