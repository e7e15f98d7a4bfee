"""Working-hours arithmetic in a local time zone: weekends, public holidays and make-up workdays of a country."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

# Longer than any run of holidays and weekends (China's Golden Week with its bridges is about 10 days).
MAX_LOOKAHEAD_DAYS = 370


@lru_cache(maxsize=64)
def _calendar(country: str | None) -> holidays.HolidayBase | None:
    if not country:
        return None
    try:
        return holidays.country_holidays(country.upper())
    except NotImplementedError:
        return None


@lru_cache(maxsize=16_384)
def is_working_day(day: dt.date, country: str | None) -> bool:
    """True on a working day of `country` (its weekend, holidays and make-up workdays); Mon-Fri without one."""
    calendar = _calendar(country)
    if calendar is None:
        return day.weekday() < 5
    return calendar.is_working_day(day)


def _check(start: dt.time, end: dt.time) -> None:
    if start >= end:
        raise ValueError(f"business hours must start before they end, got {start}-{end}")


def _aware(at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: pass an aware one")
    return at


def _elapsed(a: dt.datetime, b: dt.datetime) -> dt.timedelta:
    """Real time from a to b: two datetimes of one zone subtract by wall clock, miscounting a DST change in hours."""
    return b.astimezone(dt.timezone.utc) - a.astimezone(dt.timezone.utc)


def in_business_hours(at: dt.datetime, zone: str, country: str | None, start: dt.time, end: dt.time) -> bool:
    """True if `at` falls inside [start, end) local time on a working day."""
    _check(start, end)
    local = _aware(at).astimezone(ZoneInfo(zone))
    return is_working_day(local.date(), country) and start <= local.time().replace(tzinfo=None) < end


def next_business_moment(at: dt.datetime, zone: str, country: str | None, start: dt.time, end: dt.time) -> dt.datetime:
    """`at` itself if inside business hours, else the start of the next working period (aware, in `zone`)."""
    _check(start, end)
    tz = ZoneInfo(zone)
    local = _aware(at).astimezone(tz)
    day = local.date()
    for _ in range(MAX_LOOKAHEAD_DAYS):
        if is_working_day(day, country):
            opens = dt.datetime.combine(day, start, tzinfo=tz)
            closes = dt.datetime.combine(day, end, tzinfo=tz)
            if local < opens:
                return opens
            if local < closes:
                return local
        day += dt.timedelta(days=1)
    raise ValueError(f"no working day within {MAX_LOOKAHEAD_DAYS} days of {at} for country {country!r}")


def add_business_hours(
    at: dt.datetime, hours: float | dt.timedelta, zone: str, country: str | None, start: dt.time, end: dt.time
) -> dt.datetime:
    """The moment `hours` of business time after `at` (1-3-7 clocks: confirm within one business hour)."""
    remaining = hours if isinstance(hours, dt.timedelta) else dt.timedelta(hours=hours)
    if remaining < dt.timedelta(0):
        raise ValueError("cannot add negative business time")
    current = next_business_moment(at, zone, country, start, end)
    while True:
        closes = dt.datetime.combine(current.date(), end, tzinfo=current.tzinfo)
        available = _elapsed(current, closes)
        if remaining <= available:
            return (current.astimezone(dt.timezone.utc) + remaining).astimezone(current.tzinfo)
        remaining -= available
        current = next_business_moment(closes, zone, country, start, end)


def add_business_days(day: dt.date, days: int, country: str | None) -> dt.date:
    """The working day `days` working days after `day` (3 and 7 of the 1-3-7 rule)."""
    if days < 0:
        raise ValueError("cannot add negative business days")
    current = day
    while days:
        current += dt.timedelta(days=1)
        if is_working_day(current, country):
            days -= 1
    return current


def business_time_between(
    a: dt.datetime, b: dt.datetime, zone: str, country: str | None, start: dt.time, end: dt.time
) -> dt.timedelta:
    """How much business time lies between `a` and `b` (zero if b is not after a)."""
    _check(start, end)
    total = dt.timedelta(0)
    if _aware(b) <= _aware(a):
        return total
    current = next_business_moment(a, zone, country, start, end)
    while current < b:
        closes = dt.datetime.combine(current.date(), end, tzinfo=current.tzinfo)
        total += _elapsed(current, min(closes, b))
        current = next_business_moment(closes, zone, country, start, end)
    return total
