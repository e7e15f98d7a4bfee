"""Yearly market peaks as rules computed per year (Black Friday, 双11, 618, 8 March, Spring Festival, ...)."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

# A rule is "fixed:MM-DD", or a named movable date below.
MOVABLE = ("black_friday", "cyber_monday", "thanksgiving", "spring_festival")
_FIXED = re.compile(r"^fixed:(\d{2})-(\d{2})$")


def thanksgiving(year: int) -> dt.date:
    """US Thanksgiving: the fourth Thursday of November."""
    november = dt.date(year, 11, 1)
    return november + dt.timedelta(days=(3 - november.weekday()) % 7 + 21)


def black_friday(year: int) -> dt.date:
    """The Friday after the fourth Thursday of November."""
    return thanksgiving(year) + dt.timedelta(days=1)


@lru_cache(maxsize=64)
def spring_festival(year: int) -> dt.date:
    """Chinese New Year's Day (春节), from the lunisolar calendar of the `holidays` package."""
    import holidays

    china = holidays.country_holidays("CN", years=year, language="en_US")
    days = china.get_named("Spring Festival", lookup="icontains")
    found = [d for d in days if d.year == year]
    if not found:
        raise ValueError(f"no Spring Festival date known for {year}")
    return min(found)


def check(rule: str) -> str:
    """The rule unchanged when it is one Cadence can compute, else a one-line ValueError."""
    match = _FIXED.match(rule)
    if match:
        dt.date(2024, int(match[1]), int(match[2]))  # 2024 is a leap year: 02-29 is a valid rule
        return rule
    if rule in MOVABLE:
        return rule
    raise ValueError(f"unknown date rule {rule!r}: use fixed:MM-DD or one of {', '.join(MOVABLE)}")


def occurrence(rule: str, year: int) -> dt.date:
    """The day `rule` falls on in `year` (a fixed 29 February falls on the 28th in other years)."""
    match = _FIXED.match(check(rule))
    if match:
        month, day = int(match[1]), int(match[2])
        try:
            return dt.date(year, month, day)
        except ValueError:
            return dt.date(year, month, 28)
    if rule == "thanksgiving":
        return thanksgiving(year)
    if rule == "black_friday":
        return black_friday(year)
    if rule == "cyber_monday":
        return black_friday(year) + dt.timedelta(days=3)
    return spring_festival(year)


def next_on_or_after(rule: str, day: dt.date) -> dt.date:
    """The first occurrence of `rule` on or after `day`."""
    this = occurrence(rule, day.year)
    return this if this >= day else occurrence(rule, day.year + 1)


def occurrence_in(on_date: dt.date, recurs_yearly: bool, rule: str | None, year: int) -> dt.date | None:
    """The day a key date falls on in `year`: from its rule, its stored day's month and day (29 February on the
    28th in other years), or, when it does not recur, only in its own year."""
    if rule:
        try:
            return occurrence(rule, year)
        except ValueError:
            return None
    if not recurs_yearly:
        return on_date if on_date.year == year else None
    try:
        return on_date.replace(year=year)
    except ValueError:
        return dt.date(year, 2, 28)


def next_occurrence(on_date: dt.date, recurs_yearly: bool, after: dt.date, rule: str | None = None) -> dt.date | None:
    """The first day on or after `after` a key date falls on."""
    for year in (after.year, after.year + 1):
        on = occurrence_in(on_date, recurs_yearly, rule, year)
        if on is not None and on >= after:
            return on
    return None


def fixed(month: int, day: int) -> str:
    return check(f"fixed:{month:02d}-{day:02d}")
