"""Report periods: the month, quarter and stand-up windows a report covers, and the ones it compares with."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

STANDUP_WEEKDAYS = (0, 3)  # Monday and Thursday (seed 002: stand-ups twice a week)


@dataclass(frozen=True)
class Period:
    """A closed range of days with the label it is stored and keyed under."""

    label: str
    first: dt.date
    last: dt.date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def month(year: int, number: int) -> Period:
    first = dt.date(year, number, 1)
    following = dt.date(year + number // 12, number % 12 + 1, 1)
    return Period(f"{year:04d}-{number:02d}", first, following - dt.timedelta(days=1))


def previous_month(as_of: dt.date) -> Period:
    """The last complete calendar month before `as_of`."""
    last = as_of.replace(day=1) - dt.timedelta(days=1)
    return month(last.year, last.month)


def month_before(period: Period) -> Period:
    return previous_month(period.first)


def year_before(period: Period) -> Period:
    """The same month or quarter one year earlier."""
    first = period.first.replace(year=period.first.year - 1)
    if "-Q" in period.label:
        return quarter(first.year, (first.month - 1) // 3 + 1)
    return month(first.year, first.month)


def quarter(year: int, number: int) -> Period:
    first = dt.date(year, 3 * (number - 1) + 1, 1)
    last = month(year, 3 * number).last
    return Period(f"{year:04d}-Q{number}", first, last)


def previous_quarter(as_of: dt.date) -> Period:
    """The last complete calendar quarter before `as_of`."""
    current = (as_of.month - 1) // 3 + 1
    return quarter(as_of.year - 1, 4) if current == 1 else quarter(as_of.year, current - 1)


def quarter_before(period: Period) -> Period:
    return previous_quarter(period.first)


def next_quarter(period: Period) -> Period:
    return previous_quarter(period.last + dt.timedelta(days=93))


def months_of(period: Period) -> list[Period]:
    months, day = [], period.first
    while day <= period.last:
        months.append(month(day.year, day.month))
        day = months[-1].last + dt.timedelta(days=1)
    return months


def _span(first: dt.date, last: dt.date) -> Period:
    return Period(f"{first.isoformat()}..{last.isoformat()}", first, last)


def last_standup(before: dt.date, weekdays: tuple[int, ...] = STANDUP_WEEKDAYS) -> dt.date:
    """The latest stand-up day strictly before `before`."""
    day = before - dt.timedelta(days=1)
    while day.weekday() not in weekdays:
        day -= dt.timedelta(days=1)
    return day


def standup_windows(as_of: dt.date, weekdays: tuple[int, ...] = STANDUP_WEEKDAYS) -> tuple[Period, Period]:
    """Days since the previous stand-up (through yesterday), and the window before that."""
    start = last_standup(as_of, weekdays)
    before = last_standup(start, weekdays)
    return _span(start, as_of - dt.timedelta(days=1)), _span(before, start - dt.timedelta(days=1))


def week_windows(as_of: dt.date) -> tuple[Period, Period]:
    """The last seven days through yesterday, and the seven before (weekly client updates)."""
    last = as_of - dt.timedelta(days=1)
    return _span(last - dt.timedelta(days=6), last), _span(last - dt.timedelta(days=13), last - dt.timedelta(days=7))


def span(first: dt.date, last: dt.date) -> Period:
    """An arbitrary range of days, as a manager asks for in a client review."""
    if last < first:
        raise ValueError(f"a period ends on or after it starts: {first} .. {last}")
    return _span(first, last)
