"""The agency's "today": every flow takes `as_of`, defaulting to today in the agency's time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo


def today_in(zone: str) -> dt.date:
    return dt.datetime.now(ZoneInfo(zone)).date()


def agency_today() -> dt.date:
    from cadence.settings import get_settings  # read at run time, never at import

    return today_in(get_settings().agency_time_zone)
