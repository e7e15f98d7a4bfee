"""One period object per document: like-for-like comparison periods of complete local days."""

import dataclasses
import datetime as dt

import pytest

from tasks.reports import periods

UTC = dt.UTC


def _days(p: periods.Period) -> list[int]:
    return [(p.first + dt.timedelta(days=i)).weekday() for i in range(p.days)]


@pytest.mark.parametrize(("as_of", "now", "zone", "weekly", "current", "previous", "partial"), [
    # Monday stand-up, everything over: Thu–Sun against the Thu–Sun before.
    (dt.date(2026, 11, 23), dt.datetime(2026, 11, 23, 10, tzinfo=UTC), "Europe/Moscow", False,
     ("2026-11-19", "2026-11-22"), ("2026-11-12", "2026-11-15"), False),
    # Thursday stand-up: Mon–Wed against the Mon–Wed a week earlier (never the 4 days before).
    (dt.date(2026, 11, 26), dt.datetime(2026, 11, 26, 10, tzinfo=UTC), "Asia/Shanghai", False,
     ("2026-11-23", "2026-11-25"), ("2026-11-16", "2026-11-18"), False),
    # 08:30 in Shanghai on Monday is Sunday afternoon in Los Angeles: Sunday is not over there yet.
    (dt.date(2026, 11, 23), dt.datetime(2026, 11, 23, 0, 30, tzinfo=UTC), "America/Los_Angeles", False,
     ("2026-11-19", "2026-11-21"), ("2026-11-12", "2026-11-14"), True),
    # A weekly reader: the seven days through Sunday against the seven before.
    (dt.date(2026, 11, 23), dt.datetime(2026, 11, 23, 10, tzinfo=UTC), "Europe/London", True,
     ("2026-11-16", "2026-11-22"), ("2026-11-09", "2026-11-15"), False),
])
def test_standup_periods_compare_the_same_weekdays_of_complete_local_days(as_of, now, zone, weekly, current,
                                                                          previous, partial):
    doc = periods.standup_periods(as_of, now, zone, weekly)
    assert (doc.current.first.isoformat(), doc.current.last.isoformat()) == current
    assert (doc.previous.first.isoformat(), doc.previous.last.isoformat()) == previous
    assert doc.partial is partial
    assert doc.current.days == doc.previous.days and _days(doc.current) == _days(doc.previous)


def test_the_old_standup_comparison_was_unequal():
    # The defect this replaces: the Thursday update compared 3 days with the 4 before (2 with 3 on other weeks).
    now, before = periods.standup_windows(dt.date(2026, 11, 26))
    doc = periods.standup_periods(dt.date(2026, 11, 26))
    assert now.days != before.days
    assert doc.current == now and doc.previous.days == now.days


def test_no_complete_day_yet_means_nothing_to_report():
    # The Thursday window is Mon–Wed; at Monday noon not one of its days is over, so there is nothing to report.
    assert periods.standup_periods(dt.date(2026, 11, 26), dt.datetime(2026, 11, 23, 12, tzinfo=UTC), "UTC") is None


@pytest.mark.parametrize(("first", "last", "as_of", "current_last", "previous", "partial"), [
    (dt.date(2026, 11, 2), dt.date(2026, 11, 4), dt.date(2026, 11, 20), "2026-11-04", ("2026-10-26", "2026-10-28"),
     False),
    (dt.date(2026, 11, 1), dt.date(2026, 11, 24), dt.date(2026, 11, 25), "2026-11-24", ("2026-10-04", "2026-10-27"),
     False),
    # A span running into today is cut at yesterday, and says so.
    (dt.date(2026, 11, 16), dt.date(2026, 11, 30), dt.date(2026, 11, 27), "2026-11-26",
     ("2026-11-02", "2026-11-12"), True),
])
def test_review_spans_are_cut_to_complete_days_and_compared_like_for_like(first, last, as_of, current_last,
                                                                          previous, partial):
    doc = periods.review_periods(periods.span(first, last), as_of)
    assert doc.current.last.isoformat() == current_last and doc.partial is partial
    assert (doc.previous.first.isoformat(), doc.previous.last.isoformat()) == previous
    assert doc.current.days == doc.previous.days and _days(doc.current) == _days(doc.previous)


def test_a_review_with_no_complete_day_is_a_clear_error():
    with pytest.raises(ValueError, match="no complete day"):
        periods.review_periods(periods.span(dt.date(2026, 11, 27), dt.date(2026, 11, 30)), dt.date(2026, 11, 27))


def test_recap_and_pack_periods_are_computed_once_with_everything_they_compare():
    recap = periods.recap_periods(periods.month(2026, 10), dt.date(2026, 11, 3))
    assert (recap.previous.label, recap.year_before.label, recap.next.label) == ("2026-09", "2025-10", "2026-11")
    assert recap.year_before_previous.label == "2025-09" and recap.first == dt.date(2025, 9, 1)
    assert recap.today == dt.date(2026, 11, 3)
    pack = periods.pack_periods(periods.quarter(2026, 3), dt.date(2026, 10, 5))
    assert (pack.previous.label, pack.year_before.label, pack.next.label) == ("2026-Q2", "2025-Q3", "2026-Q4")
    with pytest.raises(dataclasses.FrozenInstanceError):
        pack.current = pack.previous
