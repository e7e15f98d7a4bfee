"""Working-hours arithmetic: zones, weekends, public holidays and make-up workdays, DST."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tasks.business_hours import (
    add_business_days,
    add_business_hours,
    business_time_between,
    in_business_hours,
    is_working_day,
    next_business_moment,
)

SH, MSK, NY = ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/Moscow"), ZoneInfo("America/New_York")
NINE, SIX = dt.time(9), dt.time(18)


@pytest.mark.parametrize(("day", "country", "working"), [
    (dt.date(2026, 11, 27), "CN", True),    # Friday
    (dt.date(2026, 11, 28), "CN", False),   # Saturday
    (dt.date(2026, 10, 1), "CN", False),    # National Day
    (dt.date(2026, 10, 10), "CN", True),    # Saturday made a workday for Golden Week
    (dt.date(2026, 10, 7), "CN", False),    # last day of Golden Week
    (dt.date(2026, 1, 5), "RU", False),     # New Year holidays
    (dt.date(2026, 3, 9), "RU", False),     # 8 March falls on Sunday, moved to Monday
    (dt.date(2026, 11, 26), "US", False),   # Thanksgiving
    (dt.date(2026, 11, 28), None, False),   # no country: Monday to Friday
    (dt.date(2026, 11, 27), "XX", True),    # unknown country: Monday to Friday
])
def test_working_days(day, country, working):
    assert is_working_day(day, country) is working


@pytest.mark.parametrize(("local", "zone", "country", "expected"), [
    (dt.datetime(2026, 11, 27, 10, 0, tzinfo=SH), "Asia/Shanghai", "CN", dt.datetime(2026, 11, 27, 10, 0, tzinfo=SH)),
    (dt.datetime(2026, 11, 27, 8, 59, tzinfo=SH), "Asia/Shanghai", "CN", dt.datetime(2026, 11, 27, 9, 0, tzinfo=SH)),
    (dt.datetime(2026, 11, 27, 18, 0, tzinfo=SH), "Asia/Shanghai", "CN", dt.datetime(2026, 11, 30, 9, 0, tzinfo=SH)),
    (dt.datetime(2026, 9, 30, 19, 0, tzinfo=SH), "Asia/Shanghai", "CN", dt.datetime(2026, 10, 8, 9, 0, tzinfo=SH)),
    (dt.datetime(2025, 12, 31, 20, 0, tzinfo=MSK), "Europe/Moscow", "RU", dt.datetime(2026, 1, 12, 9, 0, tzinfo=MSK)),
])
def test_next_business_moment(local, zone, country, expected):
    assert next_business_moment(local, zone, country, NINE, SIX) == expected


def test_a_utc_moment_is_read_in_the_contacts_zone():
    friday_evening_utc = dt.datetime(2026, 11, 27, 23, 30, tzinfo=dt.timezone.utc)  # Saturday 07:30 in Shanghai
    assert not in_business_hours(friday_evening_utc, "Asia/Shanghai", "CN", NINE, SIX)
    assert not in_business_hours(friday_evening_utc, "America/New_York", "US", NINE, SIX)  # Friday 18:30 there
    assert in_business_hours(friday_evening_utc, "America/New_York", "US", NINE, dt.time(19))


def test_add_business_hours_spills_over_nights_weekends_and_holidays():
    friday_late = dt.datetime(2026, 11, 27, 17, 30, tzinfo=SH)
    assert add_business_hours(friday_late, 1, "Asia/Shanghai", "CN", NINE, SIX) == \
        dt.datetime(2026, 11, 30, 9, 30, tzinfo=SH)
    before_national_day = dt.datetime(2026, 9, 30, 17, 0, tzinfo=SH)
    assert add_business_hours(before_national_day, 2, "Asia/Shanghai", "CN", NINE, SIX) == \
        dt.datetime(2026, 10, 8, 10, 0, tzinfo=SH)
    assert add_business_hours(friday_late, dt.timedelta(0), "Asia/Shanghai", "CN", NINE, SIX) == friday_late


def test_business_hours_keep_local_wall_clock_across_dst():
    before_dst_ends = dt.datetime(2026, 10, 30, 17, 0, tzinfo=NY)  # Friday; clocks go back on Sunday 1 November
    result = add_business_hours(before_dst_ends, 2, "America/New_York", "US", NINE, SIX)
    assert result == dt.datetime(2026, 11, 2, 10, 0, tzinfo=NY) and result.utcoffset() == dt.timedelta(hours=-5)


def test_business_time_between_counts_only_open_hours():
    start = dt.datetime(2026, 11, 27, 17, 0, tzinfo=SH)
    end = dt.datetime(2026, 11, 30, 10, 0, tzinfo=SH)
    assert business_time_between(start, end, "Asia/Shanghai", "CN", NINE, SIX) == dt.timedelta(hours=2)
    assert business_time_between(end, start, "Asia/Shanghai", "CN", NINE, SIX) == dt.timedelta(0)
    deadline = add_business_hours(start, 5, "Asia/Shanghai", "CN", NINE, SIX)
    assert business_time_between(start, deadline, "Asia/Shanghai", "CN", NINE, SIX) == dt.timedelta(hours=5)


def test_add_business_days_for_the_3_and_7_of_1_3_7():
    assert add_business_days(dt.date(2026, 9, 29), 3, "CN") == dt.date(2026, 10, 9)
    assert add_business_days(dt.date(2026, 10, 9), 1, "CN") == dt.date(2026, 10, 10)
    assert add_business_days(dt.date(2026, 11, 27), 1, "CN") == dt.date(2026, 11, 30)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="naive"):
        next_business_moment(dt.datetime(2026, 11, 27, 10), "Asia/Shanghai", "CN", NINE, SIX)
    with pytest.raises(ValueError, match="start before"):
        in_business_hours(dt.datetime(2026, 11, 27, 10, tzinfo=SH), "Asia/Shanghai", "CN", SIX, NINE)
