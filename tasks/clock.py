"""The agency's "today": every flow takes `as_of`, defaulting to today in the agency's time zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

from models.base import set_clock_offset, utcnow
from tasks.settings import get_settings


def today_in(zone: str) -> dt.date:
    return utcnow().astimezone(ZoneInfo(zone)).date()


# A flow that takes a moment, run for a day that is not today (a back-fill, the demo), runs at this agency time.
DAY_MOMENT = dt.time(9, 30)


def moment_of(day: dt.date, zone: str) -> dt.datetime:
    """`day` as a moment in `zone` (aware): now if it is today there, else 09:30 that day."""
    now = utcnow().astimezone(ZoneInfo(zone))
    return now if now.date() == day else dt.datetime.combine(day, DAY_MOMENT, tzinfo=ZoneInfo(zone))


def agency_zone() -> str:
    """The agency's time zone from the settings, read at run time, never at import."""
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
