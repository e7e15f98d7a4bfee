"""Report periods: the month, quarter and stand-up windows a report covers, and the ones it compares with."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tasks.rules import STANDUP_WEEKDAYS


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


def last_complete_day(now: dt.datetime, time_zone: str | None) -> dt.date:
    """The latest day that is over in `time_zone` at `now` (UTC when the zone is unknown)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(time_zone) if time_zone else dt.UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    moment = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
    return moment.astimezone(zone).date() - dt.timedelta(days=1)


def like_for_like(current: Period) -> Period:
    """The period compared with a span: equal length, and the same weekdays (whole weeks back)."""
    back = dt.timedelta(days=7 * -(-current.days // 7))
    return _span(current.first - back, current.last - back)


@dataclass(frozen=True)
class DocumentPeriods:
    """Every period one document reads, computed once where its flow starts and passed down to its content."""

    current: Period
    previous: Period
    year_before: Period | None
    next: Period | None
    partial: bool = False
    # The document's own date: a preparation date before it is already due.
    made_on: dt.date | None = None
    # Last year's `previous`, for telling the season from our work (recaps only).
    year_before_previous: Period | None = None

    @property
    def first(self) -> dt.date:
        """The earliest day any of the compared periods needs."""
        return min(p.first for p in (self.current, self.previous, self.year_before, self.year_before_previous)
                   if p is not None)

    @property
    def today(self) -> dt.date:
        return self.made_on or self.current.last + dt.timedelta(days=1)


def recap_periods(period: Period, made_on: dt.date | None = None) -> DocumentPeriods:
    """A monthly recap: the month, the month before, the same month last year (and its month before), next month."""
    last_year = year_before(period)
    following = previous_month(period.last + dt.timedelta(days=40))
    return DocumentPeriods(period, month_before(period), last_year, following, False, made_on, month_before(last_year))


def pack_periods(period: Period, made_on: dt.date | None = None) -> DocumentPeriods:
    """A quarterly pack: the quarter, the quarter before, the same quarter last year, and the next quarter."""
    return DocumentPeriods(period, quarter_before(period), year_before(period), next_quarter(period), False, made_on)


def window_periods(first: dt.date, last: dt.date, now: dt.datetime | None = None, time_zone: str | None = None,
                   made_on: dt.date | None = None) -> DocumentPeriods:
    """A short window cut to the client's complete local days, against the same weekdays before."""
    cut = min(last, last_complete_day(now, time_zone)) if now is not None else last
    if cut < first:
        raise ValueError(f"no complete day between {first} and {last} in {time_zone or 'UTC'} yet")
    current = _span(first, cut)
    return DocumentPeriods(current, like_for_like(current), None, None, cut < last, made_on)


def standup_periods(as_of: dt.date, now: dt.datetime | None = None, time_zone: str | None = None,
                    weekly: bool = False) -> DocumentPeriods | None:
    """A stand-up update: the days since the last stand-up (or the week) that are over for the client, like for like.

    None when not one of them is over yet in the client's zone: there is nothing complete to report.
    """
    nominal = week_windows(as_of)[0] if weekly else standup_windows(as_of)[0]
    try:
        return window_periods(nominal.first, nominal.last, now, time_zone, as_of)
    except ValueError:
        return None


def review_periods(period: Period, as_of: dt.date) -> DocumentPeriods:
    """A review span cut at the day before `as_of` (today is not over), against the same weekdays before."""
    last = min(period.last, as_of - dt.timedelta(days=1))
    if last < period.first:
        raise ValueError(f"the review period {period.label} has no complete day before {as_of}")
    current = period if last == period.last else _span(period.first, last)
    return DocumentPeriods(current, like_for_like(current), None, None, last < period.last, as_of)


def parse_period(kind: str, label: str) -> Period:
    """A stored period label back into its dates: 2026-10, 2026-Q3 or 2026-11-01..2026-11-24."""
    if kind == "strategy_pack":
        year, number = label.split("-Q")
        return quarter(int(year), int(number))
    if ".." in label:
        first, last = label.split("..")
        return span(dt.date.fromisoformat(first), dt.date.fromisoformat(last))
    year, number = label.split("-")
    return month(int(year), int(number))
