"""Business-hour arithmetic against a brute-force oracle that walks the clock one minute at a time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from tasks.business_hours import (
    add_business_days,
    add_business_hours,
    business_time_between,
    in_business_hours,
    is_working_day,
    next_business_moment,
)

FUZZ = settings.get_profile("cadence-fuzz")
UTC = dt.timezone.utc
MINUTE = dt.timedelta(minutes=1)
# Moscow and Shanghai keep one offset all year; New York and Berlin change on Sundays (never a working day
# there), so Jerusalem (Friday 02:00) and Cairo (Friday 00:00, Thursday 24:00) put a change inside working hours.
_ANCHOR_HOURS = {
    "Europe/Moscow": [(2025, 12, 31, 12), (2026, 5, 8, 12)],  # New Year and May holidays
    "America/New_York": [(2026, 3, 8, 7), (2026, 11, 1, 6), (2026, 11, 26, 12)],  # forward, back, Thanksgiving
    "Europe/Berlin": [(2026, 3, 29, 1), (2026, 10, 25, 1)],
    "Asia/Shanghai": [(2026, 9, 30, 10), (2026, 9, 20, 1), (2026, 10, 10, 1)],  # Golden Week, its make-up days
    "Asia/Jerusalem": [(2026, 3, 27, 0), (2026, 10, 24, 23)],
    "Africa/Cairo": [(2026, 4, 23, 22), (2026, 10, 29, 21)],
}
ANCHORS = {zone: tuple(dt.datetime(*hour, tzinfo=UTC) for hour in hours) for zone, hours in _ANCHOR_HOURS.items()}
ZONES = tuple(ANCHORS)
COUNTRIES = ("CN", "RU", "US", "DE", None)
MAX_WALK = dt.timedelta(days=60)


def _inside(moment: dt.datetime, zone: str, country: str | None, start: dt.time, end: dt.time) -> bool:
    """The definition: a working day of `country`, and local wall time in [start, end)."""
    local = moment.astimezone(ZoneInfo(zone))
    return is_working_day(local.date(), country) and start <= local.time() < end


def _first_open_minute(at: dt.datetime, zone: str, country: str | None, start: dt.time, end: dt.time) -> dt.datetime:
    moment = at.astimezone(UTC)
    while not _inside(moment, zone, country, start, end):
        moment += MINUTE
        assert moment - at < MAX_WALK, "oracle walked too far"
    return moment


def oracle_add(at: dt.datetime, minutes: int, zone: str, country: str | None, start: dt.time,
               end: dt.time) -> dt.datetime:
    """Zero: the first open minute. Otherwise the end of the `minutes`-th open minute counted from `at`."""
    moment = _first_open_minute(at, zone, country, start, end)
    while minutes:
        if _inside(moment, zone, country, start, end):
            minutes -= 1
        moment += MINUTE
        assert moment - at < MAX_WALK, "oracle walked too far"
    return moment


def oracle_between(a: dt.datetime, b: dt.datetime, zone: str, country: str | None, start: dt.time,
                   end: dt.time) -> dt.timedelta:
    """How many minutes of [a, b) are open."""
    moment, count = a.astimezone(UTC), 0
    while moment < b:
        count += _inside(moment, zone, country, start, end)
        moment += MINUTE
    return count * MINUTE


def _unambiguous(zone: str, start: dt.time, end: dt.time, around: dt.datetime, days: int) -> bool:
    """Whether opening and closing name one instant on every day walked: no DST gap or fold swallows them."""
    tz = ZoneInfo(zone)
    first = around.astimezone(tz).date() - dt.timedelta(days=1)
    for offset in range(days + 2):
        for wall in (start, end):
            moment = dt.datetime.combine(first + dt.timedelta(days=offset), wall, tzinfo=tz)
            if moment.utcoffset() != moment.replace(fold=1).utcoffset():
                return False
    return True


def _normal(result: dt.datetime, zone: str) -> bool:
    """In `zone`, and a wall time that exists (what astimezone would give for the same instant)."""
    again = result.astimezone(UTC).astimezone(ZoneInfo(zone))
    return result.tzinfo == ZoneInfo(zone) and (result.replace(tzinfo=None), result.fold) == (
        again.replace(tzinfo=None), again.fold)


@st.composite
def cases(draw: st.DrawFn) -> tuple[dt.datetime, str, str | None, dt.time, dt.time]:
    """(at, zone, country, start, end): minutes near the zone's DST changes and holidays, or anywhere in 2026."""
    zone, country = draw(st.sampled_from(ZONES)), draw(st.sampled_from(COUNTRIES))
    if draw(st.integers(0, 9)) < 7:
        at = draw(st.sampled_from(ANCHORS[zone])) + dt.timedelta(minutes=draw(st.integers(-4 * 24 * 60, 2 * 24 * 60)))
    else:
        at = dt.datetime(2026, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=draw(st.integers(0, 370 * 24 * 60)))
    kind = draw(st.sampled_from(["office", "night", "any"]))
    if kind == "office":
        start, end = draw(st.integers(7 * 60, 10 * 60)), draw(st.integers(16 * 60, 20 * 60))
    elif kind == "night":  # opens before and closes after the small hours in which clocks change
        start, end = draw(st.integers(0, 119)), draw(st.integers(3 * 60, 23 * 60 + 59))
    else:
        start = draw(st.integers(0, 21 * 60))
        end = draw(st.integers(start + 120, 23 * 60 + 59))
    return at, zone, country, dt.time(*divmod(start, 60)), dt.time(*divmod(end, 60))


@settings(FUZZ, max_examples=200)
@given(case=cases(), seconds=st.integers(0, 59))
def test_in_business_hours_is_a_working_day_and_local_time_in_start_to_end(case, seconds):
    at, *rest = case
    at += dt.timedelta(seconds=seconds)
    assert in_business_hours(at, *rest) is _inside(at, *rest)


@settings(FUZZ, max_examples=100)
@given(case=cases())
def test_next_business_moment_is_the_first_open_minute(case):
    at, zone, country, start, end = case
    assume(_unambiguous(zone, start, end, at, 14))
    got = next_business_moment(at, zone, country, start, end)
    assert got.astimezone(UTC) == _first_open_minute(at, zone, country, start, end)
    assert _normal(got, zone), f"{got} is not a wall time that exists in {zone}"


@settings(FUZZ, max_examples=120)
@given(case=cases(), minutes=st.integers(0, 3 * 9 * 60))
@example(case=(dt.datetime(2026, 3, 26, 19, 40, tzinfo=UTC), "Asia/Jerusalem", None, dt.time(0, 30), dt.time(16)),
         minutes=196)  # across Friday's 02:00 -> 03:00: the hour that never happened is no business time
def test_add_business_hours_matches_the_minute_by_minute_oracle(case, minutes):
    at, zone, country, start, end = case
    assume(_unambiguous(zone, start, end, at, 30))
    got = add_business_hours(at, dt.timedelta(minutes=minutes), zone, country, start, end)
    assert got.astimezone(UTC) == oracle_add(at, minutes, zone, country, start, end)
    assert _normal(got, zone), f"{got} is not a wall time that exists in {zone}"


@settings(FUZZ, max_examples=120)
@given(case=cases(), span=st.integers(-600, 6 * 24 * 60))
def test_business_time_between_matches_the_minute_by_minute_oracle(case, span):
    a, zone, country, start, end = case
    b = a + dt.timedelta(minutes=span)
    assume(_unambiguous(zone, start, end, a, 8))
    # The far end may be given in another zone: the instants are what count.
    b_elsewhere = b.astimezone(ZoneInfo("America/Los_Angeles"))
    assert business_time_between(a, b_elsewhere, zone, country, start, end) == oracle_between(
        a, b, zone, country, start, end)


@settings(FUZZ, max_examples=120)
@given(case=cases(), seconds=st.integers(0, 59), duration=st.timedeltas(dt.timedelta(0), dt.timedelta(hours=27)))
def test_the_business_time_up_to_a_deadline_is_the_time_added(case, seconds, duration):
    at, zone, country, start, end = case
    at += dt.timedelta(seconds=seconds)
    assume(_unambiguous(zone, start, end, at, 30))
    deadline = add_business_hours(at, duration, zone, country, start, end)
    assert deadline >= at
    assert business_time_between(at, deadline, zone, country, start, end) == duration


@settings(FUZZ, max_examples=100)
@given(day=st.dates(dt.date(2025, 12, 1), dt.date(2027, 1, 31)), days=st.integers(0, 15),
       country=st.sampled_from(COUNTRIES))
def test_add_business_days_lands_on_the_nth_working_day(day, days, country):
    got = add_business_days(day, days, country)
    walked = [day + dt.timedelta(days=n) for n in range(1, (got - day).days + 1)]
    assert sum(is_working_day(d, country) for d in walked) == days
    assert got == day if days == 0 else is_working_day(got, country)
